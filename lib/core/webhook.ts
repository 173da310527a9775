import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { TiledeskMessage, WebhookEnvelope } from '../tiledesk/wire';
import { BOT_USER_AGENT, checkBotNotification } from './bot-notification';
import { BodyReader, header, type WebhookReadLimits } from './webhook-body';

export { type WebhookReadLimits, WebhookReadError } from './webhook-body';
import { classifyMessage } from './classify-delivery';
import type { Delivery } from './delivery';
import { parseRequestId } from './ids';
import { type JoinedAgent, joinedAgentOf, REQUEST_UPDATE_EVENT } from './request-update';
import type { KnownHook } from './subscriptions';
import type { KnownBot } from './tiledesk-bot';
import { type Clock, systemClock } from './types';
import { checkToken, isSecretOf, payloadProject, secretMatches } from './webhook-checks';
import {
  ReplayGuard,
  type WebhookIgnored,
  type WebhookRefusal,
  WebhookStats,
  type WebhookStatsSnapshot,
} from './webhook-stats';

export type { WebhookRefusal, WebhookIgnored } from './webhook-stats';
import { parseTypingEvent, TYPING_EVENT, type TypingSignal } from './typing';

/**
 * The framework-agnostic webhook receiver (Tiledesk → user direction).
 *
 * Order of checks, cheapest and least revealing first:
 * 1. headers only, before a byte of the body is read: `x-hook-secret` (401; 503 while we know no
 *    secret at all), JSON content type (415), declared length (413), reads in progress from the
 *    same address (429);
 * 2. the body, read with a size cap (413) and a time limit (408);
 * 3. JSON (400), envelope (400), our project (403), one of our subscriptions (403), its signed
 *    `token` (403), not stale (403);
 * 4. already accepted (same hook, timestamp, payload id) → 200, not processed again;
 * 5. a request of ours, else 200 and ignored (`request.close` fires for every request).
 * Then 200 at once: the work is handed to `Delivery` (Tiledesk retries 3 times over ~8 s, §5.3).
 *
 * Status codes: Tiledesk retries network errors, 1xx, 429 and 5xx only (§5.3), so everything
 * hostile or malformed gets a 4xx (no pointless retries), and only our own transient states get
 * 429/503 (retried). Every refusal is counted by reason (`health()`).
 */

export interface WebhookRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * The body, when the host has read it already: the parsed JSON object, or the raw text/Buffer.
   * Prefer `readBody`: a body read before the checks costs memory to whoever sends one.
   */
  body?: unknown;
  /**
   * Reads the raw body within the limits; called only once the headers passed. Rejects with a
   * {@link WebhookReadError}.
   */
  readBody?(limits: WebhookReadLimits): Promise<Buffer>;
  /** The peer's address: concurrent body reads are capped per address. */
  remoteAddress?: string | undefined;
}

export interface WebhookResponse {
  status: number;
  body: { ok: true } | { error: string };
  /** Extra response headers (`Retry-After`). */
  headers?: Record<string, string>;
}

export interface WebhookReceiverOptions {
  delivery: Pick<Delivery, 'notify' | 'joined'>;
  projectId: string;
  logger: Logger;
  /** Our subscriptions; `refresh` asks for a (rate-limited) reload from storage. */
  known(refresh: boolean): Promise<readonly KnownHook[]>;
  ownSenders: ReadonlySet<string>;
  /**
   * Our Tiledesk bot (`TiledeskMirrorVisibility=bot`), whose notifications are accepted and
   * dropped; `refresh` reloads it from storage. Absent: such POSTs are refused like any other.
   */
  bot?(refresh: boolean): Promise<KnownBot | undefined>;
  /** An agent typing in a request of ours (`event.emit.typing.start`, typing.ts); absent: ignored. */
  typing?(convKey: string, generation: number, signal: TypingSignal): void;
  clock?: Clock;
  /** Largest accepted body (default 1 MiB); Tiledesk's own JSON limit is 500 KB (§1.1). */
  maxBodyBytes?: number;
  /** How long a body may take to arrive (default 10 s). */
  readTimeoutMs?: number;
  /** Bodies read at the same time from one address (default 16). */
  maxReadsPerSource?: number;
}

/** A signed `iat` further than this from our clock is refused (replays, clock trouble). */
export const MAX_TOKEN_AGE_MS = 15 * 60 * 1000;
/** Accepted deliveries remembered for replay detection (each ~150 bytes). */
const REPLAY_MEMORY = 20_000;

