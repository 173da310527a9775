import { asTiledeskError, TiledeskApiError, TiledeskError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { TiledeskMessage } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import type { Credentials } from './credentials';
import type { Handoff } from './handoff';
import type { Mirror } from './mirror';
import {
  type AgentMessageRef,
  claimDelivery,
  claimNotices,
  type ConversationRecord,
  isDelivered,
  markDelivered,
  noticesSent,
} from './record';
import type { RecordStore } from './record-store';
import { backoffMs, isPermanentChannelError } from './retry';
import { Scheduler } from './scheduler';
import { toUserActivity } from './to-activity';
import type { Clock, UserChannel } from './types';

/**
 * Tiledesk → user. A webhook (or a catch-up, or the user's next message during a handoff) only
 * says "something happened on this request": the request's messages are then read from Tiledesk
 * (`GET …/messages`, createdAt order; the webhook bodies are the fallback when that read fails),
 * so agent messages reach the user in Tiledesk's order even when webhooks arrive late, twice, out
 * of order or not at all (tiledesk-api.md §5.3: no ordering, 3 attempts, then lost).
 *
 * Each batch is at-least-once: claimed in the record (a lease) → sent → marked delivered. Another
 * instance seeing a live claim waits for it; a claim whose holder died runs out and the messages
 * are sent again (the duplicate window: a crash between a send and its mark). A failed send is
 * retried with backoff (holding no slot) for up to `maxAgeMs`, a permanent channel error
 * (403/404) is not; either way the user's later messages still flow.
 */

export interface DeliveryOptions {
  api: TiledeskApi;
  store: RecordStore;
  credentials: Credentials;
  mirror: Mirror;
  handoff: Handoff;
  user: UserChannel;
  clock: Clock;
  random: () => number;
  instanceId: string;
  leaseMs: number;
  concurrency: number;
  /** How long failing sends of one batch are retried. */
  maxAgeMs: number;
  ownSenders: ReadonlySet<string>;
  /** See `OutboxOptions.registered`. */
  registered(): Promise<void>;
  onError(error: TiledeskError): void;
}

interface Inbox {
  /** Messages received by webhook, per generation (the fallback when Tiledesk cannot be read). */
  messages: Map<string, TiledeskMessage & { gen: number }>;
  /** Generations whose `request.close` arrived. */
  closed: Set<number>;
  /** Tiledesk must be read (a webhook, a catch-up); false: only notices to send. */
  sync: boolean;
  /** Sent to the user, but the write that marks them failed: marked before anything else. */
  unmarked: { gen: number; refs: AgentMessageRef[] } | undefined;
  /** Notices told, but the write that drops them failed: dropped before anything else. */
  noticesSent: Set<string>;
  attempts: number;
  failingSince: number | undefined;
  /** The long failure was reported (once). */
  reported: boolean;
  /** Since when Tiledesk's messages could not be read. */
  unreadableSince: number | undefined;
}

type StepResult = 'again' | 'idle' | { retryInMs: number };

/** While another instance holds a claim, look again this often. */
const CLAIM_POLL_MS = 200;
/** How long delivery waits for Tiledesk to be readable before it sends webhook bodies as is. */
const ORDER_OVER_LIVENESS_MS = 60_000;
/** A user unreachable for long is tried this often. */
const SLOW_RETRY_MS = 60_000;

export class Delivery {
  private readonly inboxes = new Map<string, Inbox>();
  private readonly scheduler: Scheduler;

  constructor(private readonly o: DeliveryOptions) {
    this.scheduler = new Scheduler({
      clock: o.clock,
      concurrency: o.concurrency,
      step: (convKey) => this.step(convKey),
      onError: (err, convKey) => o.onError(asTiledeskError(err, 'TILEDESK_DELIVERY', { convKey })),
    });
  }

  get size(): number {
    return this.scheduler.size;
  }

  whenIdle(): Promise<void> {
    return this.scheduler.whenIdle();
  }

  halt(): void {
    this.scheduler.halt();
  }

  /** A webhook: a message of request `gen` (or its close, with no message). */
  notify(convKey: string, gen: number, message: TiledeskMessage | undefined): void {
    const inbox = this.inbox(convKey);
    if (message) inbox.messages.set(message._id, { ...message, gen });
    else inbox.closed.add(gen);
    inbox.sync = true;
    this.scheduler.wake(convKey, true);
  }

  /** Look for messages whose webhook never came (catch-up), and send pending notices. */
  sync(convKey: string): void {
    this.inbox(convKey).sync = true;
    this.scheduler.wake(convKey);
  }

  /** Notices were stored: send them. */
  notices(convKey: string): void {
    this.inbox(convKey);
    this.scheduler.wake(convKey, true);
  }

  private inbox(convKey: string): Inbox {
    let inbox = this.inboxes.get(convKey);
    if (!inbox) {
      inbox = {
        messages: new Map(),
        closed: new Set(),
        sync: false,
        unmarked: undefined,
        noticesSent: new Set(),
        attempts: 0,
        failingSince: undefined,
        reported: false,
        unreadableSince: undefined,
      };
      this.inboxes.set(convKey, inbox);
    }
    return inbox;
  }

  /**
   * One pass over a conversation, in the order the user must hear things: notices already
   * decided; then, from Tiledesk's messages, an agent joining (its notice), the agent messages
   * not yet delivered, and a close (its notice).
   */
  private async step(convKey: string): Promise<StepResult> {
    const inbox = this.inboxes.get(convKey);
    if (!inbox) return 'idle';
    await this.o.registered(); // claims, like leases, need a registered owner
    if (inbox.unmarked) {
      const { gen, refs } = inbox.unmarked;
      await this.mark(convKey, gen, refs);
      inbox.unmarked = undefined;
    }
    if (inbox.noticesSent.size > 0) {
      await this.dropNotices(convKey, inbox.noticesSent);
      inbox.noticesSent = new Set();
    }
    let outcome = await this.sendNotices(convKey, inbox);
    if (outcome !== 'sent') return outcome;
    if (inbox.sync || inbox.messages.size > 0 || inbox.closed.size > 0) {
      inbox.sync = false; // a webhook during this pass sets it again
      try {
        outcome = await this.syncMessages(convKey, inbox);
      } finally {
        if (outcome !== 'sent') inbox.sync = true;
      }
      if (outcome !== 'sent') return outcome;
      outcome = await this.sendNotices(convKey, inbox);
      if (outcome !== 'sent') return outcome;
    }
    if (inbox.sync || inbox.messages.size > 0 || inbox.closed.size > 0) return 'again';
    this.inboxes.delete(convKey);
    return 'idle';
  }

  private async syncMessages(convKey: string, inbox: Inbox): Promise<'sent' | StepResult> {
    // Only what is known before Tiledesk is read may be acted on: a close that arrives while
    // the read is in flight waits for the next pass (and its fresh read), or an agent message
    // written just before that close would be lost.
    const knownClosed = new Set(inbox.closed);
    const knownMessages = new Set(inbox.messages.keys());
    const snapshot = await this.o.store.read(convKey);
    if (!snapshot) {
      for (const id of knownMessages) inbox.messages.delete(id);
      for (const g of knownClosed) inbox.closed.delete(g);
      return 'sent';
    }
    const record = snapshot.record;
    const gen = record.gen;
    const { messages, endUser, read } = await this.messagesOf(convKey, record, inbox);
    if (read) inbox.unreadableSince = undefined;
    else {
      // Webhook bodies alone may miss an earlier message (its webhook late or lost): sending
      // them would break Tiledesk's order. Wait for Tiledesk to answer; only after a minute
      // do they go as they are (late in order rather than not at all).
      const since = (inbox.unreadableSince ??= this.o.clock.now());
      if (this.o.clock.now() - since < ORDER_OVER_LIVENESS_MS) {
        return { retryInMs: backoffMs(++inbox.attempts, this.o.random, undefined, 500, 15_000) };
      }
    }
    const plan = this.plan(record, messages, endUser);
    const closing = plan.closed || knownClosed.has(gen);
    if (closing && !read) {
      // Closing now could lose an agent message whose webhook we have not had (its request is
      // replaced by the close): wait until Tiledesk can be read. The user stays with the agent
      // meanwhile; nothing of theirs is lost (their messages wait in the outbox).
      return { retryInMs: backoffMs(++inbox.attempts, this.o.random, undefined, 500, 30_000) };
    }
    const assigned = record.mode === 'handoff' && record.handoff?.state === 'assigned';
    if (!assigned && (plan.joined || plan.toSend.length > 0)) {
      // An agent joined, or wrote (taken from the queue, or a person took over the bot's chat).
      const name = plan.joined?.name ?? plan.toSend[0]?.senderFullname;
      await this.o.handoff.accept(convKey, gen, name ?? undefined);
      const outcome = await this.sendNotices(convKey, inbox); // "Anna joined" before Anna
      if (outcome !== 'sent') return outcome;
    }
    if (plan.toSend.length > 0) {
      const outcome = await this.send(convKey, gen, plan.toSend, inbox);
      if (outcome !== 'sent') return outcome;
    }
    if (closing) await this.o.handoff.close(convKey, gen);
    // What was handled is settled in the record; drop the webhook copies.
    for (const id of knownMessages) {
      if ((inbox.messages.get(id)?.gen ?? 0) <= gen) inbox.messages.delete(id);
    }
    for (const g of knownClosed) if (g <= gen) inbox.closed.delete(g);
    this.recovered(inbox);
    return 'sent';
  }

  /** The current request's messages: from Tiledesk, or from the webhooks when it cannot be read. */
  private async messagesOf(
    convKey: string,
    record: ConversationRecord,
    inbox: Inbox,
  ): Promise<{ messages: TiledeskMessage[]; endUser: string; read: boolean }> {
    const received = [...inbox.messages.values()].filter((m) => m.gen === record.gen);
    const user = this.o.mirror.endUserOf(record);
    try {
      // Read even when we have not seen the request open: its first post may be in flight.
      const { token, tiledeskId } = await this.o.credentials.endUser(user, !record.opened);
      const listed = await this.o.api.getMessages(token, this.o.mirror.requestId(convKey, record));
      const ids = new Set(listed.map((m) => m._id));
      const list = [...listed, ...received.filter((m) => !ids.has(m._id))];
      return { messages: list.sort(byCreation), endUser: tiledeskId, read: true };
    } catch (err) {
      if (!(err instanceof TiledeskApiError && err.status === 404)) {
        this.o.onError(asTiledeskError(err, 'TILEDESK_HTTP', { convKey, step: 'read messages' }));
      }
      return { messages: received.sort(byCreation), endUser: user.id, read: false };
    }
  }

  /** What to do, in Tiledesk's order: who joined, which agent messages are new, closed or not. */
  private plan(record: ConversationRecord, messages: readonly TiledeskMessage[], endUser: string) {
    let joined: { name: string | undefined } | undefined;
    let closed = false;
    const toSend: TiledeskMessage[] = [];
    for (const m of messages) {
      if (m.sender === endUser) continue; // the user's own words, whoever posted them
      const kind = classifyMessage(m, this.o.ownSenders);
      if (kind.kind === 'joined' && toSend.length === 0) joined = { name: kind.agentName };
      else if (kind.kind === 'closed') closed = true;
      // Every agent message of the request, even one stamped after the close (same millisecond).
      else if (kind.kind === 'agent' && !isDelivered(record, refOf(m))) toSend.push(m);
    }
    return { joined, closed, toSend };
  }

  /** Claim → send in order → mark. */
  private async send(
    convKey: string,
    gen: number,
    messages: TiledeskMessage[],
    inbox: Inbox,
  ): Promise<'sent' | StepResult> {
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
        await this.o.user.sendAgentActivities(snapshot.record.ref, [
          toUserActivity(byId.get(ref.id)!),
        ]);
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

  private async mark(convKey: string, gen: number, refs: AgentMessageRef[]): Promise<void> {
    const me = this.o.instanceId;
    await this.o.store.update(convKey, (current) => ({
      next: current && markDelivered(current, gen, refs, me),
      result: undefined,
    }));
  }

  /**
   * Notices decided by handoff changes, claimed → sent → dropped. The text is retried like an
   * agent message; the bot's `handoff.status` turn runs once (its own errors are the bot's).
   */
  private async sendNotices(convKey: string, inbox: Inbox): Promise<'sent' | StepResult> {
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
        if (notice.text) await this.o.user.sendNotice(snapshot.record.ref, notice.text);
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

  private async dropNotices(convKey: string, keys: ReadonlySet<string>): Promise<void> {
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
    inbox: Inbox,
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

  private retryDelay(inbox: Inbox): { retryInMs: number } {
    const long = this.o.clock.now() - (inbox.failingSince ?? this.o.clock.now()) >= this.o.maxAgeMs;
    if (long) return { retryInMs: SLOW_RETRY_MS };
    return { retryInMs: backoffMs(++inbox.attempts, this.o.random, undefined, 250, 30_000) };
  }

  private recovered(inbox: Inbox): void {
    inbox.attempts = 0;
    inbox.failingSince = undefined;
    inbox.reported = false;
  }
}

function refOf(m: TiledeskMessage): AgentMessageRef {
  return { id: m._id, createdAt: m.createdAt ?? '' };
}

/** Tiledesk's order: createdAt, then id (ObjectIds grow with time within a server). */
function byCreation(a: TiledeskMessage, b: TiledeskMessage): number {
  const x = a.createdAt ?? '';
  const y = b.createdAt ?? '';
  if (x !== y) return x < y ? -1 : 1;
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}
