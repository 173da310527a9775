import { asTiledeskError, TiledeskError } from '../errors';
import type { TiledeskMessage } from '../tiledesk/wire';
import { type AgentMessageRef, claimDelivery, markDelivered } from './record-delivery';
import { claimNotices, noticesSent, touchHandoff } from './record-handoff';
import type { ConversationRecord, Notice } from './record';
import type { RecordStore } from './record-store';
import { backoffMs, isPermanentChannelError } from './retry';
import { toUserActivities } from './to-activity';
import type { ChatActivity, Clock, UserChannel } from './types';

/**
 * What reaches the user, at least once: agent messages and notices are claimed in the record
 * (a lease: one instance talks to the user at a time), sent in order, then recorded. A claim
 * whose holder died runs out and the rest is sent again (the duplicate window: a crash between a
 * send and its record). A failed send is retried with backoff; a permanent channel error
 * (400/401/403/404) drops it (reported); a user unreachable for `maxAgeMs` is reported once and
 * then tried every minute. A send whose record failed is recorded before anything else.
 */

export interface ToUserOptions {
  store: RecordStore;
  user: UserChannel;
  clock: Clock;
  random: () => number;
  instanceId: string;
  leaseMs: number;
  /** How long failing sends are retried quickly before they are reported. */
  maxAgeMs: number;
  /**
   * The activities of an agent message (`opensTurn`: the first of an agent turn,
   * agent-turns.ts); default `toUserActivities` as it is.
   */
  present?: (message: TiledeskMessage, opensTurn: boolean) => Promise<ChatActivity[]>;
  onError(error: TiledeskError): void;
}

/** Per-conversation memory of failures and unrecorded sends (kept by the caller). */
export interface SendState {
  /** Sent to the user, but the write that marks them failed: marked before anything else. */
  unmarked: { gen: number; refs: AgentMessageRef[] } | undefined;
  /** Notices told, but the write that drops them failed: dropped before anything else. */
  noticesSent: Set<string>;
  attempts: number;
  failingSince: number | undefined;
  /** The long failure was reported (once). */
  reported: boolean;
}

export type Retry = 'idle' | { retryInMs: number };

/** While another instance holds a claim, look again this often. */
const CLAIM_POLL_MS = 200;
/** A user unreachable for long is tried this often. */
const SLOW_RETRY_MS = 60_000;

export function newSendState(): SendState {
  return {
    unmarked: undefined,
    noticesSent: new Set(),
    attempts: 0,
    failingSince: undefined,
    reported: false,
  };
}

export class ToUser {
  constructor(private readonly o: ToUserOptions) {}

  /** Records what was sent but not recorded (a failed write), before anything else is sent. */
  async recordPending(convKey: string, state: SendState): Promise<void> {
    if (state.unmarked) {
      const { gen, refs } = state.unmarked;
      await this.mark(convKey, gen, refs);
      state.unmarked = undefined;
    }
    if (state.noticesSent.size > 0) {
      await this.dropNotices(convKey, state.noticesSent);
      state.noticesSent = new Set();
    }
  }

  /** Claim → send in order → mark. `openers`: the ids of messages that open an agent turn. */
  async messages(
    convKey: string,
    gen: number,
    messages: TiledeskMessage[],
    inbox: SendState,
    openers: ReadonlySet<string> = new Set(),
  ): Promise<'sent' | Retry> {
    const now = this.o.clock.now();
    const me = this.o.instanceId;
    const { result: claim, snapshot } = await this.o.store.update(convKey, (current) => {
      if (!current) return { result: {} as ReturnType<typeof claimDelivery> };
      const c = claimDelivery(current, gen, messages.map(refOf), me, now, this.o.leaseMs);
      return { next: c.next, result: c };
    });
    if (claim.busyUntil !== undefined) return this.busy(claim.busyUntil, now);
    if (!claim.granted?.length || !snapshot) return 'sent'; // nothing (left) to send
    const byId = new Map(messages.map((m) => [m._id, m]));
    const sent: AgentMessageRef[] = [];
    let failure: unknown;
    for (const ref of claim.granted) {
      try {
        const message = byId.get(ref.id)!;
        const opensTurn = openers.has(ref.id);
        const activities = this.o.present
          ? await this.o.present(message, opensTurn)
          : toUserActivities(message);
        await this.o.user.sendAgentActivities(snapshot.record.ref, activities);
        sent.push(ref);
      } catch (err) {
        failure = err;
        break;
      }
    }
    const failed = claim.granted.slice(sent.length);
    const verdict = failure === undefined ? 'ok' : this.verdict(inbox, failure, convKey, failed);
    // Refused for good (the conversation is gone): settled, so it never blocks the others.
    if (verdict === 'drop') sent.push(...failed);
    try {
      await this.mark(convKey, gen, sent);
    } catch (err) {
      inbox.unmarked = { gen, refs: sent }; // never sent twice by us: marked before anything else
      throw err;
    }
    if (verdict === 'retry') return this.retryDelay(inbox);
    this.recovered(inbox);
    return 'sent';
  }

