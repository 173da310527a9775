import type { ConversationRecord, OutboxEntry } from './record';
import type { ChatActivity, ChatAttachment, ConversationRef } from './types';

/**
 * Mirror mode `handoff` (`TiledeskMirrorMode`): nothing goes to Tiledesk while the bot has the
 * conversation; what the user and the bot say is kept in the record (`history`), bounded, and
 * moved into the outbox, ahead of the routing, by the very write that starts a handoff. Pure
 * transitions (see record.ts for the rules they follow).
 *
 * Bounds: a record is ONE storage item (Cosmos DB: at most 2 MB), so the history keeps at most
 * `maxMessages` entries, each at most {@link ITEM_MAX_BYTES} (only the fields mirroring reads;
 * an inline file or a huge card becomes a visible placeholder, then the text is cut), and at most
 * {@link TOTAL_MAX_BYTES} in all; the oldest go first, and how many went is posted with the rest.
 */

/** `undefined`: mirror mode `all` (no history kept). */
export interface HistoryLimits {
  maxMessages: number;
}

export const ITEM_MAX_BYTES = 16 * 1024;
export const TOTAL_MAX_BYTES = 512 * 1024;

/**
 * The write of some entries: while the bot has the conversation, its user and bot messages
 * (not those addressed to a given request: a leave, a close notice) are kept as history instead
 * of being posted. Returns the record with them kept, and the entries to post.
 */
export function keepHistory(
  record: ConversationRecord,
  entries: readonly OutboxEntry[],
  limits: HistoryLimits | undefined,
): { next: ConversationRecord; live: OutboxEntry[] } {
  if (!limits || record.mode !== 'bot') return { next: record, live: [...entries] };
  const live: OutboxEntry[] = [];
  const kept: OutboxEntry[] = [];
  // An entry stored already by a change whose answer was lost (the user's leave message, put
  // back into the turn and written again): the outbox has it, `append` skips it.
  const queued = new Set(record.outbox.map((e) => e.key));
  for (const e of entries) {
    if (queued.has(e.key)) live.push(e);
    else if ((e.kind === 'user' || e.kind === 'bot') && e.gen === undefined && !e.history) {
      kept.push({ ...e, ...(e.activity ? { activity: forHistory(e.activity) } : {}) });
    } else live.push(e);
  }
  if (kept.length === 0) return { next: record, live };
  const known = new Set(record.history?.map((e) => e.key));
  const all = [...(record.history ?? []), ...kept.filter((e) => !known.has(e.key))];
  // Kept in the order things were said (a turn's write may land after the next turn's).
  all.sort((a, b) => a.at - b.at);
  return { next: bounded(record, all, limits), live };
}

/**
 * The history as outbox entries, to go ahead of what starts the handoff: marked, said at their
 * own time (`sentAt`, which also orders them), enqueued at `now` (their age counts from here).
 * `transcript`: the bot's own view, given with `handoff.initiate`: it replaces what was kept.
 */
export function takeHistory(
  record: ConversationRecord,
  now: number,
  transcript?: readonly OutboxEntry[],
): { next: ConversationRecord; entries: OutboxEntry[] } {
  const source = transcript ?? record.history ?? [];
  const dropped = transcript ? 0 : (record.historyDropped ?? 0);
  const next = { ...record };
  delete next.history;
  delete next.historyDropped;
  if (source.length === 0 && dropped === 0) return { next, entries: [] };
  const first = source[0]?.at ?? now;
  const entries: OutboxEntry[] = [];
  if (dropped > 0) {
    entries.push({
      key: `${source[0]?.key ?? now}:dropped`,
      kind: 'bot',
      at: now,
      sentAt: first,
      history: true,
      info: true,
      activity: { type: 'message', text: `(${dropped} earlier messages are not kept)` },
    });
  }
  for (const e of source) entries.push({ ...e, at: now, sentAt: e.at, history: true });
  return { next, entries };
}

/**
 * The transcript a bot passes with `handoff.initiate` (botbuilder's
 * `EventFactory.createHandoffInitiation(context, handoffContext, transcript)`: an attachment
 * named `Transcript`, `content: { activities }`; a bare array is taken too): its messages, as
 * history entries said before `before` (the time each activity gives, else its neighbour's),
 * bounded like the kept history. `undefined` when the event carries none.
 */
export function transcriptEntries(
  attachments: readonly ChatAttachment[] | undefined,
  ref: ConversationRef,
  keyPrefix: string,
  before: number,
  limits: HistoryLimits,
  skipIds: ReadonlySet<string>,
): OutboxEntry[] | undefined {
  const list = attachments?.map(transcriptOf).find((a) => a !== undefined);
  if (!list) return undefined;
  const out: OutboxEntry[] = [];
  const times: (number | undefined)[] = [];
  const seen = new Set(skipIds);
  let last = Number.NEGATIVE_INFINITY;
  list.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object') return;
    const a = raw as Record<string, unknown>;
    if ((a['type'] ?? 'message') !== 'message') return;
    const id = typeof a['id'] === 'string' ? a['id'] : undefined;
    if (id !== undefined && seen.has(id)) return; // posted live with the turn, or twice here
    if (id !== undefined) seen.add(id);
    const activity = forHistory(a as unknown as ChatActivity);
    if (!activity.text && !activity.attachments?.length) return;
    const stamp = Date.parse(String(a['timestamp'] ?? ''));
    // In the order given: never before the previous one, never after the turn's own entries.
    if (!Number.isNaN(stamp)) last = Math.min(before, Math.max(last, stamp));
    times.push(Number.isFinite(last) ? last : undefined);
    out.push({ key: `${keyPrefix}:t${i}`, kind: roleOf(a, ref), at: before, activity });
  });
  // Untimed ones before the first timed one take its time.
  const firstTimed = times.find((t) => t !== undefined) ?? before;
  out.forEach((e, i) => (e.at = times[i] ?? firstTimed));
  return out.slice(Math.max(0, out.length - limits.maxMessages)).filter(fitsTotal());
}

