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
  kind: 'user' | 'bot' | 'handoff';
  at: number;
  activity?: ChatActivity;
  trigger?: HandoffTrigger;
  /** The request generation this entry may already have been posted to (set at a close). */
  postedTo?: number;
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
}

/** Something the user must be told (and the bot's `handoff.status`), kept until it is sent. */
export interface Notice {
  key: string;
  /** `''`: nothing to say, only the status to emit. */
  text: string;
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
  /** Listed in the recovery index. */
  indexed: boolean;
  /** Last time work was added (lazy index clean-up). */
  touched: number;
}

/** How long delivered ids are remembered past the newest delivered message (createdAt time). */
export const DELIVERED_WINDOW_MS = 10 * 60 * 1000;
/** At most this many delivered ids are kept (agents do not write 50 messages in a moment). */
export const MAX_DELIVERED_IDS = 50;

const Lease = z.object({ owner: z.string(), until: z.number() });
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
    })
    .optional(),
  outbox: z.array(
    z.object({
      key: z.string(),
      kind: z.enum(['user', 'bot', 'handoff']),
      at: z.number(),
      activity: z.custom<ChatActivity>((v) => typeof v === 'object' && v !== null).optional(),
      trigger: z.custom<HandoffTrigger>((v) => typeof v === 'object' && v !== null).optional(),
      postedTo: z.number().int().nonnegative().optional(),
    }),
  ),
  lease: Lease.optional(),
  delivered: z.record(z.string(), z.string()),
  floor: z.string(),
  notices: z.array(
    z.object({
      key: z.string(),
      text: z.string(),
      status: z
        .object({
          state: z.enum(['accepted', 'failed', 'completed']),
          message: z.string().optional(),
        })
        .optional(),
    }),
  ),
  claim: Lease.extend({ ids: z.array(z.string()) }).optional(),
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

// ---------------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------------

export function leaseIsLive(lease: Lease | undefined, now: number): lease is Lease {
  return lease !== undefined && lease.until > now;
}

/** May `me` take (or keep) the outbox lease? */
export function mayLease(record: ConversationRecord, me: string, now: number): boolean {
  return !leaseIsLive(record.lease, now) || record.lease.owner === me;
}

/**
 * Appends entries; takes the lease when nobody else holds a live one.
 * `ownsLease` says whether the caller must now work on the outbox; if not, the holder will see
 * the new entries at its next write (which then conflicts and re-reads).
 */
export function append(
  record: ConversationRecord,
  entries: readonly OutboxEntry[],
  me: string,
  now: number,
  leaseMs: number,
): { next: ConversationRecord; ownsLease: boolean } {
  const ownsLease = mayLease(record, me, now);
  // Idempotent: a write retried after a lost response finds its entries there already.
  const known = new Set(record.outbox.map((e) => e.key));
  const next: ConversationRecord = {
    ...record,
    outbox: inOrder(
      record.outbox,
      entries.filter((e) => !known.has(e.key)),
    ),
    indexed: true,
    touched: now,
  };
  if (ownsLease) next.lease = { owner: me, until: now + leaseMs };
  return { next, ownsLease };
}

/**
 * Entries are kept in the order they happened (`at`, the capturing instance's clock), not the
 * order their writes landed: a turn's write may land after the next turn's, handled by another
 * instance a few milliseconds later. Equal times keep the order of writing.
 */
function inOrder(outbox: readonly OutboxEntry[], entries: readonly OutboxEntry[]): OutboxEntry[] {
  const out = [...outbox];
  for (const e of entries) {
    let i = out.length;
    while (i > 0 && out[i - 1]!.at > e.at) i--;
    out.splice(i, 0, e);
  }
  return out;
}

/**
 * The lease holder's write after some posts: drops the entries done, notes that the request
 * exists, and renews the lease while entries remain or releases it when none do.
 * `undefined` when `me` no longer holds the lease (another instance took it over: stop).
 */
export function settle(
  record: ConversationRecord,
  done: ReadonlySet<string>,
  opened: boolean,
  me: string,
  now: number,
  leaseMs: number,
): { next: ConversationRecord; remaining: OutboxEntry[] } | undefined {
  if (!record.lease || record.lease.owner !== me) return undefined;
  const remaining = record.outbox.filter((e) => !done.has(e.key));
  const next: ConversationRecord = { ...record, outbox: remaining };
  if (opened) next.opened = true;
  if (remaining.length > 0) next.lease = { owner: me, until: now + leaseMs };
  else delete next.lease;
  return { next, remaining };
}

