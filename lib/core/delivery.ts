import { asTiledeskError, TiledeskError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { TiledeskMessage } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import type { Credentials } from './credentials';
import type { Handoff } from './handoff';
import type { Mirror } from './mirror';
import {
  type AgentMessageRef,
  claimDelivery,
  type ConversationRecord,
  isDelivered,
  markDelivered,
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
  onError(error: TiledeskError): void;
}

interface Inbox {
  /** Messages received by webhook, per generation (the fallback when Tiledesk cannot be read). */
  messages: Map<string, TiledeskMessage & { gen: number }>;
  /** Generations whose `request.close` arrived. */
  closed: Set<number>;
  attempts: number;
  failingSince: number | undefined;
}

/** While another instance holds a claim, look again this often. */
const CLAIM_POLL_MS = 200;

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
    this.scheduler.wake(convKey, true);
  }

  /** Look for messages whose webhook never came (catch-up). */
  sync(convKey: string): void {
    this.inbox(convKey);
    this.scheduler.wake(convKey);
  }

  private inbox(convKey: string): Inbox {
    let inbox = this.inboxes.get(convKey);
    if (!inbox) {
      inbox = { messages: new Map(), closed: new Set(), attempts: 0, failingSince: undefined };
      this.inboxes.set(convKey, inbox);
    }
    return inbox;
  }

  private async step(convKey: string): Promise<'again' | 'idle' | { retryInMs: number }> {
    const inbox = this.inboxes.get(convKey);
    if (!inbox) return 'idle';
    const snapshot = await this.o.store.read(convKey);
    if (!snapshot) return this.done(convKey);
    const record = snapshot.record;
    const gen = record.gen;
    const { messages, endUser } = await this.messagesOf(convKey, record, inbox);
    const plan = this.plan(record, messages, endUser);
    const assigned = record.mode === 'handoff' && record.handoff?.state === 'assigned';
    if (!assigned && (plan.joined || plan.toSend.length > 0)) {
      // An agent joined, or wrote (taken from the queue, or a person took over the bot's chat).
      const name = plan.joined?.name ?? plan.toSend[0]?.senderFullname;
      await this.o.handoff.accept(convKey, gen, name ?? undefined);
    }
    if (plan.toSend.length > 0) {
      const outcome = await this.send(convKey, gen, plan.toSend, inbox);
      if (outcome !== 'sent') return outcome;
    }
    if (plan.closed || inbox.closed.has(gen)) await this.o.handoff.close(convKey, gen);
    // What was handled is settled in the record; drop the webhook copies.
    for (const [id, m] of inbox.messages) if (m.gen <= gen) inbox.messages.delete(id);
    for (const g of inbox.closed) if (g <= gen) inbox.closed.delete(g);
    if (inbox.messages.size > 0 || inbox.closed.size > 0) return 'again';
    return this.done(convKey);
  }

  private done(convKey: string): 'idle' {
    this.inboxes.delete(convKey);
    return 'idle';
  }

  /** The current request's messages: from Tiledesk, or from the webhooks when it cannot be read. */
  private async messagesOf(
    convKey: string,
    record: ConversationRecord,
    inbox: Inbox,
  ): Promise<{ messages: TiledeskMessage[]; endUser: string }> {
    const received = [...inbox.messages.values()].filter((m) => m.gen === record.gen);
    let list: TiledeskMessage[] = received;
    const user = this.o.mirror.endUserOf(record);
    let endUser = user.id;
    if (record.opened) {
      try {
        const { token, tiledeskId } = await this.o.credentials.endUser(user, false);
        endUser = tiledeskId;
        const listed = await this.o.api.getMessages(
          token,
          this.o.mirror.requestId(convKey, record),
        );
        const ids = new Set(listed.map((m) => m._id));
        list = [...listed, ...received.filter((m) => !ids.has(m._id))];
      } catch (err) {
        this.o.onError(asTiledeskError(err, 'TILEDESK_HTTP', { convKey, step: 'read messages' }));
      }
    }
    return { messages: list.sort(byCreation), endUser };
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
      else if (kind.kind === 'agent' && !closed && !isDelivered(record, refOf(m))) toSend.push(m);
    }
    return { joined, closed, toSend };
  }

  /** Claim → send in order → mark. */
  private async send(
    convKey: string,
    gen: number,
    messages: TiledeskMessage[],
    inbox: Inbox,
  ): Promise<'sent' | 'idle' | { retryInMs: number }> {
    const now = this.o.clock.now();
    const me = this.o.instanceId;
    const { result: claim, snapshot } = await this.o.store.update(convKey, (current) => {
      if (!current) return { result: {} as ReturnType<typeof claimDelivery> };
      const c = claimDelivery(current, gen, messages.map(refOf), me, now, this.o.leaseMs);
      return { next: c.next, result: c };
    });
    if (claim.busyUntil !== undefined) {
      return { retryInMs: Math.min(Math.max(claim.busyUntil - now, 1), CLAIM_POLL_MS) };
    }
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
    const permanent = failure !== undefined && isPermanentChannelError(failure);
    const pause = failure !== undefined && !permanent && this.pauses(inbox);
    if (permanent || pause) {
      const failed = claim.granted.slice(sent.length);
      this.o.onError(
        new TiledeskError(
          'TILEDESK_DELIVERY',
          permanent
            ? 'The channel refuses agent messages for this conversation; they are dropped'
            : 'Could not deliver agent messages to the user; trying again at the next catch-up',
          {
            convKey,
            messages: failed.map((m) => m.id),
            cause: failure instanceof Error ? failure.message : String(failure),
          },
        ),
      );
      // Refused for good (the conversation is gone): settled, so it never blocks the others.
      // Failing for long: left undelivered; the periodic catch-up and the user's next message
      // try again, so it is never lost.
      if (permanent) sent.push(...failed);
    }
    await this.o.store.update(convKey, (current) => ({
      next: current && markDelivered(current, gen, sent, me),
      result: undefined,
    }));
    if (failure === undefined || permanent || pause) {
      inbox.attempts = 0;
      inbox.failingSince = undefined;
      return failure === undefined ? 'sent' : 'idle';
    }
    inbox.attempts++;
    return { retryInMs: backoffMs(inbox.attempts, this.o.random, undefined, 250, 30_000) };
  }

  /** A send has failed for `maxAgeMs`: stop retrying actively (the catch-up resumes it). */
  private pauses(inbox: Inbox): boolean {
    const now = this.o.clock.now();
    inbox.failingSince ??= now;
    return now - inbox.failingSince >= this.o.maxAgeMs;
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