/** Only what mirroring reads, within {@link ITEM_MAX_BYTES}. */
export function forHistory(a: ChatActivity): ChatActivity {
  const kept: ChatActivity = { type: 'message' };
  if (typeof a.id === 'string') kept.id = a.id;
  if (typeof a.text === 'string' && a.text) kept.text = a.text;
  if (typeof a.locale === 'string') kept.locale = a.locale;
  // A transcript comes from bot code as it is: nothing malformed may stop the handoff.
  const attachments = Array.isArray(a.attachments)
    ? a.attachments.filter((att) => att !== null && typeof att === 'object')
    : [];
  if (attachments.length > 0) {
    kept.attachments = attachments.map((att) => {
      const type = att.contentType;
      const out: ChatAttachment = {
        contentType: typeof type === 'string' ? type : 'application/octet-stream',
      };
      if (att.contentUrl !== undefined) out.contentUrl = att.contentUrl;
      if (att.content !== undefined) out.content = att.content;
      if (att.name !== undefined) out.name = att.name;
      return out;
    });
  }
  const actions = a.suggestedActions?.actions;
  if (Array.isArray(actions)) {
    kept.suggestedActions = { actions: actions.filter((x) => x !== null && typeof x === 'object') };
  }
  if (bytes(kept) <= ITEM_MAX_BYTES) return kept;
  // Too big to keep whole: inline files first, then every attachment, become placeholders that
  // say so (the agent sees something was there), then the buttons go, then the text is cut.
  if (kept.attachments) {
    kept.attachments = kept.attachments.map((att) =>
      att.contentUrl?.startsWith('data:') ? placeholder(att) : att,
    );
  }
  if (bytes(kept) > ITEM_MAX_BYTES && kept.attachments) {
    kept.attachments = kept.attachments.slice(0, 20).map(placeholder);
  }
  if (bytes(kept) > ITEM_MAX_BYTES) delete kept.suggestedActions;
  if (bytes(kept) > ITEM_MAX_BYTES && kept.text) {
    const mark = ' … [cut: too long for the history]';
    // Characters may take up to 3 bytes in UTF-8 (6 once JSON-escaped); leave room for the rest.
    kept.text = kept.text.slice(0, Math.floor((ITEM_MAX_BYTES - 2048) / 6)) + mark;
  }
  return kept;
}

function bounded(
  record: ConversationRecord,
  all: OutboxEntry[],
  limits: HistoryLimits,
): ConversationRecord {
  let drop = Math.max(0, all.length - limits.maxMessages);
  let total = all.slice(drop).reduce((n, e) => n + bytes(e), 0);
  while (total > TOTAL_MAX_BYTES && drop < all.length) total -= bytes(all[drop++]!);
  const next: ConversationRecord = { ...record, history: all.slice(drop) };
  if (drop > 0) next.historyDropped = (record.historyDropped ?? 0) + drop;
  if (next.history!.length === 0) delete next.history;
  return next;
}

/** Keeps the newest entries within {@link TOTAL_MAX_BYTES} (call on a list newest last). */
function fitsTotal(): (e: OutboxEntry, i: number, list: OutboxEntry[]) => boolean {
  let from: number | undefined;
  return (_e, i, list) => {
    if (from === undefined) {
      let total = 0;
      from = list.length;
      while (from > 0 && total + bytes(list[from - 1]!) <= TOTAL_MAX_BYTES) {
        total += bytes(list[--from]!);
      }
    }
    return i >= from;
  };
}

function transcriptOf(att: ChatAttachment): unknown[] | undefined {
  const content = att.content as { activities?: unknown } | unknown[] | undefined;
  if (Array.isArray(content)) return /transcript/i.test(att.contentType) ? content : undefined;
  if (content && typeof content === 'object' && Array.isArray(content.activities)) {
    return content.activities as unknown[];
  }
  return undefined;
}

function roleOf(a: Record<string, unknown>, ref: ConversationRef): 'user' | 'bot' {
  const from = a['from'] as { id?: unknown; role?: unknown } | undefined;
  if (from?.role === 'bot') return 'bot';
  if (from?.role === 'user') return 'user';
  return from?.id !== undefined && from.id === ref.user?.id ? 'user' : 'bot';
}

function placeholder(att: ChatAttachment): ChatAttachment {
  const name = String(att.name ?? att.contentType).slice(0, 100);
  return { contentType: 'application/octet-stream', name: `${name} (too large to keep)` };
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
