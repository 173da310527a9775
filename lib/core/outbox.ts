import { asTiledeskError, type TiledeskError } from '../errors';
import { withETagRetry } from './etag-retry';
import { OrderedQueue } from './ordered-queue';
import { ShardedSet } from './sharded-set';
import type { Clock, KeyValueStorage } from './types';

/**
 * The durable outbox: each conversation's pending Tiledesk work is written to `Storage` before it
 * is attempted and removed once done, so a restart or a crash loses nothing. Work is done by an
 * `OrderedQueue` (one item at a time per conversation, bounded concurrency, retries).
 *
 * Several instances may share the storage: every stored item carries its owner and a lease that
 * the owner refreshes while it retries. `recover()` (on start and periodically) takes over items
 * nobody owns (released by `release()` on shutdown) or whose lease ran out (a crashed instance).
 * Recovered items are marked, and the mirror checks Tiledesk before re-posting them, so a post
 * whose response was lost is not duplicated.
 */

export interface OutboxItem {
  key: string;
  /** Set on items taken over from storage: they may have been posted already. */
  recovered?: boolean;
}

export interface OutboxOptions<T extends OutboxItem> {
  storage: KeyValueStorage;
  clock: Clock;
  instanceId: string;
  process(convKey: string, item: T, attempt: number): Promise<void>;
  onDrop(convKey: string, item: T, error: unknown, attempts: number): void;
  onError(error: TiledeskError): void;
  /** Items not worth persisting (e.g. catch-up polls). */
  transient?(item: T): boolean;
  maxAgeOf?(item: T): number | undefined;
  maxAgeMs?: number;
  concurrency?: number;
  leaseMs?: number;
}

interface StoredEntry {
  item: unknown;
  owner: string | null;
  leasedAt: number;
}
interface Stored {
  items: StoredEntry[];
  /** The conversation is listed in the outbox index (recovery looks there). */
  indexed?: boolean;
}

export class Outbox<T extends OutboxItem> {
  private readonly queue: OrderedQueue<T>;
  private readonly index: ShardedSet;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly done = new Map<string, string[]>();
  private readonly leaseRefreshed = new WeakMap<T, number>();
  private readonly leaseMs: number;
  private halted = false;

