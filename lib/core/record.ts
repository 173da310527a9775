import { z } from 'zod';
import type { HandoffTrigger } from './triggers';
import type { ChatActivity, ConversationRef } from './types';

/**
 * One conversation's whole state, in ONE storage item (`tiledesk/conversation/<convKey>`): its
 * reference, the current Tiledesk request (by generation), the handoff, the durable outbox of
 * posts not yet made, and what was delivered to the user. One item means one read on a turn's
 * critical path and one compare-and-set write for any change, whoever makes it.
 *
 * Everything here is pure: each transition takes the record as read and returns the next one
 * (or `undefined`: nothing to write) with what the caller may do IF that write succeeds. The
 * record store runs a transition again on a fresh read after a conflict, so a decision is only
 * ever taken from the attempt whose write succeeded.
 */

/** A post waiting in the outbox. `at` is when it was first enqueued: its age survives takeovers. */
export interface OutboxEntry {
  key: string;
  /** `close`: close request `gen` in Tiledesk (the user left, a timeout, `endHandoff`). */
  kind: 'user' | 'bot' | 'handoff' | 'close';
  at: number;
  activity?: ChatActivity;
  trigger?: HandoffTrigger;
  /** The request generation this entry may already have been posted to (set at a close). */
  postedTo?: number;
  /** Post to (or close) this generation's request, not the current one. */
  gen?: number;
  /** A notice the user was told: posted as an info message of the bot. */
  info?: boolean;
  /**
   * Mirror mode `handoff`: said before the handoff, kept in the record and posted when it
   * started (`attributes.bf_history`); `sentAt` is when it was said (`at` is the handoff's).
   */
  history?: boolean;
  sentAt?: number;
}

/** Exclusive right of one instance to work on something until `until` (its clock). */
export interface Lease {
  owner: string;
  until: number;
}

export interface HandoffState {
  /** The outbox entry that routes it. */
  key: string;
  /** When it was triggered; the routing limit counts from here. */
  at: number;
  trigger: string;
  /** pending: not routed yet; queued: waiting for an agent; assigned: an agent has it. */
  state: 'pending' | 'queued' | 'assigned';
  agent?: string;
  /** When routing said "queued" (the queue timeout counts from here). */
  queuedAt?: number;
  /** Last message of either side with an agent assigned (the inactivity timeout). */
  active?: number;
}

/** Why a handoff ended (the `handoff.status completed` message). */
export type EndReason = 'agent closed' | 'user left' | 'queue timeout' | 'inactivity' | string;

/** Something the user must be told (and the bot's `handoff.status`), kept until it is sent. */
export interface Notice {
  key: string;
  /** `''`: nothing to say, only the status to emit. */
  text: string;
  /** A bot message held during the handoff, sent as it is (instead of `text`). */
  activity?: ChatActivity;
  /** Buttons offered with the text (e.g. "End chat"). */
  actions?: string[];
  status?: { state: 'accepted' | 'failed' | 'completed'; message?: string };
}

export interface ConversationRecord {
  v: 2;
  ref: ConversationRef;
  /** Moves on each time a request is closed; the request id derives from it. */
  gen: number;
  /** The current request exists in Tiledesk (a message of ours was accepted). */
  opened: boolean;
  mode: 'bot' | 'handoff';
  handoff?: HandoffState;
  outbox: OutboxEntry[];
  /** Who posts the outbox now. */
  lease?: Lease;
  /** Agent messages of the current request already delivered: id → createdAt, at or after `floor`. */
  delivered: Record<string, string>;
  /** Messages created before this are settled (delivered, or older than the dedupe window). */
  floor: string;
  /** Notices decided but not yet sent (at-least-once, like agent messages). */
  notices: Notice[];
  /** Agent messages or notices being sent to the user right now, by `owner`. */
  claim?: Lease & { ids: string[] };
  /** The generation whose request we are closing (the user left, a timeout): nothing of it is delivered. */
  ending?: number;
  /** The bot's own proactive messages sent during a handoff, held until the bot has it back. */
  held?: ChatActivity[];
  /**
   * Mirror mode `handoff`: what the user and the bot said while the bot had the conversation,
   * oldest first, bounded (record-history.ts); moved into the outbox when a handoff starts.
   */
  history?: OutboxEntry[];
  /** How many of the oldest were dropped from `history` (said when it is posted). */
  historyDropped?: number;
  /** Listed in the recovery index. */
  indexed: boolean;
  /** Last time work was added (lazy index clean-up). */
  touched: number;
}

