import { type ConversationRecord, leaseIsLive } from './record';

/**
 * Pure transitions of what was delivered to the user (agent messages, at least once: claim →
 * send → mark; see record.ts for the rules every transition follows).
 */

/** How long delivered ids are remembered past the newest delivered message (createdAt time). */
export const DELIVERED_WINDOW_MS = 10 * 60 * 1000;
/** At most this many delivered ids are kept (agents do not write 50 messages in a moment). */
export const MAX_DELIVERED_IDS = 50;

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

function shiftIso(iso: string, ms: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t + ms).toISOString();
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}
