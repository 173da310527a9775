import { TiledeskError } from '../errors';
import type { VersionedStorage } from '../storage/versioned-storage';
import { storageKeys } from './ids';
import { type ConversationRecord, parseRecord } from './record';

/**
 * Conversation records over a {@link VersionedStorage}, changed only by compare-and-set:
 * - `update` runs a pure `change` on the record as read and writes the result conditionally
 *   (create-only when there was none); on a conflict it reads again and runs `change` again.
 *   The caller gets the `result` of the attempt whose write succeeded, never of a lost one;
 * - one instance never races itself: updates of one conversation run one after the other;
 * - the eTag of our last successful write is kept (a small LRU), so the next update of a busy
 *   conversation writes without reading first. A stale one costs one conflict and one read;
 * - changes must not mutate the record they are given (it may be the cached one): the pure
 *   transitions of record-*.ts all return new objects.
 */

export interface Snapshot {
  record: ConversationRecord;
  /** `''` when the storage did not tell the eTag (then the next update reads first). */
  eTag: string;
}

/** What a change decides: the record to write (none: leave it) and what to report. */
export interface Change<R> {
  next?: ConversationRecord | undefined;
  result: R;
  /**
   * A decision to write nothing that the caller will take again anyway (so a cached view is
   * good enough for it): no fresh read is made for it.
   */
  provisional?: boolean;
}

export interface UpdateOutcome<R> {
  result: R;
  /** The record as it is now stored (after our write, or as read when nothing was written). */
  snapshot: Snapshot | undefined;
}

const MAX_ATTEMPTS = 50;
/**
 * Records of conversations with work in flight (their lanes drop them when done, see `forget`):
 * more than the concurrency, a few MB at most.
 */
const CACHE_SIZE = 2048;

export class RecordStore {
  private readonly cache = new Map<string, Snapshot>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Storage operations made, by kind (benchmarks and tests). */
  readonly ops = { read: 0, create: 0, replace: 0, conflict: 0 };

  constructor(private readonly storage: VersionedStorage) {}

  /** The stored record, read now. */
  async read(convKey: string): Promise<Snapshot | undefined> {
    const key = storageKeys.conversation(convKey);
    this.ops.read++;
    const item = (await this.storage.read([key])).get(key);
    if (!item) return undefined;
    // The same eTag is the same content: what we wrote last needs no second validation.
    const known = this.cache.get(convKey);
    if (known && item.eTag && known.eTag === item.eTag) return known;
    return { record: this.parse(key, item.value), eTag: item.eTag };
  }

  /**
   * Compare-and-set. `hint` is a snapshot the caller read (e.g. at the start of the turn), or
   * `null` when that read found no record: used when no newer one of ours is cached, it saves
   * a read.
   */
  update<R>(
    convKey: string,
    change: (current: ConversationRecord | undefined, eTag: string | undefined) => Change<R>,
    hint?: Snapshot | null,
    options: { trustCache?: boolean } = {},
  ): Promise<UpdateOutcome<R>> {
    const previous = this.chains.get(convKey) ?? Promise.resolve();
    const loop = () => this.casLoop(convKey, change, hint, options.trustCache === true);
    const run = previous.then(loop, loop);
    this.chains.set(convKey, run);
    void run.then(
      () => this.unchain(convKey, run),
      () => this.unchain(convKey, run),
    );
    return run;
  }

  /** Our last written snapshot of a conversation, if still cached (no IO). */
  cached(convKey: string): Snapshot | undefined {
    return this.cache.get(convKey);
  }

  /** Forget what we know of a conversation (its work is done: idle conversations hold nothing). */
  forget(convKey: string): void {
    this.cache.delete(convKey);
  }

  private unchain(convKey: string, run: Promise<unknown>): void {
    if (this.chains.get(convKey) === run) this.chains.delete(convKey);
  }

  private async casLoop<R>(
    convKey: string,
    change: (current: ConversationRecord | undefined, eTag: string | undefined) => Change<R>,
    hint: Snapshot | null | undefined,
    trustCache: boolean,
  ): Promise<UpdateOutcome<R>> {
    const key = storageKeys.conversation(convKey);
    // null: we know nothing (read first); undefined: there is no record (create-only).
    let known: Snapshot | undefined | null =
      this.cache.get(convKey) ?? (hint === null ? undefined : hint?.eTag ? hint : null);
    let fresh = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // null: we know nothing (read); undefined: we read that there is no record.
      if (known === null) {
        known = await this.read(convKey);
        fresh = true;
      }
      const { next, result, provisional } = change(known?.record, known?.eTag);
      if (!next) {
        // "Nothing to change" is a decision too: take it on what storage says now, not on what
        // we remembered or were given (another instance may have written since).
        if (fresh || trustCache || provisional) return { result, snapshot: known };
        known = null;
        continue;
      }
      const value = next as unknown as Record<string, unknown>;
      let eTag: string | null;
      try {
        if (known) {
          this.ops.replace++;
          eTag = await this.storage.replace(key, value, known.eTag);
        } else {
          this.ops.create++;
          eTag = await this.storage.create(key, value);
        }
      } catch (err) {
        this.cache.delete(convKey); // the write may have landed: what we knew is stale
        throw err;
      }
      if (eTag !== null) {
        const snapshot = { record: next, eTag };
        this.remember(convKey, snapshot);
        return { result, snapshot };
      }
      this.ops.conflict++;
      this.cache.delete(convKey);
      known = null;
      fresh = false;
    }
    throw new TiledeskError(
      'TILEDESK_STORAGE',
      `Gave up updating ${key} after ${MAX_ATTEMPTS} conflicting writes`,
      { convKey },
    );
  }

  private remember(convKey: string, snapshot: Snapshot): void {
    this.cache.delete(convKey);
    if (!snapshot.eTag) return;
    this.cache.set(convKey, snapshot);
    if (this.cache.size > CACHE_SIZE) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  private parse(key: string, value: unknown): ConversationRecord {
    const parsed = parseRecord(value);
    if (parsed.record) return parsed.record;
    throw new TiledeskError('TILEDESK_STORAGE', `Stored item ${key} is not a conversation record`, {
      key,
      problem: parsed.problem,
      fix: 'delete the item (it was written by another program or an older version)',
    });
  }
}
