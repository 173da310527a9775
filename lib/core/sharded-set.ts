import { z } from 'zod';
import type { KeyValueStorage } from './types';

/**
 * A set of keys kept in `Storage`, split over 16 items so concurrent writers (several bot
 * instances) rarely touch the same item. `Storage` cannot list keys, so this is how we find
 * "all conversations with pending posts" or "all conversations in handoff" after a restart.
 */

const Shard = z.object({ members: z.record(z.string(), z.literal(1)) });
const SHARDS = 16;
const MAX_ATTEMPTS = 8;

export class ShardedSet {
  constructor(
    private readonly storage: KeyValueStorage,
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
    const items = await this.storage.read(keys);
    return keys.flatMap((k) => {
      const parsed = Shard.safeParse(items[k]);
      return parsed.success ? Object.keys(parsed.data.members) : [];
    });
  }

  private async change(member: string, present: boolean): Promise<void> {
    const key = this.keyOf(Number.parseInt(member.slice(0, 1), 16) || 0);
    for (let attempt = 1; ; attempt++) {
      const raw = (await this.storage.read([key]))[key] as { eTag?: string } | undefined;
      const parsed = Shard.safeParse(raw);
      const members = parsed.success ? { ...parsed.data.members } : {};
      if (member in members === present) return;
      if (present) members[member] = 1;
      else delete members[member];
      try {
        await this.storage.write({ [key]: { members, eTag: raw?.eTag ?? '*' } });
        return;
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !(err instanceof Error) || !/etag/i.test(err.message))
          throw err;
      }
    }
  }

  private keyOf(shard: number): string {
    return `${this.prefix}/${(shard % SHARDS).toString(16)}`;
  }
}