/** Recovery: takes over an outbox whose holder is gone (lease expired or released). */
export function takeOver(
  record: ConversationRecord,
  me: string,
  now: number,
  leaseMs: number,
): ConversationRecord | undefined {
  if (record.outbox.length === 0 || leaseIsLive(record.lease, now)) return undefined;
  return { ...record, lease: { owner: me, until: now + leaseMs } };
}

/** Shutdown: hands our lease back so another instance takes the entries at once. */
export function release(record: ConversationRecord, me: string): ConversationRecord | undefined {
  if (record.lease?.owner !== me && record.claim?.owner !== me) return undefined;
  const next = { ...record };
  if (next.lease?.owner === me) delete next.lease;
  if (next.claim?.owner === me) delete next.claim;
  return next;
}

/** Entries someone else held (lease run out or released): they may have been posted already. */
export function keysHeldByOthers(record: ConversationRecord | undefined, me: string): string[] {
  if (!record || record.lease?.owner === me) return [];
  return record.outbox.map((e) => e.key);
}

/** Nothing pending, nobody working, back with the bot: may leave the recovery index. */
export function isIdle(record: ConversationRecord): boolean {
  return (
    record.outbox.length === 0 &&
    record.lease === undefined &&
    record.claim === undefined &&
    record.notices.length === 0 &&
    record.mode === 'bot'
  );
}

// ---------------------------------------------------------------------------------------------
// Handoff
// ---------------------------------------------------------------------------------------------

/** Switches to human mode and queues the routing after `before` (the turn's earlier posts). */
export function beginHandoff(
  record: ConversationRecord,
  entry: OutboxEntry & { kind: 'handoff'; trigger: HandoffTrigger },
  before: readonly OutboxEntry[],
  me: string,
  now: number,
  leaseMs: number,
): { next: ConversationRecord; ownsLease: boolean } | undefined {
  if (record.mode === 'handoff') return undefined;
  const { next, ownsLease } = append(record, [...before, entry], me, now, leaseMs);
  next.mode = 'handoff';
  next.handoff = { key: entry.key, at: entry.at, trigger: entry.trigger.trigger, state: 'pending' };
  return { next, ownsLease };
}

/** Routing said "queued". True if this write is the one that says so. */
export function queueHandoff(
  record: ConversationRecord,
  key: string,
): ConversationRecord | undefined {
  if (record.mode !== 'handoff' || record.handoff?.key !== key) return undefined;
  if (record.handoff.state !== 'pending') return undefined;
  return { ...record, handoff: { ...record.handoff, state: 'queued' } };
}

/** An agent has the current request (routing answer, joined message or first agent message). */
export function acceptHandoff(
  record: ConversationRecord,
  gen: number,
  agent: string | undefined,
  now: number,
): ConversationRecord | undefined {
  if (record.gen !== gen || record.handoff?.state === 'assigned') return undefined;
  const handoff: HandoffState = record.handoff
    ? { ...record.handoff, state: 'assigned' }
    : // A human wrote into a conversation the bot had: they took it over.
      { key: '', at: now, trigger: 'agent', state: 'assigned' };
  if (agent) handoff.agent = agent;
  return { ...record, mode: 'handoff', handoff };
}

/**
 * Routing failed (or did not happen within the limit): back to the bot. `key` limits it to one
 * handoff (a late failure of an old handoff must not end a newer one).
 */
export function failHandoff(
  record: ConversationRecord,
  key: string,
): ConversationRecord | undefined {
  if (record.mode !== 'handoff' || record.handoff?.key !== key) return undefined;
  if (record.handoff.state !== 'pending') return undefined;
  const next: ConversationRecord = {
    ...record,
    mode: 'bot',
    outbox: record.outbox.filter((e) => e.key !== key),
  };
  delete next.handoff;
  return next;
}

/**
 * The request `gen` was closed: the next message starts a new request (posting to a closed one
 * would not reopen it, tiledesk-api.md §2.4). `undefined` for an old or unknown request.
 */
export function closeRequest(
  record: ConversationRecord,
  gen: number,
): { next: ConversationRecord; wasHandoff: boolean } | undefined {
  if (record.gen !== gen) return undefined;
  const next: ConversationRecord = {
    ...record,
    gen: gen + 1,
    opened: false,
    mode: 'bot',
    delivered: {},
    floor: '',
    // Entries may have been posted to the closed request already: the poster checks there too.
    outbox: record.outbox
      .filter((e) => e.kind !== 'handoff')
      .map((e) => (e.postedTo === undefined ? { ...e, postedTo: gen } : e)),
  };
  delete next.handoff;
  if (next.claim && next.notices.length === 0) delete next.claim;
  return { next, wasHandoff: record.mode === 'handoff' };
}

