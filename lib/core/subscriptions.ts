import { z } from 'zod';
import {
  asTiledeskError,
  TiledeskApiError,
  TiledeskError,
  type TiledeskErrorCode,
} from '../errors';
import { bareMessage, type Logger } from '../logger';
import type { TiledeskApi } from '../tiledesk/client';
import type { Credentials } from './credentials';
import { storageKeys } from './ids';
import type { VersionedStorage } from '../storage/versioned-storage';
import type { Clock } from './types';

/**
 * Makes sure Tiledesk delivers our webhooks (tiledesk-api.md §5.1–§5.2) and keeps the secrets
 * needed to verify them. Tiledesk returns a subscription's secret only when it is created, so the
 * secrets live in the bot's storage: every instance and every restart can verify deliveries,
 * and a subscription whose secret we lost is deleted and created again. Idempotent.
 */

const Stored = z.object({
  byEvent: z.record(
    z.string(),
    z.object({ id: z.string(), target: z.string(), secret: z.string() }),
  ),
});
type Stored = z.infer<typeof Stored>;
type StoredEntry = Stored['byEvent'][string];

export interface SubscriptionsOptions {
  api: TiledeskApi;
  credentials: Credentials;
  storage: VersionedStorage;
  clock: Clock;
  logger: Logger;
  channelName: string;
  webhookUrl: string;
  /** More events to subscribe to (e.g. `event.emit.typing.start`). */
  extraEvents?: readonly string[];
}

/** Reload stored secrets at most this often when a delivery's secret is unknown. */
const RELOAD_INTERVAL_MS = 10_000;

/** One of our subscriptions, as deliveries are checked against it. */
export interface KnownHook {
  id: string;
  event: string;
  secret: string;
}

/** What the last `ensure()` found for each event (for `health()`). */
export type SubscriptionState = 'found' | 'created' | 'missing' | 'unknown';

export interface SubscriptionsStatus {
  /** When `ensure()` last finished (well or not); undefined before. */
  checkedAt: number | undefined;
  events: { event: string; state: SubscriptionState; id?: string }[];
  /** Why the last `ensure()` failed (no secret in it). */
  error?: { code: TiledeskErrorCode; message: string };
}

export class Subscriptions {
  private hooks: KnownHook[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;
  private states = new Map<string, { state: SubscriptionState; id?: string }>();
  private checkedAt: number | undefined;
  private lastError: TiledeskError | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly o: SubscriptionsOptions) {}

  get events(): string[] {
    return webhookEvents(this.o.channelName, this.o.extraEvents ?? []);
  }

  /**
   * Idempotent, and safe with several instances starting at once: the stored map is written by
   * compare-and-set; an instance that loses the race deletes the subscriptions it created and
   * adopts the winner's, so each event ends with one subscription and every instance knows its
   * secret.
   */
  async ensure(): Promise<void> {
    try {
      await this.ensureOnce();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = startError(err);
      throw this.lastError;
    } finally {
      this.checkedAt = this.o.clock.now();
    }
  }

  /** For `health()`: each event's subscription as the last `ensure()` left it. */
  status(): SubscriptionsStatus {
    return {
      checkedAt: this.checkedAt,
      events: this.events.map((event) => ({
        event,
        ...(this.states.get(event) ?? { state: 'unknown' as const }),
      })),
      ...(this.lastError
        ? { error: { code: this.lastError.code, message: bareMessage(this.lastError) } }
        : {}),
    };
  }

