import { asTiledeskError, TiledeskApiError, type TiledeskError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { TiledeskMessage } from '../tiledesk/wire';
import { turnOpeners } from './agent-turns';
import { classifyMessage } from './classify-delivery';
import type { Credentials } from './credentials';
import type { Handoff } from './handoff';
import type { Mirror } from './mirror';
import { type ConversationRecord } from './record';
import { isDelivered } from './record-delivery';
import { leaving } from './record-handoff';
import type { RecordStore } from './record-store';
import { isPerson, type JoinedAgent } from './request-update';
import { backoffMs } from './retry';
import { Scheduler } from './scheduler';
import { newSendState, refOf, type SendState, ToUser, type ToUserOptions } from './to-user';
import type { Clock, UserChannel } from './types';

/**
 * Tiledesk → user. A webhook (or a catch-up, or the user's next message during a handoff) only
 * says "something happened on this request": the request's messages are then read from Tiledesk
 * (`GET …/messages`, createdAt order; the webhook bodies are the fallback when that read fails),
 * so agent messages reach the user in Tiledesk's order even when webhooks arrive late, twice, out
 * of order or not at all (tiledesk-api.md §5.3: no ordering, 3 attempts, then lost).
 *
 * What is found is sent by `ToUser` (at least once: claim → send → record), in the order the
 * user must hear it: notices already decided, an agent joining, the agent's messages, a close.
 * A conversation waiting for a retry holds no slot.
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
  /** How agent messages look to the user (`ToUserOptions.present`). */
  present?: ToUserOptions['present'];
  /** An agent joined a request of ours (its photo may be looked up ahead of its messages). */
  agentSeen?(agentId: string): void;
  /** See `OutboxOptions.registered`. */
  registered(): Promise<void>;
  onError(error: TiledeskError): void;
}

interface Inbox extends SendState {
  /** Messages received by webhook, per generation (the fallback when Tiledesk cannot be read). */
  messages: Map<string, TiledeskMessage & { gen: number }>;
  /** Generations whose `request.close` arrived. */
  closed: Set<number>;
  /** A person joined (request.update), by generation. */
  joined: Map<number, JoinedAgent>;
  /** Tiledesk must be read (a webhook, a catch-up); false: only notices to send. */
  sync: boolean;
  /** Since when Tiledesk's messages could not be read. */
  unreadableSince: number | undefined;
}

type StepResult = 'again' | 'idle' | { retryInMs: number };

/** How long delivery waits for Tiledesk to be readable before it sends webhook bodies as is. */
const ORDER_OVER_LIVENESS_MS = 60_000;

export class Delivery {
  private readonly inboxes = new Map<string, Inbox>();
  private readonly scheduler: Scheduler;
  private readonly toUser: ToUser;