// ---------------------------------------------------------------------------------------------
// Delivery of agent messages to the user
// ---------------------------------------------------------------------------------------------

export interface AgentMessageRef {
  id: string;
  createdAt: string;
}

export function isDelivered(record: ConversationRecord, m: AgentMessageRef): boolean {
  return m.createdAt < record.floor || record.delivered[m.id] !== undefined;
}

/**
 * Claims messages for sending (at-least-once: claim → send → mark). Granted when no other
 * instance holds a live claim; returns the messages of `wanted` still to send, in order.
 */
export function claimDelivery(
  record: ConversationRecord,
  gen: number,
  wanted: readonly AgentMessageRef[],
  me: string,
  now: number,
  leaseMs: number,
): { next?: ConversationRecord; granted?: AgentMessageRef[]; busyUntil?: number } {
  if (record.gen !== gen) return {};
  if (leaseIsLive(record.claim, now) && record.claim.owner !== me) {
    return { busyUntil: record.claim.until };
  }
  const granted = wanted.filter((m) => !isDelivered(record, m));
  if (granted.length === 0) {
    if (!record.claim) return {};
    // A dead holder's claim with nothing left to send: clear it.
    const next = { ...record };
    delete next.claim;
    return { next, granted };
  }
  return {
    next: { ...record, claim: { owner: me, until: now + leaseMs, ids: granted.map((m) => m.id) } },
    granted,
  };
}

/** Records messages as delivered (or given up on) and releases our claim. */
export function markDelivered(
  record: ConversationRecord,
  gen: number,
  sent: readonly AgentMessageRef[],
  me: string,
): ConversationRecord | undefined {
  const ours = record.claim?.owner === me;
  if (record.gen !== gen) {
    if (!ours) return undefined;
    const next = { ...record };
    delete next.claim;
    return next;
  }
  const delivered = { ...record.delivered };
  let newest = '';
  for (const [, at] of Object.entries(delivered)) if (at > newest) newest = at;
  for (const m of sent) {
    delivered[m.id] = m.createdAt;
    if (m.createdAt > newest) newest = m.createdAt;
  }
  let floor = maxString(record.floor, shiftIso(newest, -DELIVERED_WINDOW_MS));
  for (const [id, at] of Object.entries(delivered)) if (at < floor) delete delivered[id];
  // Bounded in size too: past the newest MAX_DELIVERED_IDS, the floor moves up.
  const kept = Object.entries(delivered).sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0));
  for (const [id, at] of kept.slice(MAX_DELIVERED_IDS)) {
    delete delivered[id];
    floor = maxString(floor, `${at}\u0000`); // just above: that message counts as settled
  }
  const next: ConversationRecord = { ...record, delivered, floor };
  if (ours) delete next.claim;
  return next;
}

// ---------------------------------------------------------------------------------------------
// Notices
// ---------------------------------------------------------------------------------------------

export function withNotice(record: ConversationRecord, notice: Notice): ConversationRecord {
  return { ...record, notices: [...record.notices, notice] };
}

/** Claims the pending notices for sending (same claim as agent messages: one voice at a time). */
export function claimNotices(
  record: ConversationRecord,
  me: string,
  now: number,
  leaseMs: number,
): { next?: ConversationRecord; granted?: Notice[]; busyUntil?: number } {
  if (leaseIsLive(record.claim, now) && record.claim.owner !== me) {
    return { busyUntil: record.claim.until };
  }
  if (record.notices.length === 0) return {};
  const granted = [...record.notices];
  return {
    next: { ...record, claim: { owner: me, until: now + leaseMs, ids: granted.map((n) => n.key) } },
    granted,
  };
}

/** Drops the notices sent (or given up) and our claim. */
export function noticesSent(
  record: ConversationRecord,
  keys: ReadonlySet<string>,
  me: string,
): ConversationRecord | undefined {
  const notices = record.notices.filter((n) => !keys.has(n.key));
  const ours = record.claim?.owner === me;
  if (notices.length === record.notices.length && !ours) return undefined;
  const next = { ...record, notices };
  if (ours) delete next.claim;
  return next;
}

function shiftIso(iso: string, ms: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t + ms).toISOString();
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}

/** zod keeps optional keys whose value is `undefined`; storage round trips drop them anyway. */
function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