  async mark(convKey: string, gen: number, refs: AgentMessageRef[]): Promise<void> {
    const me = this.o.instanceId;
    await this.o.store.update(convKey, (current) => ({
      next: current && touched(markDelivered(current, gen, refs, me), this.o.clock.now()),
      result: undefined,
    }));
  }

  /**
   * Notices decided by handoff changes, claimed → sent → dropped. The text is retried like an
   * agent message; the bot's `handoff.status` turn runs once (its own errors are the bot's).
   */
  async notices(convKey: string, inbox: SendState): Promise<'sent' | Retry> {
    const now = this.o.clock.now();
    const me = this.o.instanceId;
    const { result: claim, snapshot } = await this.o.store.update(
      convKey,
      (current) => {
        if (!current) return { result: {} as ReturnType<typeof claimNotices> };
        const c = claimNotices(current, me, now, this.o.leaseMs);
        return { next: c.next, result: c };
      },
      this.o.store.cached(convKey),
      // Notices are sent by whoever stored them: "none" from our cache is good enough here.
      { trustCache: true },
    );
    if (claim.busyUntil !== undefined) return this.busy(claim.busyUntil, now);
    if (!claim.granted?.length || !snapshot) return 'sent';
    const done = new Set<string>();
    let verdict: 'ok' | 'retry' | 'drop' = 'ok';
    for (const notice of claim.granted) {
      try {
        const activity = noticeActivity(notice);
        if (activity) await this.o.user.sendNotice(snapshot.record.ref, activity);
      } catch (err) {
        verdict = this.verdict(inbox, err, convKey, []);
        if (verdict !== 'drop') break;
      }
      done.add(notice.key);
      if (notice.status) {
        const { state, message } = notice.status;
        await this.o.user
          .emitHandoffStatus(snapshot.record.ref, state, message)
          .catch((err: unknown) =>
            this.o.onError(asTiledeskError(err, 'TILEDESK_DELIVERY', { convKey, state })),
          );
      }
    }
    try {
      await this.dropNotices(convKey, done);
    } catch (err) {
      inbox.noticesSent = done; // never told twice by us: dropped before anything else
      throw err;
    }
    if (verdict === 'retry') return this.retryDelay(inbox);
    this.recovered(inbox);
    return 'sent';
  }

  async dropNotices(convKey: string, keys: ReadonlySet<string>): Promise<void> {
    const me = this.o.instanceId;
    await this.o.store.update(convKey, (current) => ({
      next: current && noticesSent(current, keys, me),
      result: undefined,
    }));
  }

  private busy(until: number, now: number): { retryInMs: number } {
    return { retryInMs: Math.min(Math.max(until - now, 1), CLAIM_POLL_MS) };
  }

  /**
   * What a failed send means: `drop` when the channel refuses for good (reported), else `retry`
   * — with backoff, and once it has failed for `maxAgeMs`, reported once and then tried every
   * minute (never dropped: the user may come back, and a crash leaves it in the record).
   */
  private verdict(
    inbox: SendState,
    failure: unknown,
    convKey: string,
    failed: readonly AgentMessageRef[],
  ): 'retry' | 'drop' {
    const now = this.o.clock.now();
    inbox.failingSince ??= now;
    const permanent = isPermanentChannelError(failure);
    const long = now - inbox.failingSince >= this.o.maxAgeMs;
    if (permanent || (long && !inbox.reported)) {
      inbox.reported = true;
      this.o.onError(
        new TiledeskError(
          'TILEDESK_DELIVERY',
          permanent
            ? 'The channel refuses messages for this conversation; they are dropped'
            : 'Could not reach the user for a long time; still trying every minute',
          {
            convKey,
            messages: failed.map((m) => m.id),
            cause: failure instanceof Error ? failure.message : String(failure),
          },
        ),
      );
    }
    return permanent ? 'drop' : 'retry';
  }

  retryDelay(inbox: SendState): { retryInMs: number } {
    const long = this.o.clock.now() - (inbox.failingSince ?? this.o.clock.now()) >= this.o.maxAgeMs;
    if (long) return { retryInMs: SLOW_RETRY_MS };
    return { retryInMs: backoffMs(++inbox.attempts, this.o.random, undefined, 250, 30_000) };
  }

  recovered(inbox: SendState): void {
    inbox.attempts = 0;
    inbox.failingSince = undefined;
    inbox.reported = false;
  }
}

export function refOf(m: TiledeskMessage): AgentMessageRef {
  return { id: m._id, createdAt: m.createdAt ?? '' };
}

/** An agent message reached the user: the chat is active (inactivity timeout). */
function touched(record: ConversationRecord | undefined, now: number) {
  return record && touchHandoff(record, now);
}

/** What the user is shown for a notice: a held bot message as it is, or the text and buttons. */
function noticeActivity(notice: Notice): ChatActivity | undefined {
  if (notice.activity) return notice.activity;
  if (!notice.text) return undefined;
  const activity: ChatActivity = { type: 'message', text: notice.text };
  if (notice.actions?.length) {
    activity.suggestedActions = {
      actions: notice.actions.map((title) => ({ type: 'imBack', title, value: title })),
    };
  }
  return activity;
}
