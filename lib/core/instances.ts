import type { VersionedStorage } from '../storage/versioned-storage';

/**
 * Which bot instances are alive (`tiledesk/instances`): each one writes its heartbeat every
 * third of a lease, by compare-and-set. An instance that stops removes itself; one whose
 * heartbeat is older than a lease has died and is removed by whoever notices. Either way the
 * others learn that someone left, and look for the work it held (a full recovery scan), so a
 * healthy deployment never scans every conversation on a timer.
 */

const KEY = 'tiledesk/instances';

export class Instances {
  private seen = new Set<string>();

  constructor(
    private readonly storage: VersionedStorage,
    private readonly me: string,
    private readonly leaseMs: number,
  ) {}

  /** Writes our heartbeat; true when an instance left or died since the last call. */
  async beat(now: number): Promise<boolean> {
    for (;;) {
      const item = (await this.storage.read([KEY])).get(KEY);
      const members = { ...membersOf(item?.value) };
      for (const [id, at] of Object.entries(members)) {
        if (id !== this.me && now - at > this.leaseMs) delete members[id];
      }
      members[this.me] = now;
      const written = item
        ? await this.storage.replace(KEY, { members }, item.eTag)
        : await this.storage.create(KEY, { members });
      if (written === null) continue;
      const current = new Set(Object.keys(members));
      const left = [...this.seen].some((id) => !current.has(id));
      this.seen = current;
      return left;
    }
  }

  /** Shutdown: leave the registry so the others take over what we handed back at once. */
  async leave(): Promise<void> {
    for (;;) {
      const item = (await this.storage.read([KEY])).get(KEY);
      if (!item) return;
      const members = { ...membersOf(item.value) };
      if (!(this.me in members)) return;
      delete members[this.me];
      if ((await this.storage.replace(KEY, { members }, item.eTag)) !== null) return;
    }
  }
}

function membersOf(raw: unknown): Record<string, number> {
  const members = (raw as { members?: unknown } | undefined)?.members;
  if (!members || typeof members !== 'object') return {};
  const out: Record<string, number> = {};
  for (const [id, at] of Object.entries(members)) if (typeof at === 'number') out[id] = at;
  return out;
}
