import { asTiledeskError, TiledeskApiError, type TiledeskError } from '../errors';
import { type ConversationRecord, newRecord, type OutboxEntry } from './record';
import { type HistoryLimits, keepHistory } from './record-history';
import { append, keysHeldByOthers, release, settle, takeOver } from './record-outbox';
import type { Change, RecordStore, Snapshot } from './record-store';
import { backoffMs, isRetryable, retryAfterOf } from './retry';
import { Scheduler } from './scheduler';
import type { ShardedSet } from './sharded-set';
import type { Clock, ConversationRef } from './types';

/**
 * The durable outbox (bot → Tiledesk). A conversation's posts are appended to its record
 * BEFORE they are attempted, in one compare-and-set with the lease that says who posts them;
 * the holder posts them one at a time, in order, and drops the done ones in one write per burst
 * (at most every {@link SETTLE_EVERY} posts), renewing the lease as it goes.
 *
 * Several instances: whoever appends while another holds a live lease only appends; the holder's
 * next write conflicts, re-reads and sees the new entries. A holder that died (lease expired) or
 * left (lease released by `release()`) is replaced by the next instance that appends or recovers.
 * Entries taken over may have been posted already: the poster checks Tiledesk first.
 *
 * Retries: network errors, timeouts, 5xx and 429 are retried with capped backoff (Retry-After
 * honoured) for up to the entry's max age, counted from when it was first enqueued; other
 * failures drop the entry at once. A conversation waiting for its retry holds no concurrency slot.
 */

/** Done entries are dropped from storage at least this often (bounds re-checks after a crash). */
export const SETTLE_EVERY = 16;

export interface PostContext {
  /** The entry may have reached Tiledesk already (a lost response, a takeover): check first. */
  maybePosted: boolean;
  /** The current request exists (as far as this lane knows). */
  opened: boolean;
  /** 1 for the first try of this entry on this instance. */
  attempt: number;
  /** A request generation (closed since) the entry may have been posted to. */
  postedTo?: number | undefined;
}

export interface OutboxOptions {
  store: RecordStore;
  index: ShardedSet;
  clock: Clock;
  random: () => number;
  instanceId: string;
  leaseMs: number;
  concurrency: number;
  maxAgeOf(entry: OutboxEntry): number;
  /**
   * How long an entry waits before it is posted, so that an earlier turn's write, landing a little
   * late from another instance, still goes first (0 when this instance is alone).
   */
  holdMs(): number;
  /**
   * Resolves once this instance is in the instance registry: an instance that takes leases must
   * be known there, or its death would go unnoticed (one write, once per instance).
   */
  registered(): Promise<void>;
  /** Mirror mode `handoff`: what is said while the bot has a conversation is kept, not posted. */
  history?: HistoryLimits | undefined;
  /** Does the entry's work; returns whether the request now exists. */
  post(convKey: string, snapshot: Snapshot, entry: OutboxEntry, ctx: PostContext): Promise<boolean>;
  onDrop(convKey: string, entry: OutboxEntry, error: unknown, attempts: number): void;
  onError(error: TiledeskError): void;
}

interface Lane {
  /** When our view of the record was last proven current (a successful write, or a read). */
  freshAt: number;
  done: Set<string>;
  maybePosted: Set<string>;
  /** The generation whose request this lane saw exist (a close moves the generation on). */
  openedGen: number | undefined;
  attempts: number;
  notBefore: number;
}

export class Outbox {
  private readonly lanes = new Map<string, Lane>();
  private readonly scheduler: Scheduler;

  readonly instanceId: string;
  readonly leaseMs: number;
  readonly history: HistoryLimits | undefined;

