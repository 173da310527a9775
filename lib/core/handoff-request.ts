import type { TiledeskRequest } from '../tiledesk/wire';
import type { OutboxEntry } from './record';

/** Pure helpers of the routing call: what we store on the request, and what routing answered. */

/** `bf_handoff`: why the handoff started, stored on the request so the agent sees it. */
export function why(entry: OutboxEntry, now: number): Record<string, unknown> {
  const t = entry.trigger ?? { trigger: 'api' };
  return {
    bf_handoff: {
      trigger: t.trigger,
      at: new Date(now).toISOString(),
      ...(t.keyword ? { keyword: t.keyword } : {}),
      ...(t.intent ? { intent: t.intent, score: t.score } : {}),
      ...(t.text ? { text: t.text } : {}),
      ...(t.context !== undefined ? { context: t.context } : {}),
    },
  };
}

/**
 * The request has an agent (routing answered 200 with a person among the participants). A
 * request our Tiledesk bot serves (`TiledeskMirrorVisibility=bot`) is 200 with `bot_<id>`
 * alone: nobody has it yet.
 */
export function assignedAgent(request: TiledeskRequest): boolean {
  const people = (request.participants ?? []).filter((p) => !p.startsWith('bot_'));
  return request.status === 200 && people.length > 0;
}

/** The first participating agent's name, as Tiledesk spells it. */
export function agentName(request: TiledeskRequest): string | undefined {
  const agent = request.participatingAgents?.[0];
  if (!agent) return undefined;
  return [agent.firstname, agent.lastname].filter(Boolean).join(' ') || undefined;
}