const Lease = z.object({ owner: z.string(), until: z.number() });
const Entry = z.object({
  key: z.string(),
  kind: z.enum(['user', 'bot', 'handoff', 'close']),
  at: z.number(),
  activity: z.custom<ChatActivity>((v) => typeof v === 'object' && v !== null).optional(),
  trigger: z.custom<HandoffTrigger>((v) => typeof v === 'object' && v !== null).optional(),
  postedTo: z.number().int().nonnegative().optional(),
  gen: z.number().int().nonnegative().optional(),
  info: z.boolean().optional(),
  history: z.boolean().optional(),
  sentAt: z.number().optional(),
});
const Schema = z.object({
  v: z.literal(2),
  ref: z.custom<ConversationRef>((v) => typeof v === 'object' && v !== null),
  gen: z.number().int().nonnegative(),
  opened: z.boolean(),
  mode: z.enum(['bot', 'handoff']),
  handoff: z
    .object({
      key: z.string(),
      at: z.number(),
      trigger: z.string(),
      state: z.enum(['pending', 'queued', 'assigned']),
      agent: z.string().optional(),
      queuedAt: z.number().optional(),
      active: z.number().optional(),
    })
    .optional(),
  outbox: z.array(Entry),
  lease: Lease.optional(),
  delivered: z.record(z.string(), z.string()),
  floor: z.string(),
  notices: z.array(
    z.object({
      key: z.string(),
      text: z.string(),
      activity: z.custom<ChatActivity>((v) => typeof v === 'object' && v !== null).optional(),
      actions: z.array(z.string()).optional(),
      status: z
        .object({
          state: z.enum(['accepted', 'failed', 'completed']),
          message: z.string().optional(),
        })
        .optional(),
    }),
  ),
  claim: Lease.extend({ ids: z.array(z.string()) }).optional(),
  ending: z.number().int().nonnegative().optional(),
  held: z.array(z.custom<ChatActivity>((v) => typeof v === 'object' && v !== null)).optional(),
  history: z.array(Entry).optional(),
  historyDropped: z.number().int().nonnegative().optional(),
  indexed: z.boolean(),
  touched: z.number(),
});

/** Validates a stored value; `undefined` with the problem when it is not a record of ours. */
export function parseRecord(
  value: unknown,
): { record: ConversationRecord; problem?: undefined } | { record?: undefined; problem: string } {
  const parsed = Schema.safeParse(value);
  if (parsed.success) return { record: stripUndefined(parsed.data) as ConversationRecord };
  return { problem: parsed.error.issues[0]?.message ?? 'invalid' };
}

export function newRecord(ref: ConversationRef, now: number): ConversationRecord {
  return {
    v: 2,
    ref,
    gen: 0,
    opened: false,
    mode: 'bot',
    outbox: [],
    delivered: {},
    floor: '',
    notices: [],
    indexed: false,
    touched: now,
  };
}

export function leaseIsLive(lease: Lease | undefined, now: number): lease is Lease {
  return lease !== undefined && lease.until > now;
}

/** May `me` take (or keep) the outbox lease? */
export function mayLease(record: ConversationRecord, me: string, now: number): boolean {
  return !leaseIsLive(record.lease, now) || record.lease.owner === me;
}

/** zod keeps optional keys whose value is `undefined`; storage round trips drop them anyway. */
function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
