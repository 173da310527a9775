import { type ConversationRecord, leaseIsLive, mayLease, type OutboxEntry } from './record';

/**
 * Pure transitions of a conversation's outbox and its lease (see record.ts for the rules every
 * transition follows: it returns the next record, or `undefined` for "nothing to write").
 */

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
  // The user wrote to the agent: the chat is active (inactivity timeout).
  if (next.handoff?.state === 'assigned' && entries.some((e) => e.kind === 'user')) {
    next.handoff = { ...next.handoff, active: now };
  }
  return { next, ownsLease };
}

/**
 * Entries are kept in the order they happened (`at`, the capturing instance's clock; `sentAt`
 * for history, enqueued later than said), not the order their writes landed: a turn's write may
 * land after the next turn's, handled by another instance a few milliseconds later. Equal times
 * keep the order of writing.
 */
function inOrder(outbox: readonly OutboxEntry[], entries: readonly OutboxEntry[]): OutboxEntry[] {
  const out = [...outbox];
  const said = (e: OutboxEntry) => e.sentAt ?? e.at;
  for (const e of entries) {
    let i = out.length;
    while (i > 0 && said(out[i - 1]!) > said(e)) i--;
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
