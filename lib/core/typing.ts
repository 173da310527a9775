import { z } from 'zod';
import type { Logger } from '../logger';
import type { RecordStore } from './record-store';
import type { ChatAccount, Clock, UserChannel } from './types';

/**
 * An agent typing in Tiledesk → a typing indicator for the user.
 *
 * What Tiledesk delivers (tiledesk-server 2.19.16; the stand-in's typing.ts has the whole path):
 * the subscription event `event.emit.typing.start` (`S:services/subscriptionNotifier.js#L478-484`)
 * carries an Event document (`S:pubmodules/events/eventService.js#L43-89`):
 * `{_id, name: 'typing.start', attributes: {recipient_id, writer_id, data}, id_project,
 * project_user (populated, with id_user), createdBy, createdAt, …}`, where `recipient_id` is the
 * request and `writer_id` the agent's user id (`S:channels/chat21/chat21WebHook.js#L647-724`).
 * It is emitted only when chat21 posts `typing-start`, which only the Firebase chat engine does;
 * with the MQTT engine the agent console never publishes typing (chat21-ionic
 * `mqtt-typing.service.ts`), so nothing arrives and nothing is shown.
 *
 * Rules: only for a conversation of ours that is with an agent, in the request the event names;
 * at most one indicator per conversation every `intervalMs` (per instance); none while an agent
 * message is on its way or just after one was sent (the console reports typing up to 500 ms
 * after the last keystroke, so a report can trail the message it belongs to); and never in the
 * way of agent messages: indicators have their own path, fire and forget, and their failures are
 * only logged (an indicator is worth nothing a moment later).
 */

/** The subscription event. */
export const TYPING_EVENT = 'event.emit.typing.start';

/** What is kept of a delivery: never the agent's draft (`attributes.data.message`). */
export interface TypingSignal {
  requestId: string;
  writerId: string;
  /** The agent's name, when the event carries it. */
  name: string | undefined;
  /** Tiledesk's time of the event. */
  createdAt: string | undefined;
}

const Name = z.string().trim().min(1).optional().catch(undefined);
const TypingEventPayload = z.object({
  name: z.literal('typing.start'),
  attributes: z.object({
    recipient_id: z.string().min(1),
    writer_id: z.string().min(1),
    data: z.object({ name: Name }).optional().catch(undefined),
  }),
  project_user: z
    .object({
      id_user: z.object({ firstname: Name, lastname: Name }).optional().catch(undefined),
    })
    .nullish()
    .catch(undefined),
  createdAt: z.string().optional().catch(undefined),
});

/** The payload of an `event.emit.typing.start` delivery; `undefined` when it is not one. */
export function parseTypingEvent(payload: unknown): TypingSignal | undefined {
  const parsed = TypingEventPayload.safeParse(payload);
  if (!parsed.success) return undefined;
  const { attributes, project_user, createdAt } = parsed.data;
  const user = project_user?.id_user;
  const fullName = [user?.firstname, user?.lastname].filter(Boolean).join(' ');
  return {
    requestId: attributes.recipient_id,
    writerId: attributes.writer_id,
    name: fullName || attributes.data?.name,
    createdAt,
  };
}

export interface AgentTypingOptions {
  store: Pick<RecordStore, 'read'>;
  user: UserChannel;
  clock: Clock;
  logger: Logger;
  ownSenders: ReadonlySet<string>;
  /** Delivery has work for the conversation (an agent message may be on its way). */
  busy(convKey: string): boolean;
  /** An agent is seen typing (its photo may be looked up ahead of its messages). */
  agentSeen?(agentId: string): void;
  /** At most one indicator per conversation this often (default 3 s). */
  intervalMs?: number;
  /** No indicator for typing reported until this long after an agent message (default 1.5 s). */
  quietMs?: number;
}

/** Conversations remembered for rate limits (oldest forgotten first). */
const MAX_TRACKED = 10_000;

export class AgentTyping {
  /** When each conversation was last shown an indicator (or one was decided). */
  private readonly shown = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly intervalMs: number;
  private readonly quietMs: number;

  constructor(private readonly o: AgentTypingOptions) {
    this.intervalMs = o.intervalMs ?? 3000;
    this.quietMs = o.quietMs ?? 1500;
  }

  /** A typing event for request `gen` of a conversation of ours (from the webhook). */
  notify(convKey: string, gen: number, signal: TypingSignal): void {
    const { writerId } = signal;
    if (!this.o.user.sendTyping) return;
    if (writerId === 'system' || this.o.ownSenders.has(writerId)) return;
    this.o.agentSeen?.(writerId);
    const now = this.o.clock.now();
    if (now - (this.shown.get(convKey) ?? -Infinity) < this.intervalMs) return;
    if (this.o.busy(convKey)) return;
    remember(this.shown, convKey, now);
    const run = this.show(convKey, gen, signal)
      .catch((err: unknown) =>
        this.o.logger.debug('typing.not_shown', {
          convKey,
          cause: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Resolves when no indicator is being decided or sent (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private async show(convKey: string, gen: number, signal: TypingSignal): Promise<void> {
    const snapshot = await this.o.store.read(convKey);
    const record = snapshot?.record;
    if (!record || record.gen !== gen || record.mode !== 'handoff') return;
    // Typing that an agent message already answered: reported after it (the console reports
    // up to 500 ms after the last keystroke), or a late delivery (a retry).
    if (signal.createdAt && isBefore(signal.createdAt, newest(record.delivered), this.quietMs)) {
      return;
    }
    if (this.o.busy(convKey)) return; // an agent message arrived meanwhile
    const agent: ChatAccount = { id: signal.writerId, role: 'agent' };
    if (signal.name) agent.name = signal.name;
    await this.o.user.sendTyping?.(record.ref, agent);
  }
}

function remember(map: Map<string, number>, key: string, at: number): void {
  map.delete(key);
  map.set(key, at);
  if (map.size > MAX_TRACKED) map.delete(map.keys().next().value!);
}

function newest(delivered: Record<string, string>): string | undefined {
  let max: string | undefined;
  for (const at of Object.values(delivered)) if (max === undefined || at > max) max = at;
  return max;
}

/** `at` is earlier than `ref` + `graceMs` (ISO times of Tiledesk's clock). */
function isBefore(at: string, ref: string | undefined, graceMs: number): boolean {
  if (ref === undefined) return false;
  const a = Date.parse(at);
  const r = Date.parse(ref);
  return !Number.isNaN(a) && !Number.isNaN(r) && a < r + graceMs;
}
