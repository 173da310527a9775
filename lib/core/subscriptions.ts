import { z } from 'zod';
import type { Logger } from '../logger';
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

export class Subscriptions {
  private secrets: string[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: SubscriptionsOptions) {}

  get events(): string[] {
    return [
      `message.create.request.channel.${this.o.channelName}`,
      'request.close',
      ...(this.o.extraEvents ?? []),
    ];
  }

  /**
   * Idempotent, and safe with several instances starting at once: the stored map is written by
   * compare-and-set; an instance that loses the race deletes the subscriptions it created and
   * adopts the winner's, so each event ends with one subscription and every instance knows its
   * secret.
   */
  async ensure(): Promise<void> {
    const token = await this.o.credentials.admin();
    const existing = await this.o.api.listSubscriptions(token);
    const live = (entry: StoredEntry | undefined) =>
      entry !== undefined &&
      entry.target === this.o.webhookUrl &&
      existing.some((s) => s._id === entry.id && s.target === this.o.webhookUrl);
    const created = new Map<string, StoredEntry>();
    for (;;) {
      const { stored, eTag } = await this.read();
      for (const event of this.events) {
        if (live(stored.byEvent[event]) || created.has(event)) continue;
        const sub = await this.o.api.createSubscription(token, event, this.o.webhookUrl);
        if (!sub.secret || sub.target !== this.o.webhookUrl) {
          this.o.logger.warn(
            'Tiledesk answered a subscription for another target; webhooks may not arrive',
            { event },
          );
          continue;
        }
        created.set(event, { id: sub._id, target: sub.target, secret: sub.secret });
        this.o.logger.info('Tiledesk subscription created', { event, id: sub._id });
      }
      // Another instance's entry that is live wins over ours.
      const losers: string[] = [];
      for (const [event, entry] of created) {
        if (live(stored.byEvent[event])) losers.push(entry.id);
        else stored.byEvent[event] = entry;
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
      return;
    }
  }

  /** Known secrets; reloaded from storage (rate-limited) when `refresh` is asked for. */
  async knownSecrets(refresh: boolean): Promise<readonly string[]> {
    const stale = this.o.clock.now() - this.loadedAt > RELOAD_INTERVAL_MS;
    if (this.secrets.length === 0 || (refresh && stale)) this.remember((await this.read()).stored);
    return this.secrets;
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
    this.secrets = [...new Set(Object.values(stored.byEvent).map((s) => s.secret))];
    this.loadedAt = this.o.clock.now();
  }
}
