import { z } from 'zod';
import type { Logger } from '../logger';
import type { TiledeskApi } from '../tiledesk/client';
import type { Credentials } from './credentials';
import { storageKeys } from './ids';
import type { Clock, KeyValueStorage } from './types';

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

export interface SubscriptionsOptions {
  api: TiledeskApi;
  credentials: Credentials;
  storage: KeyValueStorage;
  clock: Clock;
  logger: Logger;
  channelName: string;
  webhookUrl: string;
}

/** Reload stored secrets at most this often when a delivery's secret is unknown. */
const RELOAD_INTERVAL_MS = 10_000;

export class Subscriptions {
  private secrets: string[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: SubscriptionsOptions) {}

  get events(): string[] {
    return [`message.create.request.channel.${this.o.channelName}`, 'request.close'];
  }

  async ensure(): Promise<void> {
    const token = await this.o.credentials.admin();
    const existing = await this.o.api.listSubscriptions(token);
    const stored = await this.read();
    for (const event of this.events) {
      const known = stored.byEvent[event];
      const matches = existing.filter((s) => s.event === event && s.target === this.o.webhookUrl);
      const keep = matches.find(
        (s) => known && s._id === known.id && known.target === this.o.webhookUrl,
      );
      if (keep) continue;
      for (const stale of matches) await this.o.api.deleteSubscription(token, stale._id);
      const created = await this.o.api.createSubscription(token, event, this.o.webhookUrl);
      if (!created.secret || created.target !== this.o.webhookUrl) {
        this.o.logger.warn(
          'Tiledesk answered a subscription for another target; webhooks may not arrive',
          {
            event,
          },
        );
        continue;
      }
      stored.byEvent[event] = { id: created._id, target: created.target, secret: created.secret };
      this.o.logger.info('Tiledesk subscription created', { event, id: created._id });
    }
    await this.o.storage.write({
      [storageKeys.subscriptions(this.o.channelName)]: { ...stored, eTag: '*' },
    });
    this.remember(stored);
  }

  /** Known secrets; reloaded from storage (rate-limited) when `refresh` is asked for. */
  async knownSecrets(refresh: boolean): Promise<readonly string[]> {
    const stale = this.o.clock.now() - this.loadedAt > RELOAD_INTERVAL_MS;
    if (this.secrets.length === 0 || (refresh && stale)) this.remember(await this.read());
    return this.secrets;
  }

  private async read(): Promise<Stored> {
    const key = storageKeys.subscriptions(this.o.channelName);
    const parsed = Stored.safeParse((await this.o.storage.read([key]))[key]);
    return parsed.success ? { byEvent: { ...parsed.data.byEvent } } : { byEvent: {} };
  }

  private remember(stored: Stored): void {
    this.secrets = [...new Set(Object.values(stored.byEvent).map((s) => s.secret))];
    this.loadedAt = this.o.clock.now();
  }
}
