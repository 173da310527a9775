import { timingSafeEqual } from 'node:crypto';
import { TiledeskError } from '../errors';
import type { Logger } from '../logger';
import { TiledeskMessage, WebhookEnvelope } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import { type ConversationStore, wasDelivered, withDelivered } from './conversation-store';
import type { Handoff } from './handoff';
import { OrderedQueue } from './ordered-queue';
import { toUserActivity } from './to-activity';
import type { Clock, ConversationRef, UserChannel } from './types';

/**
 * The framework-agnostic webhook receiver (Tiledesk → user direction). Order of checks, after
 * octokit/webhooks: content type and size, then the `x-hook-secret` (constant time), then the
 * zod envelope; then answer 200 at once (Tiledesk retries 3 times over ~8 s, §5.3) and process
 * in a per-request queue: human agents' messages go to the user once each, an agent joining
 * accepts the handoff, a close hands the conversation back to the bot.
 */

export interface WebhookRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON object, or the raw body as a string/Buffer. */
  body: unknown;
}

export interface WebhookResponse {
  status: number;
  body: { ok: true } | { error: string };
}

export interface WebhookReceiverOptions {
  store: ConversationStore;
  handoff: Handoff;
  user: UserChannel;
  clock: Clock;
  logger: Logger;
  knownSecrets(refresh: boolean): Promise<readonly string[]>;
  ownSenders: ReadonlySet<string>;
  onError(error: TiledeskError): void;
  /** Largest accepted body; Tiledesk's own JSON limit is 500 KB (§1.1). */
  maxBodyBytes?: number;
  /** How long a failed proactive send is retried. */
  deliveryMaxAgeMs?: number;
}

interface Work {
  event: string;
  requestId: string;
  message: TiledeskMessage | undefined;
  /** Set once this instance claimed the message in storage (dedupe across retries). */
  claimed?: ConversationRef;
}

export class WebhookReceiver {
  private readonly queue: OrderedQueue<Work>;
  private readonly maxBodyBytes: number;

  constructor(private readonly o: WebhookReceiverOptions) {
    this.maxBodyBytes = o.maxBodyBytes ?? 1024 * 1024;
    this.queue = new OrderedQueue<Work>({
      clock: o.clock,
      maxAgeMs: o.deliveryMaxAgeMs ?? 15 * 60 * 1000,
      process: (_key, work) => this.process(work),
      onDrop: (_key, work, error, attempts) =>
        o.onError(
          new TiledeskError(
            'TILEDESK_DELIVERY',
            `Could not deliver a Tiledesk ${work.event} to the user`,
            {
              requestId: work.requestId,
              messageId: work.message?._id,
              attempts,
              cause: error instanceof Error ? error.message : String(error),
            },
          ),
        ),
    });
  }

  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  get pending(): number {
    return this.queue.size;
  }

  async handle(request: WebhookRequest): Promise<WebhookResponse> {
    const contentType = header(request.headers, 'content-type');
    if (contentType !== undefined && !/^application\/(.+\+)?json\b/i.test(contentType)) {
      return reject(415, 'Content-Type must be application/json');
    }
    const length = Number(header(request.headers, 'content-length') ?? 0);
    if (length > this.maxBodyBytes) return reject(413, 'Body too large');
    if (!(await this.verify(header(request.headers, 'x-hook-secret')))) {
      return reject(401, 'Missing or wrong x-hook-secret');
    }
    const body = parseBody(request.body, this.maxBodyBytes);
    if (body === TOO_LARGE) return reject(413, 'Body too large');
    const envelope = WebhookEnvelope.safeParse(body);
    if (!envelope.success) return reject(400, 'Not a Tiledesk webhook envelope');
    const work = toWork(envelope.data);
    if (!work) return reject(400, 'Unexpected payload for this event');
    if (work !== IGNORED) this.queue.push(work.requestId, work);
    return { status: 200, body: { ok: true } };
  }

  /** Queues a message found by a catch-up, through the same checks as a delivery. */
  enqueueMessage(message: TiledeskMessage): void {
    const event = 'catch-up';
    this.queue.push(message.recipient, { event, requestId: message.recipient, message });
  }

