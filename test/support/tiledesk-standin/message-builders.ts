/**
 * Inputs of the messages the platform itself creates: server/chat21 info messages (§4.2, §5.4,
 * fixtures `…--info-*.json`) and agent-console messages (fixture `…--agent-message.json`).
 */
import type { StandInRequest, StandInUserDoc } from './types';

export interface MessageInput {
  sender: string;
  senderFullname: string;
  text?: string;
  type?: string;
  status: number;
  attributes?: Record<string, unknown>;
  metadata?: unknown;
  language?: string;
  channel?: { name: string };
  createdBy: string;
}

/**
 * A server (conciergeBot) message. `language`: the request's language, which 2.19.16 passes in
 * the `metadata` position of `messageService.send` (`S:pubmodules/rules/conciergeBot.js#L240-250,
 * #L363-374`): such messages carry `metadata: "<language>"` and no `language`.
 */
function system(
  senderFullname: string,
  status: number,
  text: string,
  attributes: Record<string, unknown>,
  language?: string,
): MessageInput {
  return {
    sender: 'system',
    senderFullname,
    text,
    status,
    attributes,
    ...(language !== undefined && { metadata: language }),
    channel: { name: 'chat21' },
    createdBy: 'system',
  };
}

/** conciergeBot (`S:pubmodules/rules/conciergeBot.js#L168-179,#L326-383`): status 0, "Bot". */
export function touchingOperator(
  request: StandInRequest,
  agents: StandInUserDoc[],
  language: string | undefined,
): MessageInput {
  const subject = (request.first_text || request.subject || '').substring(0, 30);
  return system(
    'Bot',
    0,
    'A new support request has been assigned to you: ' + subject,
    {
      subtype: 'info',
      updateconversation: true,
      updateconversationfor: agents.map((a) => a._id),
      forcenotification: true,
      messagelabel: { key: 'TOUCHING_OPERATOR' },
    },
    language,
  );
}

/** chat21-http-server joinGroupMessages (`C21H:chat21Api/index.js#L426-453`): status 200, "System". */
export function memberJoined(agent: StandInUserDoc): MessageInput {
  const parameters = {
    member_id: agent._id,
    fullname: `${agent.firstname} ${agent.lastname}`,
    firstname: agent.firstname,
    lastname: agent.lastname,
  };
  return system('System', 200, `${agent.firstname} added to group`, {
    subtype: 'info',
    updateconversation: true,
    messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters },
  });
}

/** conciergeBot on request.close: status 0, "Bot", `info/support`. */
export function chatClosed(language: string | undefined): MessageInput {
  return system(
    'Bot',
    0,
    'Chat closed',
    { subtype: 'info/support', updateconversation: false, messagelabel: { key: 'CHAT_CLOSED' } },
    language,
  );
}

/** An agent-console message as it comes back through the chat21 webhook: status 200, chat21. */
export function agentConsoleMessage(
  agent: StandInUserDoc,
  text: string,
  opts: { type?: string; metadata?: Record<string, unknown>; attributes?: Record<string, unknown> },
): MessageInput {
  const fullname = `${agent.firstname} ${agent.lastname}`;
  return {
    sender: agent._id,
    senderFullname: fullname,
    text,
    type: opts.type ?? 'text',
    status: 200,
    metadata: opts.metadata ?? '',
    attributes: {
      client: 'TiledeskStandIn agent console',
      sourcePage: 'https://panel.tiledesk.com/v3/chat/',
      userEmail: agent.email,
      userFullname: fullname,
      ...opts.attributes,
    },
    channel: { name: 'chat21' },
    createdBy: agent._id,
  };
}