  private async ensureOnce(): Promise<void> {
    const token = await this.o.credentials.admin();
    const existing = await this.o.api.listSubscriptions(token);
    const live = (entry: StoredEntry | undefined) =>
      entry !== undefined &&
      entry.target === this.o.webhookUrl &&
      existing.some((s) => s._id === entry.id && s.target === this.o.webhookUrl);
    const created = new Map<string, StoredEntry>();
    const missing = new Set<string>();
    for (;;) {
      const { stored, eTag } = await this.read();
      for (const event of this.events) {
        if (live(stored.byEvent[event]) || created.has(event) || missing.has(event)) continue;
        const sub = await this.o.api.createSubscription(token, event, this.o.webhookUrl);
        if (!sub.secret || sub.target !== this.o.webhookUrl) {
          // A duplicate answers the project's first subscription of the event (§5.1).
          this.o.logger.warn('subscription.other_target', { event, id: sub._id });
          missing.add(event);
          continue;
        }
        created.set(event, { id: sub._id, target: sub.target, secret: sub.secret });
        this.o.logger.info('subscription.created', { event, id: sub._id });
      }
      // Another instance's entry that is live wins over ours.
      const losers: string[] = [];
      for (const [event, entry] of created) {
        const theirs = stored.byEvent[event];
        // A duplicate POST answers the winner's own subscription (§5.1): same id, not a loser.
        if (live(theirs)) {
          if (theirs!.id !== entry.id) losers.push(entry.id);
        } else stored.byEvent[event] = entry;
      }
      const key = storageKeys.subscriptions(this.o.channelName);
      const value = { byEvent: stored.byEvent };
      const written =
        eTag === undefined
          ? await this.o.storage.create(key, value)
          : await this.o.storage.replace(key, value, eTag);
      if (written === null) continue; // someone else wrote: read again and merge
      for (const id of losers) await this.o.api.deleteSubscription(token, id);
      const kept = new Set(Object.values(stored.byEvent).map((e) => e.id));
      for (const stale of existing) {
        const ours = this.events.includes(stale.event) && stale.target === this.o.webhookUrl;
        if (ours && !kept.has(stale._id)) await this.o.api.deleteSubscription(token, stale._id);
      }
      this.remember(stored);
      for (const event of this.events) {
        const entry = stored.byEvent[event];
        if (missing.has(event) || !entry) this.states.set(event, { state: 'missing' });
        else
          this.states.set(event, { state: created.has(event) ? 'created' : 'found', id: entry.id });
      }
      if (missing.size > 0) {
        throw new TiledeskError(
          'TILEDESK_SUBSCRIPTION_MISSING',
          `No webhook subscription of ours for ${[...missing].join(', ')}: Tiledesk answered another target's`,
          {
            events: [...missing],
            reason: 'Tiledesk answered another target’s subscription for the event',
            fix: 'delete the other subscription of the event, or run `npx botbuilder-tiledesk doctor`',
          },
        );
      }
      return;
    }
  }

  /**
   * Our subscriptions (id, event, secret), as stored; reloaded from storage (rate-limited) when
   * `refresh` is asked for: another instance may have recreated one. Empty before any is known.
   */
  async known(refresh: boolean): Promise<readonly KnownHook[]> {
    const stale = this.o.clock.now() - this.loadedAt > RELOAD_INTERVAL_MS;
    // Rate-limited even while none is known: unauthenticated floods must not become reads.
    if ((this.hooks.length === 0 || refresh) && stale) {
      this.loadedAt = this.o.clock.now(); // attempts are rate-limited too (storage down)
      this.loading ??= this.read()
        .then(({ stored }) => this.remember(stored))
        .finally(() => (this.loading = undefined));
      await this.loading;
    }
    return this.hooks;
  }

  private async read(): Promise<{ stored: Stored; eTag: string | undefined }> {
    const key = storageKeys.subscriptions(this.o.channelName);
    const item = (await this.o.storage.read([key])).get(key);
    const parsed = Stored.safeParse(item?.value);
    return {
      stored: parsed.success ? { byEvent: { ...parsed.data.byEvent } } : { byEvent: {} },
      eTag: item?.eTag,
    };
  }

  private remember(stored: Stored): void {
    this.hooks = Object.entries(stored.byEvent).map(([event, e]) => ({
      id: e.id,
      event,
      secret: e.secret,
    }));
    this.loadedAt = this.o.clock.now();
  }
}

/**
 * What `start()` reports when subscribing failed: Tiledesk down or failing (network, timeout,
 * 5xx, 429) is `TILEDESK_UNREACHABLE`; a refusal of the subscription calls (403: the account is
 * not an admin of the project; 400: no such project) is `TILEDESK_SUBSCRIPTION_MISSING`; a
 * sign-in refusal keeps its `TILEDESK_SIGN_IN_FAILED`; storage failures keep theirs.
 */
function startError(err: unknown): TiledeskError {
  if (!(err instanceof TiledeskApiError)) return asTiledeskError(err, 'TILEDESK_STORAGE');
  if (err.code === 'TILEDESK_SIGN_IN_FAILED') return err;
  const step = err.path.startsWith('/auth/') ? 'sign in' : 'subscriptions';
  if (err.retryable) return err.withCode('TILEDESK_UNREACHABLE', { step, cause: err.code });
  if (step === 'subscriptions' && (err.status === 403 || err.status === 400)) {
    const reason =
      err.status === 403
        ? 'the account is not an admin of the project'
        : 'the project does not exist (check TiledeskProjectId)';
    return err.withCode('TILEDESK_SUBSCRIPTION_MISSING', { reason, step });
  }
  return err;
}

/** The events we subscribe to (the middleware and `doctor` alike). */
export function webhookEvents(channelName: string, extra: readonly string[] = []): string[] {
  return [`message.create.request.channel.${channelName}`, 'request.close', ...extra];
}
