import type { TiledeskMessage } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import { type AgentPresentation, toUserActivities } from './to-activity';
import type { ChatActivity } from './types';

/**
 * Who speaks, as the user saw it: a stock Web Chat shows an agent's messages in the bot's bubble
 * (they are sent as the bot), so the first message of each agent turn carries the agent's name
 * (`TiledeskAgentPrefix`). An agent turn is a run of messages of one agent that nobody else the
 * user could see interrupted: the user, the bot, or another agent. Decided from the request's own
 * transcript (Tiledesk's order), never from memory, so every instance, after any restart or
 * catch-up, prefixes the same messages. Pure.
 */

/** The ids of the agent messages that open an agent turn, in a request's messages (in order). */
export function turnOpeners(
  messages: readonly TiledeskMessage[],
  endUser: string,
  ownSenders: ReadonlySet<string>,
): Set<string> {
  const openers = new Set<string>();
  let lastSeen: string | undefined;
  for (const m of messages) {
    if (m.sender === endUser) {
      lastSeen = m.sender; // the user's own words
      continue;
    }
    const kind = classifyMessage(m, ownSenders);
    if (kind.kind === 'agent') {
      if (m.sender !== lastSeen) openers.add(m._id);
      lastSeen = m.sender;
    } else if (kind.kind === 'ignore' && kind.reason === 'echo') {
      lastSeen = m.sender; // what the bot said (mirrored): the user saw it
    }
    // System and info messages, private notes, joins and closes: the user never saw them.
  }
  return openers;
}

/**
 * The prefix of an agent turn: `template` with `{agent}` replaced by the agent's name; `''` when
 * the template is empty (the prefix is off).
 */
export function agentPrefix(template: string, agentName: string | undefined): string {
  if (!template) return '';
  const name = agentName?.trim() || 'Agent';
  return template.replace(/\{agent\}/g, () => name);
}

/**
 * `ToUserOptions.present`: the prefix on the first message of an agent turn, and the agent's
 * photo (when Tiledesk has one) on every message.
 */
export function agentPresenter(
  template: string,
  avatarOf: (agentId: string) => Promise<string | undefined>,
): (message: TiledeskMessage, opensTurn: boolean) => Promise<ChatActivity[]> {
  return async (message, opensTurn) => {
    const presentation: AgentPresentation = {};
    const prefix = opensTurn ? agentPrefix(template, message.senderFullname) : '';
    if (prefix) presentation.prefix = prefix;
    const avatarUrl = await avatarOf(message.sender);
    if (avatarUrl) presentation.avatarUrl = avatarUrl;
    return toUserActivities(message, presentation);
  };
}
