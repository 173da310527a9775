import type { VersionedStorage } from '../storage/versioned-storage';

/**
 * Which bot instances are alive (`tiledesk/instances`): each one writes its heartbeat every
 * third of a lease, by compare-and-set. An instance that stops moves itself to `departed` (kept
 * for a lease, so even an instance that came and went between two heartbeats is noticed); one
 * whose heartbeat is older than a lease has died and is removed by whoever notices. Either way
 * the others learn that someone left, and look for the work it held (a full recovery scan), so
 * a healthy deployment never scans every conversation on a timer. The count of live instances
 * also tells the outbox whether it must allow for another instance's writes landing late.
 */

const KEY = 'tiledesk/instances';

export class Instances {
  private seen = new Set<string>();
  private lastBeat = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly storage: VersionedStorage,
    private readonly me: string,
    private readonly leaseMs: number,
  ) {}

  /** Writes our heartbeat; says whether an instance left or died since the last call. */
  async beat(now: number): Promise<{ someoneLeft: boolean; alive: number }> {
    for (;;) {
      const item = (await this.storage.read([KEY])).get(KEY);
      const members = { ...mapOf(item?.value, 'members') };
      const departed = { ...mapOf(item?.value, 'departed') };
      let died = false;
      for (const [id, at] of Object.entries(members)) {
        if (id !== this.me && now - at > this.leaseMs) {
          delete members[id];
          departed[id] = now;
          died = true;
        }
      }
      for (const [id, at] of Object.entries(departed))
        if (now - at > this.leaseMs) delete departed[id];
      delete departed[this.me];
      members[this.me] = now;
      const value = { members, departed };
      const written = item
        ? await this.storage.replace(KEY, value, item.eTag)
        : await this.storage.create(KEY, value);
      if (written === null) continue;
      const current = new Set(Object.keys(members));
      const gone = [...this.seen].some((id) => !current.has(id));
      const newlyDeparted = Object.entries(departed).some(
        ([id, at]) => id !== this.me && at > this.lastBeat,
      );
      this.seen = current;
      this.lastBeat = now;
      return { someoneLeft: died || gone || newlyDeparted, alive: current.size };
    }
  }

  /** Shutdown: leave the registry so the others take over what we handed back at once. */
  async leave(now: number): Promise<void> {
    for (;;) {
      const item = (await this.storage.read([KEY])).get(KEY);
      if (!item) return;
      const members = { ...mapOf(item.value, 'members') };
      if (!(this.me in members)) return;
      delete members[this.me];
      const departed = { ...mapOf(item.value, 'departed'), [this.me]: now };
      if ((await this.storage.replace(KEY, { members, departed }, item.eTag)) !== null) return;
    }
  }
}

function mapOf(raw: unknown, field: 'members' | 'departed'): Record<string, number> {
  const members = (raw as Record<string, unknown> | undefined)?.[field];
  if (!members || typeof members !== 'object') return {};
  const out: Record<string, number> = {};
  for (const [id, at] of Object.entries(members)) if (typeof at === 'number') out[id] = at;
  return out;
}