  constructor(private readonly o: OutboxOptions) {
    this.instanceId = o.instanceId;
    this.leaseMs = o.leaseMs;
    this.history = o.history;
    this.scheduler = new Scheduler({
      clock: o.clock,
      concurrency: o.concurrency,
      step: (convKey) => this.step(convKey),
      onError: (err, convKey) => o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey })),
    });
  }

  /** Conversations this instance is posting for (or waiting to retry). */
  get size(): number {
    return this.scheduler.size;
  }

  whenIdle(): Promise<void> {
    return this.scheduler.whenIdle();
  }

  /** For `health()`: entries this instance has still to post, and when the oldest was enqueued. */
  backlog(): { conversations: number; entries: number; oldestAt: number | undefined } {
    let entries = 0;
    let oldestAt: number | undefined;
    for (const [convKey, lane] of this.lanes) {
      for (const e of this.o.store.cached(convKey)?.record.outbox ?? []) {
        if (lane.done.has(e.key)) continue;
        entries++;
        if (oldestAt === undefined || e.at < oldestAt) oldestAt = e.at;
      }
    }
    return { conversations: this.lanes.size, entries, oldestAt };
  }

  /**
   * Stores `entries` (after the turn's earlier ones) and starts posting them if nobody else is.
   * `hint` is the record as the turn read it. Rejects only on a storage failure.
   */
  async append(
    convKey: string,
    ref: ConversationRef,
    entries: readonly OutboxEntry[],
    hint?: Snapshot | null,
  ): Promise<Snapshot | undefined> {
    const { snapshot, result: kept } = await this.write(convKey, hint, (current) => {
      const now = this.o.clock.now();
      const kept = keepHistory(current ?? newRecord(ref, now), entries, this.o.history);
      // All kept as history (mirror mode `handoff`): no work, no lease, no index.
      if (kept.live.length === 0) return { next: kept.next, result: true, untracked: true };
      const base = kept.next;
      const { next, ownsLease } = append(base, kept.live, this.o.instanceId, now, this.o.leaseMs);
      return {
        next,
        result: false,
        takeover: ownsLease ? keysHeldByOthers(current, this.o.instanceId) : undefined,
      };
    });
    // A record with a history can weigh hundreds of KB: not cached when no lane needs it (the
    // next turn reads it anyway).
    if (kept && !this.lanes.has(convKey)) this.o.store.forget(convKey);
    return snapshot;
  }

  /**
   * Runs a change that puts work into the record, making sure the conversation is listed in the
   * recovery index BEFORE the work is durable: the index add must precede a successful write
   * that was decided on a read taken before the add (so a concurrent clean-up, which removes
   * first and then writes, either sees our work or makes our write conflict). `takeover`, when
   * set, means the lease is ours: the lane starts (the keys listed may have been posted).
   */
  async write<R>(
    convKey: string,
    hint: Snapshot | null | undefined,
    change: (current: ConversationRecord | undefined) => {
      next: ConversationRecord | undefined;
      result: R;
      takeover?: string[] | undefined;
      /** The change adds no outbox work (history only): the recovery index is not needed. */
      untracked?: boolean;
    },
  ): Promise<{ result: R; snapshot: Snapshot | undefined }> {
    await this.o.registered();
    let indexedAt: string | null = null;
    for (;;) {
      const { result, snapshot } = await this.o.store.update(
        convKey,
        (current, eTag): Change<Decision<R>> => {
          const decided = change(current);
          if (
            decided.next &&
            !decided.untracked &&
            !current?.indexed &&
            indexedAt !== (eTag ?? '')
          ) {
            return { result: { needIndex: eTag ?? '' }, provisional: true };
          }
          return { next: decided.next, result: { done: decided } };
        },
        hint,
      );
      if ('needIndex' in result) {
        await this.o.index.add(convKey);
        indexedAt = result.needIndex;
        hint = snapshot ?? null; // decide on what we read before the index add (or its absence)
        continue;
      }
      if (result.done.takeover) this.start(convKey, result.done.takeover);
      return { result: result.done.result, snapshot };
    }
  }

  /**
   * After a write whose answer was lost but which landed (seen by a read): if it gave us the
   * lease, work on it now (its entries may have been posted already: checked first).
   */
  adopt(convKey: string, record: ConversationRecord): void {
    if (record.lease?.owner === this.o.instanceId) {
      this.start(
        convKey,
        record.outbox.map((e) => e.key),
      );
    }
  }

  /** Takes over stored entries whose holder is gone; true if it did. */
  async recover(convKey: string): Promise<boolean> {
    const me = this.o.instanceId;
    const { result } = await this.o.store.update(convKey, (current) => {
      const next = current && takeOver(current, me, this.o.clock.now(), this.o.leaseMs);
      return { next, result: next ? current.outbox.map((e) => e.key) : undefined };
    });
    if (result) this.start(convKey, result);
    return result !== undefined;
  }

  /**
   * Renews the leases of lanes that have not run for a while (waiting for a slot behind a busy
   * instance, or for a long Retry-After), so no other instance takes over work that is alive.
   * Called by the periodic pass (every third of a lease); costs a write only when one is due.
   */
  async renewIdleLeases(): Promise<void> {
    const now = this.o.clock.now();
    for (const convKey of this.lanes.keys()) {
      const lease = this.o.store.cached(convKey)?.record.lease;
      if (lease && lease.owner === this.o.instanceId && lease.until - now > this.o.leaseMs / 2) {
        continue;
      }
      const { result: remaining } = await this.o.store.update(convKey, (current) => {
        const s =
          current && settle(current, new Set(), false, this.o.instanceId, now, this.o.leaseMs);
        return { next: s?.next, result: s ? s.remaining.length : -1 };
      });
      if (remaining < 0) this.lanes.delete(convKey); // taken over meanwhile: not ours any more
    }
  }

  /** Shutdown: stops posting and hands our leases back so another instance takes over at once. */
  async release(): Promise<void> {
    // A post still in flight is not waited for (it may hang): its lane's write after it finds
    // the lease gone and changes nothing; the entry is posted again by the next holder (checked).
    this.scheduler.halt();
    const keys = [...this.lanes.keys()];
    this.lanes.clear();
    await Promise.all(
      keys.map((convKey) =>
        this.o.store
          .update(convKey, (current) => ({
            next: current && release(current, this.o.instanceId),
            result: undefined,
          }))
          .catch((err: unknown) =>
            this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey })),
          ),
      ),
    );
  }

  private start(convKey: string, maybePosted: readonly string[]): void {
    let lane = this.lanes.get(convKey);
    if (!lane) {
      lane = {
        freshAt: this.o.clock.now(),
        done: new Set(),
        maybePosted: new Set(),
        openedGen: undefined,
        attempts: 0,
        notBefore: 0,
      };
      this.lanes.set(convKey, lane);
    }
    for (const key of maybePosted) lane.maybePosted.add(key);
    this.scheduler.wake(convKey);
  }

  /** One step of a conversation's lane: one post, or one write. */
  private async step(convKey: string): Promise<'again' | 'idle' | { retryInMs: number }> {
    const lane = this.lanes.get(convKey);
    if (!lane) return 'idle';
    const now = this.o.clock.now();
    let snapshot = this.o.store.cached(convKey) ?? (await this.o.store.read(convKey));
    if (snapshot?.record.lease?.owner !== this.o.instanceId) {
      snapshot = await this.o.store.read(convKey); // decide from a fresh read, not a cached one
    }
    const lease = snapshot?.record.lease;
    if (!snapshot || lease?.owner !== this.o.instanceId) {
      // Another instance took over (our lease ran out): its work now.
      this.lanes.delete(convKey);
      return 'idle';
    }
    const pending = snapshot.record.outbox.filter((e) => !lane.done.has(e.key));
    const renew = lease.until - now < this.o.leaseMs / 3;
    if (pending.length === 0 || lane.done.size >= SETTLE_EVERY || renew) {
      return this.settle(convKey, lane);
    }
    if (now < lane.notBefore)
      return { retryInMs: Math.min(lane.notBefore - now, this.o.leaseMs / 3) };
    const head = pending[0]!;
    const hold = this.o.holdMs();
    if (hold > 0) {
      // Several instances: post an entry only once it is `hold` old, and only from a view of
      // the record proven current after that, so an earlier entry written late is seen first.
      const age = now - head.at;
      if (age < hold) return { retryInMs: hold - age };
      if (lane.freshAt < head.at + hold) return this.settle(convKey, lane);
    }
    try {
      const opened = await this.o.post(convKey, snapshot, head, {
        maybePosted: lane.maybePosted.has(head.key),
        opened: snapshot.record.opened || lane.openedGen === snapshot.record.gen,
        attempt: lane.attempts + 1,
        postedTo: head.postedTo,
      });
      if (opened) lane.openedGen = snapshot.record.gen;
      this.finish(lane, head);
      return 'again';
    } catch (err) {
      lane.attempts++;
      lane.maybePosted.add(head.key); // a lost response looks like a failure: check next time
      const age = this.o.clock.now() - head.at;
      // Tiledesk says whether a failure is worth another try; anything else (a storage error
      // while routing, an identity write) is taken as passing.
      const retryable = err instanceof TiledeskApiError ? isRetryable(err) : true;
      if (retryable && age < this.o.maxAgeOf(head)) {
        const delay = backoffMs(lane.attempts, this.o.random, retryAfterOf(err));
        lane.notBefore = this.o.clock.now() + delay;
        return { retryInMs: Math.min(delay, this.o.leaseMs / 3) };
      }
      this.o.onDrop(convKey, head, err, lane.attempts);
      this.finish(lane, head);
      return 'again';
    }
  }

  private finish(lane: Lane, entry: OutboxEntry): void {
    lane.done.add(entry.key);
    lane.maybePosted.delete(entry.key);
    lane.attempts = 0;
    lane.notBefore = 0;
  }

  /** Drops done entries, renews or releases the lease; stops the lane when done or replaced. */
  private async settle(convKey: string, lane: Lane): Promise<'again' | 'idle'> {
    const done = new Set(lane.done);
    const startedAt = this.o.clock.now();
    const { result } = await this.o.store.update(convKey, (current) => {
      const s =
        current &&
        settle(
          current,
          done,
          lane.openedGen === current.gen,
          this.o.instanceId,
          this.o.clock.now(),
          this.o.leaseMs,
        );
      return { next: s?.next, result: s ? s.remaining.length : -1 };
    });
    lane.freshAt = startedAt;
    for (const key of done) lane.done.delete(key);
    if (result > 0) return 'again';
    this.lanes.delete(convKey);
    this.o.store.forget(convKey); // idle: the next turn reads anyway
    return 'idle';
  }
}

type Decision<R> = { needIndex: string } | { done: { result: R; takeover?: string[] | undefined } };
