/**
 * Storage operations the middleware makes, counted where they happen: a `VersionedStorage`
 * wrapper around `toVersionedStorage(storage)` (what the middleware builds itself from a
 * botbuilder `Storage`; `TiledeskHandoff` passes a `VersionedStorage` through unchanged). Every
 * read, create-only write and conditional replace is one round trip with a remote storage (about
 * 1.5 ms and 0.9 ms of the bot's own CPU each with BlobsStorage).
 *
 * Two ways to tell the turn's critical path from the background:
 * - windows: `snapshot()` before a turn and after it (or at the moment the user receives
 *   something), `diffOps()` of the two. Exact when nothing else runs meanwhile (the probes wait
 *   until the middleware is idle before each step);
 * - scopes: `scoped(fn)` runs `fn` (a turn) in an AsyncLocalStorage context. An operation
 *   started in that context and finished before `fn` settled is the turn's (critical: the turn
 *   waited for it, or could have); one started in it but finished after `fn` settled was not
 *   awaited (`Scope.late`: started by the turn, e.g. an index update it fires and forgets);
 *   anything else (other conversations' posts, the work a turn leaves behind on a timer,
 *   periodic passes) is background. Exact under load too, as long as an operation the turn does
 *   not await takes longer than what is left of the turn: `latencyMs` adds a delay to every
 *   operation (probes only) so that MemoryStorage, which answers at once, tells them apart too.
 *   AsyncLocalStorage's promise hooks cost ≈ 1 µs per turn while enabled: the timed loops of the
 *   turn sections do not use scopes, and `disableScopes()` turns them off.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Storage } from 'botbuilder';
import { toVersionedStorage, type VersionedItem, type VersionedStorage } from '../lib';

/** Operations by kind; `byKey` by key family (`conversation`, `outbox-index`, `user`, …). */
export interface OpCounts {
  read: number;
  create: number;
  replace: number;
  /** Keys asked for by the reads (a read of 16 index shards is one read, 16 keys). */
  keysRead: number;
  /** creates/replaces answered "conflict" (another writer, or a stale eTag). */
  conflicts: number;
  byKey: Record<string, number>;
}

export function zeroOps(): OpCounts {
  return { read: 0, create: 0, replace: 0, keysRead: 0, conflicts: 0, byKey: {} };
}

/** Read + create + replace: the round trips. */
export function opsOf(c: OpCounts): number {
  return c.read + c.create + c.replace;
}

export function copyOps(c: OpCounts): OpCounts {
  return { ...c, byKey: { ...c.byKey } };
}

/** `later − earlier` (both from the same counter). */
export function diffOps(later: OpCounts, earlier: OpCounts): OpCounts {
  const byKey: Record<string, number> = {};
  for (const [k, v] of Object.entries(later.byKey)) {
    const d = v - (earlier.byKey[k] ?? 0);
    if (d !== 0) byKey[k] = d;
  }
  return {
    read: later.read - earlier.read,
    create: later.create - earlier.create,
    replace: later.replace - earlier.replace,
    keysRead: later.keysRead - earlier.keysRead,
    conflicts: later.conflicts - earlier.conflicts,
    byKey,
  };
}

export function addOps(into: OpCounts, c: OpCounts): OpCounts {
  into.read += c.read;
  into.create += c.create;
  into.replace += c.replace;
  into.keysRead += c.keysRead;
  into.conflicts += c.conflicts;
  for (const [k, v] of Object.entries(c.byKey)) into.byKey[k] = (into.byKey[k] ?? 0) + v;
  return into;
}

/** The key family: `tiledesk/conversation/<hash>` → `conversation`. */
export function keyFamily(key: string): string {
  const parts = key.split('/');
  return parts.length > 1 ? parts[1]! : key;
}

/** A turn (or any unit of work) whose operations are counted apart while it runs. */
export class Scope {
  open = true;
  /** Started and finished while the scope was open (critical). */
  readonly ops = zeroOps();
  /** Started while it was open, finished after it closed (not awaited by the turn). */
  readonly late = zeroOps();
  /** Counts at named moments inside the scope (e.g. when the user received a notice). */
  readonly marks = new Map<string, OpCounts>();

  mark(name: string): void {
    if (!this.marks.has(name)) this.marks.set(name, copyOps(this.ops));
  }
}

const scopes = new AsyncLocalStorage<Scope>();

/** Turns the scopes' promise hooks off (until the next `scoped`), for timed loops. */
export function disableScopes(): void {
  scopes.disable();
}

/** The scope of the code running now, if it is an open one. */
export function currentScope(): Scope | undefined {
  const s = scopes.getStore();
  return s?.open ? s : undefined;
}

type Kind = 'read' | 'create' | 'replace';