export const SECRET_ERROR = 'Missing or wrong x-hook-secret';
export const PROBE_HEADER = 'x-botbuilder-tiledesk-probe';

export class WebhookReceiver {
  /** Sent by our own reachability probe (`health`), so its 401 is not counted as a refusal. */
  readonly probeToken = randomUUID();
  private readonly clock: Clock;
  private readonly bodies: BodyReader;
  private readonly stats: WebhookStats;
  private readonly replays = new ReplayGuard(MAX_TOKEN_AGE_MS * 2, REPLAY_MEMORY);
  private lastProbeAt: number | undefined;

  constructor(private readonly o: WebhookReceiverOptions) {
    this.clock = o.clock ?? systemClock;
    this.bodies = new BodyReader(o.logger, {
      maxBytes: o.maxBodyBytes ?? 1024 * 1024,
      timeoutMs: o.readTimeoutMs ?? 10_000,
      maxReadsPerSource: o.maxReadsPerSource ?? 16,
    });
    this.stats = new WebhookStats(o.logger);
  }

  /** Counters for `health()`. */
  snapshot(): WebhookStatsSnapshot & { lastProbeAt: number | undefined; readsInProgress: number } {
    const readsInProgress = this.bodies.inProgress();
    return { ...this.stats.snapshot(), lastProbeAt: this.lastProbeAt, readsInProgress };
  }

  async handle(request: WebhookRequest): Promise<WebhookResponse> {
    const remote = request.remoteAddress ?? 'unknown';
    const refuse: Refuse = (reason, status, error, extra = {}) => {
      this.stats.refuse(reason, this.clock.now(), { status, remote, ...extra });
      return respond(status, error, status === 429 || status === 503 ? { 'retry-after': '5' } : {});
    };

    // 1. Headers only.
    const given = header(request.headers, 'x-hook-secret');
    if (!given && this.o.bot && header(request.headers, 'user-agent') === BOT_USER_AGENT) {
      return this.handleBot(request, remote, refuse);
    }
    if (!given) {
      if (header(request.headers, PROBE_HEADER) === this.probeToken) {
        this.lastProbeAt = this.clock.now();
        return respond(401, SECRET_ERROR);
      }
      return refuse('secret', 401, SECRET_ERROR);
    }
    let hooks: readonly KnownHook[];
    try {
      hooks = await this.o.known(false);
      if (hooks.length === 0 || !secretMatches(given, hooks)) hooks = await this.o.known(true);
    } catch {
      return refuse('not_ready', 503, 'Webhook secrets cannot be read right now');
    }
    if (hooks.length === 0) return refuse('not_ready', 503, 'No webhook subscription known yet');
    if (!secretMatches(given, hooks)) return refuse('secret', 401, SECRET_ERROR);
    const body = await this.readJson(request, remote, refuse);
    if (isResponse(body)) return body;

    // 3. Whose delivery is it?
    const parsed = WebhookEnvelope.safeParse(body);
    if (!parsed.success) return refuse('envelope', 400, 'Not a Tiledesk webhook envelope');
    const envelope = parsed.data;
    // The schema keeps only what the core reads; the checks read the hook as it came.
    const hookBody = (body as { hook: Record<string, unknown> }).hook;
    const hookId = typeof hookBody['_id'] === 'string' ? hookBody['_id'] : undefined;
    const projects = [hookBody['id_project'], payloadProject(envelope.payload)];
    if (
      hookBody['id_project'] === undefined ||
      projects.some((p) => p !== undefined && p !== this.o.projectId)
    ) {
      return refuse('project', 403, 'Not a delivery for this project', { hook: hookId });
    }
    let hook = hooks.find((h) => h.id === hookId);
    if (!hook) hook = (await this.o.known(true).catch(() => hooks)).find((h) => h.id === hookId);
    if (!hook || hook.event !== envelope.hook.event || !isSecretOf(given, hook)) {
      return refuse('hook', 403, 'Not a delivery of our subscriptions', { hook: hookId });
    }
    const token = checkToken(envelope.token, hook, hookBody, this.o.projectId);
    if (!token.ok) return refuse('token', 403, 'Invalid token', { hook: hookId, why: token.why });
    const now = this.clock.now();
    if (Math.abs(now - token.issuedAtMs) > MAX_TOKEN_AGE_MS) {
      return refuse('stale', 403, 'Delivery too old', { hook: hookId });
    }

    // 4. Already accepted?
    const payloadId = envelope.payload['_id'] ?? envelope.payload['request_id'];
    const key = `${hook.id}|${envelope.timestamp ?? token.issuedAtMs}|${String(payloadId)}`;
    if (this.replays.has(key, now)) {
      this.ignore('replay', { hook: hook.id });
      return OK;
    }

    // 5. What is it about?
    const work = toWork(envelope);
    if (!work) return refuse('payload', 400, 'Unexpected payload for this event');
    this.replays.add(key, now);
    this.stats.accept(now);
    if (work !== IGNORED) this.dispatch(work);
    return OK;
  }

