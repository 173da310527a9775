import type { VersionedStorage } from '../storage/versioned-storage';

/**
 * A set of conversation keys kept in storage, split over 16 items so concurrent writers (several
 * bot instances) rarely touch the same item. `Storage` cannot list keys, so this is how an
 * instance finds "conversations that may have pending work" after a crash or a restart.
 *
 * Every change is a compare-and-set (a new shard is created create-only), so no instance's add
 * is ever overwritten by another's. Changes to one shard are batched: while a write is in
 * flight, further adds and removes wait and go out together in the next write.
 */

const SHARDS = 16;

interface PendingShard {
  changes: Map<string, boolean>;
  waiters: { resolve(): void; reject(err: unknown): void }[];
}

export class ShardedSet {
  private readonly pending = new Map<number, PendingShard>();
  private readonly writing = new Set<number>();
  /** Storage operations made (benchmarks and tests). */
  readonly ops = { read: 0, write: 0 };

  constructor(
    private readonly storage: VersionedStorage,
    private readonly prefix: string,
  ) {}

  add(member: string): Promise<void> {
    return this.change(member, true);
  }

  remove(member: string): Promise<void> {
    return this.change(member, false);
  }

  async all(): Promise<string[]> {
    const keys = Array.from({ length: SHARDS }, (_, i) => this.keyOf(i));
    this.ops.read++;
    const items = await this.storage.read(keys);
    return keys.flatMap((k) => Object.keys(membersOf(items.get(k)?.value)));
  }

  private change(member: string, present: boolean): Promise<void> {
    const shard = (Number.parseInt(member.slice(0, 1), 16) || 0) % SHARDS;
    let batch = this.pending.get(shard);
    if (!batch) {
      batch = { changes: new Map(), waiters: [] };
      this.pending.set(shard, batch);
    }
    batch.changes.set(member, present);
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (!this.writing.has(shard)) void this.flush(shard);
    return done;
  }

  private async flush(shard: number): Promise<void> {
    this.writing.add(shard);
    for (;;) {
      const batch = this.pending.get(shard);
      if (!batch) break;
      this.pending.delete(shard);
      try {
        await this.write(shard, batch.changes);
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
    this.writing.delete(shard);
  }

  /** Compare-and-set until it lands; removing a member that is absent writes nothing. */
  private async write(shard: number, changes: Map<string, boolean>): Promise<void> {
    const key = this.keyOf(shard);
    for (;;) {
      this.ops.read++;
      const item = (await this.storage.read([key])).get(key);
      const members = { ...membersOf(item?.value) };
      let changed = false;
      for (const [member, present] of changes) {
        if (member in members === present) continue;
        changed = true;
        if (present) members[member] = 1;
        else delete members[member];
      }
      if (!changed) return;
      this.ops.write++;
      const written = item
        ? await this.storage.replace(key, { members }, item.eTag)
        : await this.storage.create(key, { members });
      if (written !== null) return;
    }
  }

  private keyOf(shard: number): string {
    return `${this.prefix}/${shard.toString(16)}`;
  }
}

/** Tolerant read of a shard: anything malformed counts as empty (it is only an index). */
function membersOf(raw: unknown): Record<string, 1> {
  const members = (raw as { members?: unknown } | undefined)?.members;
  return members && typeof members === 'object' ? (members as Record<string, 1>) : {};
}