function bump(c: OpCounts, kind: Kind, keys: readonly string[], conflict: boolean): void {
  c[kind]++;
  if (kind === 'read') c.keysRead += keys.length;
  if (conflict) c.conflicts++;
  // A multi-key read counts once, under the family of its first key (shards are alike).
  const family = keyFamily(keys[0] ?? '');
  c.byKey[family] = (c.byKey[family] ?? 0) + 1;
}

export class CountingStorage implements VersionedStorage {
  readonly guarantees: VersionedStorage['guarantees'];
  /** Everything, critical or not (counted when an operation starts; conflicts when it ends). */
  readonly total = zeroOps();
  /** What scoped work made and finished while its scope was open (the sum over scopes). */
  readonly critical = zeroOps();
  /** Operations started and not finished yet. */
  inFlight = 0;
  private readonly inner: VersionedStorage;

  constructor(
    storage: Storage | VersionedStorage,
    private readonly latencyMs = 0,
  ) {
    this.inner = toVersionedStorage(storage);
    this.guarantees = this.inner.guarantees;
  }

  read(keys: readonly string[]): Promise<Map<string, VersionedItem>> {
    return this.op('read', keys, () => this.inner.read(keys));
  }

  create(key: string, value: Record<string, unknown>): Promise<string | null> {
    return this.op('create', [key], () => this.inner.create(key, value));
  }

  replace(key: string, value: Record<string, unknown>, eTag: string): Promise<string | null> {
    return this.op('replace', [key], () => this.inner.replace(key, value, eTag));
  }

  snapshot(): OpCounts {
    return copyOps(this.total);
  }

  /** Operations not counted as any scope's critical ones so far: total − critical. */
  background(): OpCounts {
    return diffOps(this.total, this.critical);
  }

  /**
   * Runs `fn` in a new scope; the scope closes when `fn` settles (the turn is over: the
   * TestAdapter's `processActivity` resolved, or the bot's HTTP answer was written).
   */
  async scoped<T>(fn: () => Promise<T>, scope = new Scope()): Promise<{ result: T; scope: Scope }> {
    try {
      return { result: await scopes.run(scope, fn), scope };
    } finally {
      scope.open = false;
    }
  }

  /**
   * Runs `fn` in `scope` without closing it when `fn` settles: for work that goes on after its
   * trigger returned (a webhook answered at once, then the delivery); the caller closes it.
   */
  within<T>(scope: Scope, fn: () => T): T {
    return scopes.run(scope, fn);
  }

  private async op<T>(kind: Kind, keys: readonly string[], run: () => Promise<T>): Promise<T> {
    const scope = currentScope();
    this.total[kind]++;
    if (kind === 'read') this.total.keysRead += keys.length;
    const family = keyFamily(keys[0] ?? '');
    this.total.byKey[family] = (this.total.byKey[family] ?? 0) + 1;
    this.inFlight++;
    let conflict = false;
    try {
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const result = await run();
      conflict = kind !== 'read' && result === null;
      return result;
    } finally {
      this.inFlight--;
      if (conflict) this.total.conflicts++;
      if (scope?.open) {
        bump(this.critical, kind, keys, conflict);
        bump(scope.ops, kind, keys, conflict);
      } else if (scope) {
        bump(scope.late, kind, keys, conflict);
      }
    }
  }
}

/**
 * "2 = 1 read + 1 replace (conversation 2)": a count with what it is made of. `per` divides
 * (per turn, per message); families are listed when `families` is set.
 */
export function fmtOps(c: OpCounts, per = 1, families = true): string {
  const n = (x: number) => {
    const v = x / per;
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  };
  const total = opsOf(c);
  if (total === 0) return '0';
  const parts = (['read', 'create', 'replace'] as const)
    .filter((k) => c[k] > 0)
    .map((k) => `${n(c[k])} ${k}`);
  const fam = Object.entries(c.byKey)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${n(v)}`);
  const conflicts = c.conflicts > 0 ? `, ${n(c.conflicts)} conflict` : '';
  const sum = parts.length > 1 ? `${n(total)} = ${parts.join(' + ')}` : parts[0]!;
  return `${sum}${conflicts}${families ? ` (${fam.join(', ')})` : ''}`;
}

/** Counts for the JSON file (per `per`, rounded). */
export function opsJson(c: OpCounts, per = 1): Record<string, unknown> {
  const r = (x: number) => Math.round((x / per) * 1000) / 1000;
  return {
    ops: r(opsOf(c)),
    read: r(c.read),
    create: r(c.create),
    replace: r(c.replace),
    keysRead: r(c.keysRead),
    conflicts: r(c.conflicts),
    byKey: Object.fromEntries(Object.entries(c.byKey).map(([k, v]) => [k, r(v)])),
  };
}