  /** Content type, length, then the body read within the limits and parsed (or the refusal). */
  private async readJson(
    request: WebhookRequest,
    remote: string,
    refuse: Refuse,
  ): Promise<unknown> {
    const read = await this.bodies.read(request, remote);
    return read.ok ? read.body : refuse(read.reason, read.status, read.error);
  }

  /**
   * A Tiledesk bot notification (bot-notification.ts): our Tiledesk bot is told of each end-user
   * message. Checked like a delivery, then answered 200 and dropped (we mirror the user's
   * messages ourselves). Anything else without `x-hook-secret` is refused.
   */
  private async handleBot(
    request: WebhookRequest,
    remote: string,
    refuse: Refuse,
  ): Promise<WebhookResponse> {
    let bot = await this.o.bot!(false).catch(() => undefined);
    if (!bot) return refuse('secret', 401, SECRET_ERROR);
    const body = await this.readJson(request, remote, refuse);
    if (isResponse(body)) return body;
    let check = checkBotNotification(body, bot, this.o.projectId);
    if (!check.ok && check.reason === 'hook') {
      // Recreated by another instance meanwhile?
      bot = (await this.o.bot!(true).catch(() => undefined)) ?? bot;
      check = checkBotNotification(body, bot, this.o.projectId);
    }
    if (!check.ok) {
      const status = check.reason === 'envelope' ? 400 : 403;
      return refuse(check.reason, status, 'Not a notification of our Tiledesk bot', {
        why: check.why,
      });
    }
    const now = this.clock.now();
    if (Math.abs(now - check.issuedAtMs) > MAX_TOKEN_AGE_MS) {
      return refuse('stale', 403, 'Notification too old');
    }
    this.stats.accept(now);
    this.ignore('bot_notification', {});
    return OK;
  }

  private dispatch(work: Work): void {
    const ours = parseRequestId(this.o.projectId, work.requestId);
    if (!ours) {
      this.ignore('unknown_request', { requestId: work.requestId });
      return;
    }
    if (work.typing) {
      this.o.typing?.(ours.convKey, ours.generation, work.typing);
      return;
    }
    if (work.joined) {
      this.o.delivery.joined(ours.convKey, ours.generation, work.joined);
      return;
    }
    if (work.message) {
      const kind = classifyMessage(work.message, this.o.ownSenders).kind;
      if (kind === 'ignore') return;
    }
    this.o.delivery.notify(ours.convKey, ours.generation, work.message);
  }

  private ignore(reason: WebhookIgnored, fields: Record<string, unknown>): void {
    this.stats.ignore(reason, fields);
  }
}

interface Work {
  requestId: string;
  message: TiledeskMessage | undefined;
  typing?: TypingSignal;
  /** A person takes part in the request (request.update). */
  joined?: JoinedAgent;
}

const OK: WebhookResponse = { status: 200, body: { ok: true } };

type Refuse = (
  reason: WebhookRefusal,
  status: number,
  error: string,
  extra?: Record<string, unknown>,
) => WebhookResponse;

function isResponse(value: unknown): value is WebhookResponse {
  return value instanceof Object && RESPONSES.has(value);
}
const IGNORED = Symbol('ignored');

/** The refusals `respond` made: told apart from a parsed body by identity, never by shape. */
const RESPONSES = new WeakSet<object>();

function respond(status: number, error: string, headers: Record<string, string> = {}) {
  const response: WebhookResponse = { status, body: { error } };
  if (Object.keys(headers).length > 0) response.headers = headers;
  RESPONSES.add(response);
  return response;
}

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
  if (event === REQUEST_UPDATE_EVENT) {
    if (typeof envelope.payload['request_id'] !== 'string') return undefined;
    const joined = joinedAgentOf(envelope.payload);
    return joined
      ? { requestId: joined.requestId, message: undefined, joined: joined.agent }
      : IGNORED;
  }
  if (event === TYPING_EVENT) {
    const typing = parseTypingEvent(envelope.payload);
    return typing ? { requestId: typing.requestId, message: undefined, typing } : undefined;
  }
  return IGNORED;
}