  constructor(private readonly o: OutboxOptions<T>) {
    this.leaseMs = o.leaseMs ?? 60_000;
    this.index = new ShardedSet(o.storage, 'tiledesk/outbox-index');
    this.queue = new OrderedQueue<T>({
      clock: o.clock,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.maxAgeMs ? { maxAgeMs: o.maxAgeMs } : {}),
      ...(o.maxAgeOf ? { maxAgeOf: o.maxAgeOf } : {}),
      process: async (convKey, item, attempt) => {
        if (attempt > 1) await this.refreshLease(convKey, item);
        await o.process(convKey, item, attempt);
        this.markDone(convKey, item);
      },
      onDrop: (convKey, item, error, attempts) => {
        this.markDone(convKey, item);
        o.onDrop(convKey, item, error, attempts);
      },
    });
  }

  /** Items this instance will still work on (none after shutdown). */
  get size(): number {
    return this.halted ? 0 : this.queue.size;
  }

  /** Resolves when nothing is queued, in flight or being written to storage. */
  async whenIdle(): Promise<void> {
    while (!this.halted && (this.chains.size > 0 || this.queue.size > 0)) {
      await Promise.all([...this.chains.values()]);
      await this.queue.whenIdle();
    }
  }

  /** Persists the items (in order), then queues them. Never throws. After shutdown, only stores. */
  add(convKey: string, items: T[]): void {
    const durable = items.filter((i) => !this.o.transient?.(i));
    this.serial(convKey, async () => {
      if (durable.length > 0) {
        try {
          await this.append(convKey, durable, this.halted ? null : this.o.instanceId);
        } catch (err) {
          this.o.onError(
            asTiledeskError(err, 'TILEDESK_STORAGE', { convKey, items: durable.length }),
          );
        }
      }
      if (!this.halted) for (const item of items) this.queue.push(convKey, item);
    });
  }

  /** Takes over stored items nobody is working on; returns how many. */
  async recover(): Promise<number> {
    let recovered = 0;
    for (const convKey of await this.index.all()) {
      const mine = new Set(this.queue.itemsOf(convKey).map((i) => i.key));
      const claimed: T[] = [];
      let empty = false;
      await this.update(convKey, (stored) => {
        empty = stored.items.length === 0;
        const now = this.o.clock.now();
        for (const entry of stored.items) {
          const item = entry.item as T;
          const stale =
            entry.owner === null ||
            (entry.owner !== this.o.instanceId && now - entry.leasedAt > this.leaseMs);
          if (stale && !mine.has(item.key)) {
            entry.owner = this.o.instanceId;
            entry.leasedAt = now;
            claimed.push({ ...item, recovered: true });
          }
        }
        return stored;
      });
      if (claimed.length > 0) for (const item of claimed) this.queue.push(convKey, item);
      recovered += claimed.length;
      if (empty) await this.unindex(convKey);
    }
    return recovered;
  }

  /**
   * Index entries are dropped here, lazily, not each time a conversation's list empties: a
   * busy conversation would otherwise add and remove itself on every message. The removal
   * comes first; if an append raced it, the conversation is indexed again.
   */
  private async unindex(convKey: string): Promise<void> {
    await this.index.remove(convKey);
    let refilled = false;
    await this.update(convKey, (stored) => {
      refilled = stored.items.length > 0;
      stored.indexed = refilled;
      return stored;
    });
    if (refilled) await this.index.add(convKey);
  }

  /**
   * Shutdown: stops working and gives our unfinished items back (owner cleared) so another
   * instance, or the next start, takes them at once.
   */
  async release(): Promise<void> {
    this.halted = true;
    this.queue.halt();
    await Promise.all([...this.chains.values()]);
    await Promise.all(
      this.queue.keys().map((convKey) => {
        const keys = new Set(this.queue.itemsOf(convKey).map((i) => i.key));
        return this.update(convKey, (stored) => {
          for (const e of stored.items) if (keys.has((e.item as T).key)) e.owner = null;
          return stored;
        }).catch((err: unknown) =>
          this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey })),
        );
      }),
    );
  }

  /**
   * Done items leave storage as they finish, batched: one removal write per conversation is in
   * the chain at a time and takes every key done until it runs (under load a lane may never
   * drain, and the stored list must not grow).
   */
  private markDone(convKey: string, item: T): void {
    if (this.o.transient?.(item)) return;
    const list = this.done.get(convKey);
    if (list) {
      list.push(item.key);
      return;
    }
    this.done.set(convKey, [item.key]);
    this.serial(convKey, () => this.removeDone(convKey));
  }

  private async append(convKey: string, items: T[], owner: string | null): Promise<void> {
    let index = false;
    const now = this.o.clock.now();
    await this.update(convKey, (stored) => {
      index = stored.indexed !== true;
      stored.indexed = true;
      stored.items.push(...items.map((item) => ({ item, owner, leasedAt: now })));
      return stored;
    });
    if (index) await this.index.add(convKey);
  }

  private async removeDone(convKey: string): Promise<void> {
    const keys = new Set(this.done.get(convKey) ?? []);
    this.done.delete(convKey);
    if (keys.size === 0) return;
    try {
      // The empty list stays (a delete has no eTag and could drop another instance's append);
      // the index entry goes at the next recovery pass.
      await this.update(convKey, (stored) => {
        stored.items = stored.items.filter((e) => !keys.has((e.item as T).key));
        return stored;
      });
    } catch (err) {
      this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey }));
    }
  }

  private async refreshLease(convKey: string, item: T): Promise<void> {
    const now = this.o.clock.now();
    if (now - (this.leaseRefreshed.get(item) ?? 0) < this.leaseMs / 3) return;
    this.leaseRefreshed.set(item, now);
    await this.update(convKey, (stored) => {
      for (const e of stored.items) if (e.owner === this.o.instanceId) e.leasedAt = now;
      return stored;
    }).catch((err: unknown) =>
      this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey })),
    );
  }

  /** eTag-safe read-modify-write of one conversation's stored outbox; returns the items left. */
  private update(convKey: string, change: (stored: Stored) => Stored): Promise<number> {
    const key = outboxKey(convKey);
    return withETagRetry(async () => {
      const raw = (await this.o.storage.read([key]))[key] as
        { eTag?: string; items?: unknown } | undefined;
      // Our own data, written by this class: a shape check, no schema parse (hot path).
      const items = Array.isArray(raw?.items) ? (raw.items as StoredEntry[]) : [];
      const next = change({
        items,
        indexed: (raw as { indexed?: unknown } | undefined)?.indexed === true,
      });
      await this.o.storage.write({
        [key]: { items: next.items, indexed: next.indexed, eTag: raw?.eTag ?? '*' },
      });
      return next.items.length;
    });
  }

  /** Runs storage work for one conversation in order; holds nothing once idle. */
  private serial(convKey: string, work: () => Promise<void>): void {
    const previous = this.chains.get(convKey) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.chains.set(convKey, next);
    void next.finally(() => {
      if (this.chains.get(convKey) === next) this.chains.delete(convKey);
    });
  }
}

function outboxKey(convKey: string): string {
  return `tiledesk/outbox/${convKey}`;
}
