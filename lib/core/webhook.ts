import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../logger';
import { TiledeskMessage, WebhookEnvelope } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import type { Delivery } from './delivery';
import { parseRequestId } from './ids';
import { parseTypingEvent, TYPING_EVENT, type TypingSignal } from './typing';

/**
 * The framework-agnostic webhook receiver (Tiledesk → user direction). Order of checks, after
 * octokit/webhooks: content type and size, then the `x-hook-secret` (constant time), then the
 * zod envelope; then answer 200 at once (Tiledesk retries 3 times over ~8 s, §5.3). What matters
 * (an agent's message, an agent joining, a close) is handed to `Delivery` for the conversation
 * the request id names; our own echoes, notes and requests of others cost no storage at all.
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
  delivery: Delivery;
  projectId: string;
  logger: Logger;
  knownSecrets(refresh: boolean): Promise<readonly string[]>;
  ownSenders: ReadonlySet<string>;
  /** An agent typing in a request of ours (`event.emit.typing.start`, typing.ts); absent: ignored. */
  typing?(convKey: string, generation: number, signal: TypingSignal): void;
  /** Largest accepted body; Tiledesk's own JSON limit is 500 KB (§1.1). */
  maxBodyBytes?: number;
}

export class WebhookReceiver {
  private readonly maxBodyBytes: number;

  constructor(private readonly o: WebhookReceiverOptions) {
    this.maxBodyBytes = o.maxBodyBytes ?? 1024 * 1024;
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
    if (work !== IGNORED) this.dispatch(work);
    return { status: 200, body: { ok: true } };
  }

  private dispatch(work: Work): void {
    const ours = parseRequestId(this.o.projectId, work.requestId);
    if (!ours) {
      this.o.logger.debug('Tiledesk webhook for another request ignored', {
        requestId: work.requestId,
      });
      return;
    }
    if (work.typing) {
      this.o.typing?.(ours.convKey, ours.generation, work.typing);
      return;
    }
    if (work.message) {
      const kind = classifyMessage(work.message, this.o.ownSenders).kind;
      if (kind === 'ignore') return;
    }
    this.o.delivery.notify(ours.convKey, ours.generation, work.message);
  }

  private async verify(given: string | undefined): Promise<boolean> {
    if (!given) return false;
    if (matchesAny(given, await this.o.knownSecrets(false))) return true;
    // Another instance may have recreated the subscription: reload once (rate-limited).
    return matchesAny(given, await this.o.knownSecrets(true));
  }
}

interface Work {
  requestId: string;
  message: TiledeskMessage | undefined;
  typing?: TypingSignal;
}

const IGNORED = Symbol('ignored');
const TOO_LARGE = Symbol('too large');

function toWork(envelope: WebhookEnvelope): Work | typeof IGNORED | undefined {
  const event = envelope.hook.event;
  if (event === 'request.close') {
    const id = envelope.payload['request_id'];
    return typeof id === 'string' ? { requestId: id, message: undefined } : undefined;
  }
  if (event.startsWith('message.create')) {
    const message = TiledeskMessage.safeParse(envelope.payload);
    if (!message.success) return undefined;
    return { requestId: message.data.recipient, message: message.data };
  }
  if (event === TYPING_EVENT) {
    const typing = parseTypingEvent(envelope.payload);
    return typing ? { requestId: typing.requestId, message: undefined, typing } : undefined;
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
