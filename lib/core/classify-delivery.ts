import type { TiledeskMessage } from '../tiledesk/wire';
import { asArray, asRecord } from './content/text';
import { MIRROR_MARK } from './to-tiledesk';

/**
 * What a `message.create` delivery means for the user (tiledesk-api.md §5.4, §8.6). Pure.
 * - `agent`: a human agent's message → deliver it;
 * - `joined`: an agent was added to the request → the handoff is accepted;
 * - `closed`: the request was closed → hand the conversation back to the bot;
 * - `ignore`: our own echoes, system/info messages, private notes.
 */
export type Delivery =
  | { kind: 'agent' }
  | { kind: 'joined'; agentId: string | undefined; agentName: string | undefined }
  | { kind: 'closed' }
  | { kind: 'ignore'; reason: string };

const HIDDEN_SUBTYPES = new Set(['info', 'info/support', 'private']);
const MEDIA_TYPES = new Set(['image', 'file', 'frame', 'gallery']);

/** Buttons, a gallery or a Tiledesk bot's `commands` make a message without text worth sending. */
function carriesContent(attributes: Record<string, unknown>): boolean {
  const attachment = asRecord(attributes['attachment']);
  return [attributes['commands'], attachment['buttons'], attachment['gallery']].some(
    (list) => asArray(list).length > 0,
  );
}

export function classifyMessage(
  message: TiledeskMessage,
  ownSenders: ReadonlySet<string>,
): Delivery {
  const attributes = message.attributes ?? {};
  if (attributes[MIRROR_MARK] === true || ownSenders.has(message.sender)) {
    return { kind: 'ignore', reason: 'echo' };
  }
  const label = labelOf(attributes);
  if (label?.key === 'CHAT_CLOSED') return { kind: 'closed' };
  if (label?.key === 'MEMBER_JOINED_GROUP') {
    const p = label.parameters;
    const agentId = typeof p['member_id'] === 'string' ? p['member_id'] : undefined;
    // chat21 also announces the requester (and `system`) joining on creation (§2.2 step 4).
    if (!agentId || !isAgent(agentId, message.request)) {
      return { kind: 'ignore', reason: 'not an agent joining' };
    }
    const name = p['fullname'] ?? p['firstname'];
    return { kind: 'joined', agentId, agentName: typeof name === 'string' ? name : undefined };
  }
  const subtype = attributes['subtype'];
  if (typeof subtype === 'string' && HIDDEN_SUBTYPES.has(subtype)) {
    return { kind: 'ignore', reason: subtype };
  }
  if (message.sender === 'system') return { kind: 'ignore', reason: 'system' };
  if (!message.text && !MEDIA_TYPES.has(message.type ?? '') && !carriesContent(attributes)) {
    return { kind: 'ignore', reason: 'empty' };
  }
  return { kind: 'agent' };
}

/**
 * An agent is a participant of the request; without the request in the payload, agent ids are
 * Tiledesk user ObjectIds (24 hex), never our end users' `<project>_<channel>_<hash>` ids.
 */
function isAgent(memberId: string, request: TiledeskMessage['request']): boolean {
  const list = request?.participantsAgents ?? request?.participants;
  if (Array.isArray(list)) return list.includes(memberId);
  return /^[0-9a-f]{24}$/i.test(memberId);
}

function labelOf(
  attributes: Record<string, unknown>,
): { key: string; parameters: Record<string, unknown> } | undefined {
  const label = attributes['messagelabel'];
  if (!label || typeof label !== 'object') return undefined;
  const { key, parameters } = label as { key?: unknown; parameters?: unknown };
  if (typeof key !== 'string') return undefined;
  const params =
    parameters && typeof parameters === 'object' ? (parameters as Record<string, unknown>) : {};
  return { key, parameters: params };
}
