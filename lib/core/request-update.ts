/**
 * `request.update` deliveries (subscribed with `TiledeskMirrorVisibility=bot`): how we see a
 * person join a request our Tiledesk bot serves. The dashboard's JOIN TO CHAT posts
 * `…/participants {member}`; the server then removes the bot (`pubmodules/rules/conciergeBot.js`),
 * so two updates come: participants `[bot, person]`, then `[person]` (seen on the real server).
 * Routing (`PUT …/agent`) sends one too. Every update carries the populated request:
 * `participantsAgents` (people only) and `participatingAgents` (their names). Pure.
 */

export const REQUEST_UPDATE_EVENT = 'request.update';

/** Who joined: a person, never a bot. */
export interface JoinedAgent {
  id: string;
  name: string | undefined;
}

const CLOSED = 1000;
const UNROUTED = 50;

/**
 * The person taking part in an open request, from a `request.update` payload; `undefined` when
 * none does (a bot alone, queued with nobody, closed, or not a request).
 */
export function joinedAgentOf(
  payload: Record<string, unknown>,
): { requestId: string; agent: JoinedAgent } | undefined {
  const requestId = payload['request_id'];
  const status = payload['status'];
  if (typeof requestId !== 'string' || typeof status !== 'number') return undefined;
  if (status >= CLOSED || status === UNROUTED) return undefined;
  const people = Array.isArray(payload['participantsAgents'])
    ? payload['participantsAgents'].filter(isPerson)
    : [];
  const id = people[people.length - 1]; // the one who came last
  if (id === undefined) return undefined;
  return { requestId, agent: { id, name: nameOf(payload['participatingAgents'], id) } };
}

/** Tiledesk user ids are ObjectIds; bots are `bot_<id>`, the platform is `system`. */
export function isPerson(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id);
}

function nameOf(list: unknown, id: string): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const a of list) {
    if (!a || typeof a !== 'object') continue;
    const o = a as Record<string, unknown>;
    if (o['_id'] !== id && o['id'] !== id) continue;
    const name = [o['firstname'], o['lastname']]
      .filter((x) => typeof x === 'string' && x)
      .join(' ');
    return name || undefined;
  }
  return undefined;
}
