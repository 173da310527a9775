/**
 * Webhook (REST hook) delivery, as in tiledesk-api.md §5.2-5.3
 * (`S:services/subscriptionNotifier.js#L63-160`, retries by `retry-request`).
 */
import http from 'node:http';
import https from 'node:https';
import jwt from 'jsonwebtoken';
import type { StandInDelivery, StandInSubscription } from './types';
import { TimerSet } from './util';

const ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 10_000;

class DeliveryRecord implements StandInDelivery {
  private parsed: unknown;
  private isParsed = false;
  readonly at = Date.now();

  constructor(
    readonly event: string,
    readonly target: string,
    readonly attempt: number,
    readonly status: number | 'error',
    readonly subscriptionId: string,
    private readonly json: string,
  ) {}

  get body(): unknown {
    if (!this.isParsed) {
      this.parsed = JSON.parse(this.json);
      this.isParsed = true;
    }
    return this.parsed;
  }
}

export interface WebhookOptions {
  projectId: string;
  origin: string;
  retryDelaysMs: number[];
  subscriptions: () => Iterable<StandInSubscription>;
}

export class WebhookDispatcher {
  readonly deliveries: StandInDelivery[] = [];
  private readonly timers = new TimerSet();
  private readonly inFlight = new Set<http.ClientRequest>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly tokenCache = new Map<string, string>();

  constructor(private readonly opts: WebhookOptions) {}

  /**
   * Emits several event names with the same payload. `payload` is called (and serialised) once,
   * synchronously, only if some subscription matches: later state changes do not leak into it.
   */
  emit(events: readonly string[], payload: () => unknown): void {
    if (this.timers.isStopped) return;
    let json: string | undefined;
    for (const sub of this.opts.subscriptions()) {
      if (sub.id_project !== this.opts.projectId || !events.includes(sub.event)) continue;
      json ??= JSON.stringify(payload());
      const hook = {
        _id: sub._id,
        event: sub.event,
        target: sub.target,
        id_project: sub.id_project,
        createdBy: sub.createdBy,
        createdAt: sub.createdAt,
        updatedAt: sub.updatedAt,
        __v: sub.__v,
      };
      const timestamp = Date.now();
      const hookJson = JSON.stringify(hook);
      const body =
        `{"timestamp":${timestamp},"payload":${json},"hook":${hookJson},` +
        `"token":${JSON.stringify(this.token(sub, hook, hookJson, timestamp))}}`;
      // Delivery happens after the API call has been handled, never inline (§5.3, §7 ordering).
      this.timers.soon(() => this.attempt(sub, body, 1));
    }
  }

  /** JWT of the hook fields + iat/aud/iss/sub, HS256 with the subscription secret (§1.6). */
  private token(
    sub: StandInSubscription,
    hook: object,
    hookJson: string,
    timestamp: number,
  ): string {
    const iat = Math.floor(timestamp / 1000);
    const key = `${iat}:${hookJson}`;
    let token = this.tokenCache.get(key);
    if (!token) {
      if (this.tokenCache.size > 1000) this.tokenCache.clear();
      token = jwt.sign({ ...hook, iat }, sub.secret, {
        audience: 'https://tiledesk.com/subscriptions/' + sub._id,
        issuer: 'https://tiledesk.com',
        subject: 'subscription',
      });
      this.tokenCache.set(key, token);
    }
    return token;
  }

  private attempt(sub: StandInSubscription, body: string, attempt: number): void {
    if (this.timers.isStopped) return;
    let url: URL;
    try {
      url = new URL(sub.target);
    } catch {
      this.finish(sub, body, attempt, 'error');
      return;
    }
    const isHttps = url.protocol === 'https:';
    const req = (isHttps ? https : http).request(url, {
      method: 'POST',
      agent: isHttps ? this.httpsAgent : this.httpAgent,
      timeout: ATTEMPT_TIMEOUT_MS,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'x-hook-secret': sub.secret,
        'User-Agent': 'tiledesk-webhooks',
        Origin: this.opts.origin,
        accept: 'application/json',
      },
    });
    this.inFlight.add(req);
    let done = false;
    const settle = (status: number | 'error'): void => {
      if (done) return;
      done = true;
      this.inFlight.delete(req);
      this.finish(sub, body, attempt, status);
    };
    req.on('response', (res) => {
      res.resume(); // the response body is ignored (§5.3)
      res.on('end', () => settle(res.statusCode ?? 'error'));
      res.on('error', () => settle('error'));
    });
    req.on('timeout', () => req.destroy(new Error('webhook attempt timed out')));
    req.on('error', () => settle('error'));
    req.end(body);
  }

  private finish(
    sub: StandInSubscription,
    body: string,
    attempt: number,
    status: number | 'error',
  ): void {
    if (this.timers.isStopped) return;
    this.deliveries.push(new DeliveryRecord(sub.event, sub.target, attempt, status, sub._id, body));
    // retry-request: network error, 1xx, 429, 5xx are retried; 2xx/3xx/4xx are final (§5.3).
    const retry = status === 'error' || status < 200 || status === 429 || status >= 500;
    if (!retry || attempt >= ATTEMPTS) return;
    const delays = this.opts.retryDelaysMs;
    const delay = delays[attempt - 1] ?? delays[delays.length - 1] ?? 0;
    // The same body (same timestamp, hook, token) is re-sent (§5.3).
    this.timers.after(delay, () => this.attempt(sub, body, attempt + 1));
  }

  /** Deliveries scheduled, waiting for a retry, or in flight. */
  get pending(): number {
    return this.timers.size + this.inFlight.size;
  }

  stop(): void {
    this.timers.clear();
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