  private async verify(given: string | undefined): Promise<boolean> {
    if (!given) return false;
    if (matchesAny(given, await this.o.knownSecrets(false))) return true;
    // Another instance may have recreated the subscription: reload once (rate-limited).
    return matchesAny(given, await this.o.knownSecrets(true));
  }

  private async process(work: Work): Promise<void> {
    const convKey = await this.o.store.conversationOfRequest(work.requestId);
    if (!convKey) {
      this.o.logger.debug('Tiledesk webhook for an unknown request ignored', {
        requestId: work.requestId,
      });
      return;
    }
    if (!work.message) return this.o.handoff.close(convKey, work.requestId);
    const delivery = classifyMessage(work.message, this.o.ownSenders);
    switch (delivery.kind) {
      case 'ignore':
        return;
      case 'closed':
        return this.o.handoff.close(convKey, work.requestId);
      case 'joined':
        return this.o.handoff.accept(convKey, work.requestId, delivery.agentName);
      case 'agent':
        return this.deliver(convKey, work, work.message);
    }
  }

  private async deliver(convKey: string, work: Work, message: TiledeskMessage): Promise<void> {
    if (!work.claimed) {
      let claimed = false;
      let takenOver = false;
      const record = await this.o.store.update(convKey, (r) => {
        if (r.requestId !== work.requestId || wasDelivered(r, message._id, message.createdAt))
          return undefined;
        claimed = true;
        // An agent writing to a conversation the bot still had means a human took it over.
        takenOver = r.mode !== 'handoff';
        const taken = !takenOver
          ? r
          : {
              ...r,
              mode: 'handoff' as const,
              handoff: { at: this.o.clock.now(), trigger: 'agent', accepted: true },
            };
        return withDelivered(taken, message._id, message.createdAt);
      });
      if (!claimed || !record) return;
      if (takenOver) await this.o.handoff.tracked(convKey);
      work.claimed = record.reference;
    }
    try {
      await this.o.user.sendAgentActivities(work.claimed, [toUserActivity(message)]);
    } catch (err) {
      this.o.logger.warn('Sending an agent message to the user failed; retrying', {
        requestId: work.requestId,
        messageId: message._id,
        error: err instanceof Error ? err.message : String(err),
      });
      throw Object.assign(new Error('proactive send failed'), { retryable: true });
    }
  }
}

const IGNORED = Symbol('ignored');
const TOO_LARGE = Symbol('too large');

function toWork(envelope: WebhookEnvelope): Work | typeof IGNORED | undefined {
  const event = envelope.hook.event;
  if (event === 'request.close') {
    const id = envelope.payload['request_id'];
    return typeof id === 'string' ? { event, requestId: id, message: undefined } : undefined;
  }
  if (event.startsWith('message.create')) {
    const message = TiledeskMessage.safeParse(envelope.payload);
    if (!message.success) return undefined;
    return { event, requestId: message.data.recipient, message: message.data };
  }
  return IGNORED;
}

function parseBody(body: unknown, max: number): unknown {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return body;
  if (body.length > max) return TOO_LARGE;
  try {
    return JSON.parse(body.toString()) as unknown;
  } catch {
    return undefined;
  }
}

/** The known secrets as buffers, made once per list the subscriptions hand out. */
const buffers = new WeakMap<readonly string[], Buffer[]>();

/**
 * Constant time over the content, against every known secret. Only the length can leak, and
 * Tiledesk's secrets are UUIDs (tiledesk-api.md §5.1): their length is no secret. (Hashing
 * both sides to hide it cost ~20 µs per delivery.)
 */
function matchesAny(given: string, secrets: readonly string[]): boolean {
  let expected = buffers.get(secrets);
  if (!expected) {
    expected = secrets.map((s) => Buffer.from(s));
    buffers.set(secrets, expected);
  }
  const candidate = Buffer.from(given);
  let match = false;
  for (const e of expected) {
    match = (e.length === candidate.length && timingSafeEqual(candidate, e)) || match;
  }
  return match;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    // Node lower-cases header names; other hosts may not.
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  return Array.isArray(value) ? value[0] : value;
}

function reject(status: number, error: string): WebhookResponse {
  return { status, body: { error } };
}