  constructor(private readonly o: DeliveryOptions) {
    this.toUser = new ToUser(o);
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

  /** A person takes part in request `gen` (request.update): a takeover, or the routed agent. */
  joined(convKey: string, gen: number, agent: JoinedAgent): void {
    const inbox = this.inbox(convKey);
    inbox.joined.set(gen, agent);
    inbox.sync = true;
    this.o.agentSeen?.(agent.id);
    this.scheduler.wake(convKey, true);
  }

  /** Look for messages whose webhook never came (catch-up), and send pending notices. */
  sync(convKey: string): void {
    this.inbox(convKey).sync = true;
    this.scheduler.wake(convKey);
  }

  /** Something is to be sent to the user, or read from Tiledesk, for this conversation. */
  pending(convKey: string): boolean {
    return this.inboxes.has(convKey);
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
        joined: new Map(),
        sync: false,
        ...newSendState(),
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
    await this.toUser.recordPending(convKey, inbox);
    let outcome: 'sent' | StepResult = await this.toUser.notices(convKey, inbox);
    if (outcome !== 'sent') return outcome;
    if (inbox.sync || inbox.messages.size > 0 || inbox.closed.size > 0 || inbox.joined.size > 0) {
      inbox.sync = false; // a webhook during this pass sets it again
      try {
        outcome = await this.syncMessages(convKey, inbox);
      } finally {
        if (outcome !== 'sent') inbox.sync = true;
      }
      if (outcome !== 'sent') return outcome;
      outcome = await this.toUser.notices(convKey, inbox);
      if (outcome !== 'sent') return outcome;
    }
    if (inbox.sync || inbox.messages.size > 0 || inbox.closed.size > 0 || inbox.joined.size > 0)
      return 'again';
    this.inboxes.delete(convKey);
    return 'idle';
  }

  private async syncMessages(convKey: string, inbox: Inbox): Promise<'sent' | StepResult> {
    // Only what is known before Tiledesk is read may be acted on: a close that arrives while
    // the read is in flight waits for the next pass (and its fresh read), or an agent message
    // written just before that close would be lost.
    const knownClosed = new Set(inbox.closed);
    const knownMessages = new Set(inbox.messages.keys());
    const knownJoined = new Map(inbox.joined);
    const snapshot = await this.o.store.read(convKey);
    if (!snapshot) {
      for (const id of knownMessages) inbox.messages.delete(id);
      for (const g of knownClosed) inbox.closed.delete(g);
      for (const g of knownJoined.keys()) inbox.joined.delete(g);
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
    const joinedNow = knownJoined.get(gen);
    plan.joined ??= joinedNow && { name: joinedNow.name };
    const closing = plan.closed || knownClosed.has(gen);
    if (closing && !read) {
      // Closing now could lose an agent message whose webhook we have not had (its request is
      // replaced by the close): wait until Tiledesk can be read. The user stays with the agent
      // meanwhile; nothing of theirs is lost (their messages wait in the outbox).
      return { retryInMs: backoffMs(++inbox.attempts, this.o.random, undefined, 500, 30_000) };
    }
    const assigned = record.mode === 'handoff' && record.handoff?.state === 'assigned';
    // The user left this request (or it timed out): its close is on its way, nothing more of it
    // reaches them.
    const left = leaving(record, gen);
    if (left) plan.toSend.length = 0;
    const person = plan.toSend.find((m) => isPerson(m.sender));
    if (!left && !assigned && (plan.joined || person)) {
      // A person joined, or wrote (taken from the queue, or took over the bot's chat). Only a
      // person: a message of some bot, or of anyone who is no Tiledesk user, is no takeover.
      const name = plan.joined?.name ?? person?.senderFullname;
      await this.o.handoff.accept(convKey, gen, name ?? undefined);
      const outcome = await this.toUser.notices(convKey, inbox); // "Anna joined" before Anna
      if (outcome !== 'sent') return outcome;
    }
    if (plan.toSend.length > 0) {
      const outcome = await this.toUser.messages(convKey, gen, plan.toSend, inbox, plan.openers);
      if (outcome !== 'sent') return outcome;
    }
    if (closing) await this.o.handoff.close(convKey, gen);
    // What was handled is settled in the record; drop the webhook copies.
    for (const id of knownMessages) {
      if ((inbox.messages.get(id)?.gen ?? 0) <= gen) inbox.messages.delete(id);
    }
    for (const g of knownClosed) if (g <= gen) inbox.closed.delete(g);
    for (const g of knownJoined.keys()) if (g <= gen) inbox.joined.delete(g);
    this.toUser.recovered(inbox);
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
      if (kind.kind === 'joined' && kind.agentId) this.o.agentSeen?.(kind.agentId);
      if (kind.kind === 'joined' && toSend.length === 0) joined = { name: kind.agentName };
      else if (kind.kind === 'closed') closed = true;
      // Every agent message of the request, even one stamped after the close (same millisecond).
      // A bot's (a Tiledesk bot, another integration) reaches the user only while a person has
      // the chat: with ours it would be a second bot talking.
      else if (kind.kind === 'agent' && !isDelivered(record, refOf(m))) {
        if (isPerson(m.sender) || record.mode === 'handoff') toSend.push(m);
      }
    }
    const openers = turnOpeners(messages, endUser, this.o.ownSenders);
    return { joined, closed, toSend, openers };
  }
}

/** Tiledesk's order: createdAt, then id (ObjectIds grow with time within a server). */
function byCreation(a: TiledeskMessage, b: TiledeskMessage): number {
  const x = a.createdAt ?? '';
  const y = b.createdAt ?? '';
  if (x !== y) return x < y ? -1 : 1;
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}
