import { takeHistory } from './record-history';
import { append } from './record-outbox';
import {
  type ConversationRecord,
  type HandoffState,
  leaseIsLive,
  type Notice,
  type OutboxEntry,
} from './record';
import type { HandoffTrigger } from './triggers';
import type { ChatActivity } from './types';

/**
 * Pure transitions of a conversation's handoff, and of the notices each change stores for the
 * user (see record.ts for the rules every transition follows).
 */

/**
 * Switches to human mode and queues the routing after `before` (the turn's earlier posts), and
 * before them the kept history (mirror mode `handoff`), or the bot's own `transcript` instead.
 */
export function beginHandoff(
  record: ConversationRecord,
  entry: OutboxEntry & { kind: 'handoff'; trigger: HandoffTrigger },
  before: readonly OutboxEntry[],
  me: string,
  now: number,
  leaseMs: number,
  transcript?: readonly OutboxEntry[],
): { next: ConversationRecord; ownsLease: boolean } | undefined {
  if (record.mode === 'handoff') return undefined;
  const history = takeHistory(record, now, transcript);
  const { next, ownsLease } = append(
    history.next,
    [...history.entries, ...before, entry],
    me,
    now,
    leaseMs,
  );
  next.mode = 'handoff';
  next.handoff = { key: entry.key, at: entry.at, trigger: entry.trigger.trigger, state: 'pending' };
  return { next, ownsLease };
}

/** Routing said "queued". True if this write is the one that says so. */
export function queueHandoff(
  record: ConversationRecord,
  key: string,
  now: number,
): ConversationRecord | undefined {
  if (record.mode !== 'handoff' || record.handoff?.key !== key) return undefined;
  if (record.handoff.state !== 'pending') return undefined;
  return { ...record, handoff: { ...record.handoff, state: 'queued', queuedAt: now } };
}

/** An agent has the current request (routing answer, joined message or first agent message). */
export function acceptHandoff(
  record: ConversationRecord,
  gen: number,
  agent: string | undefined,
  now: number,
): ConversationRecord | undefined {
  if (record.gen !== gen || record.handoff?.state === 'assigned') return undefined;
  if (leaving(record, gen)) return undefined; // the user left it: nobody takes it any more
  const handoff: HandoffState = record.handoff
    ? { ...record.handoff, state: 'assigned', active: now }
    : // A human wrote into a conversation the bot had: they took it over.
      { key: '', at: now, trigger: 'agent', state: 'assigned', active: now };
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
  if (leaving(record, gen)) {
    // The request the user left (or that timed out): its handoff already ended. A handoff begun
    // since belongs to the next request: it stays, with its routing entry. If the user left
    // that one too (`ending` beyond `gen`), its close stays queued and it stays "leaving".
    const next: ConversationRecord = {
      ...record,
      gen: gen + 1,
      opened: false,
      delivered: {},
      floor: '',
      outbox: record.outbox
        .filter((e) => e.kind !== 'close' || (e.gen !== undefined && e.gen > gen))
        .map((e) =>
          e.postedTo === undefined && e.gen === undefined ? { ...e, postedTo: gen } : e,
        ),
    };
    if (record.ending! <= gen) delete next.ending;
    if (next.claim && next.notices.length === 0) delete next.claim;
    return { next, wasHandoff: false };
  }
  const next: ConversationRecord = {
    ...record,
    gen: gen + 1,
    opened: false,
    mode: 'bot',
    delivered: {},
    floor: '',
    // Entries may have been posted to the closed request already: the poster checks there too.
    outbox: record.outbox
      .filter((e) => e.kind !== 'handoff' && e.kind !== 'close')
      .map((e) => (e.postedTo === undefined && e.gen === undefined ? { ...e, postedTo: gen } : e)),
  };
  delete next.handoff;
  delete next.ending;
  if (next.claim && next.notices.length === 0) delete next.claim;
  return { next, wasHandoff: record.mode === 'handoff' };
}

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

/**
 * The handoff ends on our side (the user left, a timeout, `endHandoff`): the bot answers again
 * at once, and request `gen` is closed in Tiledesk by a `close` entry the caller appends after
 * what is already queued. Until that close lands, nothing more of `gen` reaches the user.
 */
export function endHandoff(
  record: ConversationRecord,
): { next: ConversationRecord; gen: number } | undefined {
  if (record.mode !== 'handoff') return undefined;
  // A handoff begun while an earlier request is still being closed belongs to the next one.
  const gen = leaving(record, record.gen) ? record.ending! + 1 : record.gen;
  const next: ConversationRecord = {
    ...record,
    mode: 'bot',
    ending: gen,
    outbox: record.outbox.filter((e) => e.kind !== 'handoff'),
  };
  delete next.handoff;
  return { next, gen };
}

/** Is request `gen` one the user left (or that timed out), its close on the way? */
export function leaving(record: ConversationRecord, gen: number): boolean {
  return record.ending !== undefined && gen <= record.ending;
}

/** A message of either side with an agent: the inactivity timeout starts again. */
export function touchHandoff(record: ConversationRecord, now: number): ConversationRecord {
  if (record.mode !== 'handoff' || record.handoff?.state !== 'assigned') return record;
  return { ...record, handoff: { ...record.handoff, active: now } };
}

/** Keeps a bot message sent during a handoff until the bot has the conversation back. */
export function holdBotMessages(
  record: ConversationRecord,
  activities: readonly ChatActivity[],
): ConversationRecord | undefined {
  if (record.mode !== 'handoff') return undefined;
  return { ...record, held: [...(record.held ?? []), ...activities] };
}

/**
 * The bot has the conversation back: its held messages become notices (sent after the one that
 * says so) and mirrored bot messages. Returns the outbox entries to append.
 */
export function releaseHeld(
  record: ConversationRecord,
  at: number,
  key: () => string,
): { next: ConversationRecord; entries: OutboxEntry[] } {
  if (!record.held?.length) return { next: record, entries: [] };
  const notices: Notice[] = record.held.map((activity) => ({ key: key(), text: '', activity }));
  const entries: OutboxEntry[] = record.held.map((activity) => ({
    key: key(),
    kind: 'bot',
    at,
    activity,
  }));
  const next: ConversationRecord = { ...record, notices: [...record.notices, ...notices] };
  delete next.held;
  return { next, entries };
}

/** A notice's copy in the Tiledesk transcript: an info line of the bot (never re-delivered). */
export function noticeEntry(notice: Notice, at: number, gen?: number): OutboxEntry[] {
  if (!notice.text) return [];
  return [
    {
      key: `${notice.key}:mirror`,
      kind: 'bot',
      at,
      info: true,
      activity: { type: 'message', text: notice.text },
      ...(gen !== undefined ? { gen } : {}),
    },
  ];
}
