import type { Logger } from '../logger';

/** Why a webhook delivery was refused (a non-2xx answer), as counted in `health()`. */
export type WebhookRefusal =
  /** `x-hook-secret` missing or not one of our subscriptions' secrets → 401 */
  | 'secret'
  /** we know no subscription secret yet (never subscribed, storage unreadable) → 503 */
  | 'not_ready'
  /** not `application/json` → 415 */
  | 'content_type'
  /** `Content-Length` or the body itself above the cap → 413 */
  | 'too_large'
  /** too many bodies being read from the same address → 429 */
  | 'busy'
  /** the body did not arrive within the time limit → 408, connection closed */
  | 'timeout'
  /** the client went away mid-body (no answer possible) */
  | 'aborted'
  /** not JSON → 400 */
  | 'malformed'
  /** JSON, but not `{timestamp, payload, hook, token}` → 400 */
  | 'envelope'
  /** `hook.id_project` or the payload's `id_project` is not ours → 403 */
  | 'project'
  /** `hook._id` is not one of our subscriptions (or its secret is another's) → 403 */
  | 'hook'
  /** `token` missing, forged, or naming another hook, event or project → 403 */
  | 'token'
  /** `token` issued too long ago (or in the future) → 403 */
  | 'stale'
  /** the payload does not fit the event (a message without recipient…) → 400 */
  | 'payload';

/** Deliveries answered 200 but not processed. */
export type WebhookIgnored =
  /** same (hook, timestamp, payload id) as one already accepted: Tiledesk's retry, or a replay */
  | 'replay'
  /** a request that is not one of ours (another bot's, or `request.close` of any request) */
  | 'unknown_request'
  /** our Tiledesk bot told of an end-user message (`TiledeskMirrorVisibility=bot`): checked, dropped */
  | 'bot_notification';

export interface WebhookStatsSnapshot {
  accepted: number;
  lastAcceptedAt: number | undefined;
  lastRefusedAt: number | undefined;
  refused: Partial<Record<WebhookRefusal, number>>;
  ignored: Partial<Record<WebhookIgnored, number>>;
}

/** A refusal reason is logged at warn level at most this often (the rest at debug). */
const LOG_EVERY_MS = 60_000;

/** Counters of the webhook endpoint, and a throttled `webhook.refused` warning. */
export class WebhookStats {
  private accepted = 0;
  private lastAcceptedAt: number | undefined;
  private lastRefusedAt: number | undefined;
  private readonly refused: Partial<Record<WebhookRefusal, number>> = {};
  private readonly ignoredBy: Partial<Record<WebhookIgnored, number>> = {};
  private readonly logged = new Map<WebhookRefusal, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  accept(now: number): void {
    this.accepted++;
    this.lastAcceptedAt = now;
  }

  ignore(reason: WebhookIgnored, fields: Record<string, unknown>): void {
    this.ignoredBy[reason] = (this.ignoredBy[reason] ?? 0) + 1;
    this.logger.debug('webhook.ignored', { reason, ...fields });
  }

  refuse(reason: WebhookRefusal, now: number, fields: Record<string, unknown>): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.lastRefusedAt = now;
    const last = this.logged.get(reason);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      this.logger.debug('webhook.refused', { reason, ...fields });
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.logged.set(reason, { at: now, suppressed: 0 });
    this.logger.warn('webhook.refused', {
      reason,
      ...fields,
      ...(suppressed ? { suppressed } : {}),
    });
  }

  snapshot(): WebhookStatsSnapshot {
    return {
      accepted: this.accepted,
      lastAcceptedAt: this.lastAcceptedAt,
      lastRefusedAt: this.lastRefusedAt,
      refused: { ...this.refused },
      ignored: { ...this.ignoredBy },
    };
  }
}

/**
 * Deliveries already accepted, by (hook id, timestamp, payload id), for `windowMs` and at most
 * `max` of them (oldest forgotten first): memory stays bounded under any flood. A delivery
 * forgotten early and sent again is processed again, which is harmless (delivery is
 * idempotent: what was sent to the user is recorded); this only saves the work.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  has(key: string, now: number): boolean {
    const until = this.seen.get(key);
    return until !== undefined && until > now;
  }

  add(key: string, now: number): void {
    this.seen.delete(key);
    this.seen.set(key, now + this.windowMs);
    for (const [k, until] of this.seen) {
      if (this.seen.size <= this.max && until > now) break;
      this.seen.delete(k);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
