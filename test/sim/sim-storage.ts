import type { Storage, StoreItems } from 'botbuilder';
import type { VersionedItem, VersionedStorage } from '../../lib/storage/versioned-storage';

/**
 * The one storage all simulated bot instances share. It speaks both languages the lib may use:
 * botbuilder's `Storage` (read/write/delete, eTags exactly like `MemoryStorage`: JSON round trip,
 * a counter as eTag, `'*'` or no eTag overwrites, a stale eTag throws "… eTag conflict.") and
 * `VersionedStorage` (lib/storage/versioned-storage.ts: create-only, compare-and-set replace,
 * `guarantees: 'exact'`). `read` answers in both shapes at once: a `Map` of `{ value, eTag }`
 * that also carries every item as a plain property, the way botbuilder's `StoreItems` does.
 *
 * Each instance gets its own view (`view(gate)`): every call first waits for the world's
 * scheduler (so fast-check picks the order in which concurrent calls take effect), never
 * returns once its instance crashed, and may be failed by injection:
 * - `fail`: nothing is applied, the caller gets an error (a 503 from the storage service);
 * - `lost`: the change IS applied, but the caller gets an error (the response was lost).
 * Each operation applies atomically when the scheduler releases it.
 */

export type StorageFault = 'fail' | 'lost';

/** What a view needs from the world for each call. */
export interface StorageGate {
  /** Resolves when the scheduler releases the call; never resolves once the instance crashed. */
  pass(label: string): Promise<void>;
  /** The fault to inject into this call, if any. */
  fault(): StorageFault | undefined;
  /** False once the instance crashed (e.g. from a hook while its own write was applied). */
  alive(): boolean;
  /** For the trace. */
  readonly name: string;
  /** Also trace reads. */
  readonly verbose: boolean;
}

export type StorageOp = 'read' | 'write' | 'delete' | 'create' | 'replace';

interface Stored {
  /** JSON of the value, without its eTag. */
  json: string;
  eTag: string;
}

export class SimStorage {
  private readonly items = new Map<string, Stored>();
  private nextETag = 1;
  /** Calls per kind (attempts, including failed ones). */
  readonly counts: Record<StorageOp, number> = {
    read: 0,
    write: 0,
    delete: 0,
    create: 0,
    replace: 0,
  };
  /** Every applied change: (key, JSON of the new value or undefined when deleted). */
  onApplied: (key: string, json: string | undefined, by: string) => void = () => {};
  trace: (line: string) => void = () => {};

  /** One instance's way in. */
  view(gate: StorageGate): SimStorageView {
    return new SimStorageView(this, gate);
  }

  /** Everything stored now, parsed (for the invariants). */
  snapshot(): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const [key, item] of this.items) {
      out.set(key, JSON.parse(item.json) as Record<string, unknown>);
    }
    return out;
  }

  /** Direct read without the scheduler (test set-up and assertions only). */
  peek(key: string): Record<string, unknown> | undefined {
    const item = this.items.get(key);
    return item ? (JSON.parse(item.json) as Record<string, unknown>) : undefined;
  }

  // --- the operations, applied synchronously once released -----------------------------------

  readNow(keys: readonly string[]): ReadResult {
    const result = new ReadResult();
    for (const key of keys) {
      const item = this.items.get(key);
      if (!item) continue;
      // Both shapes are fresh copies, parsed only when the caller looks at them.
      const { json, eTag } = item;
      let value: Record<string, unknown> | undefined;
      result.set(key, {
        eTag,
        get value() {
          return (value ??= JSON.parse(json) as Record<string, unknown>);
        },
      });
      let storeItem: Record<string, unknown> | undefined;
      Object.defineProperty(result, key, {
        enumerable: true,
        configurable: true,
        get: () => (storeItem ??= { ...(JSON.parse(json) as Record<string, unknown>), eTag }),
        set: (v: Record<string, unknown>) => (storeItem = v),
      });
    }
    return result;
  }

  /** botbuilder `write`, as MemoryStorage does it: key by key, a conflict stops the rest. */
  writeNow(changes: StoreItems, by: string): void {
    for (const key of Object.keys(changes)) {
      const change = (changes[key] ?? {}) as Record<string, unknown>;
      const eTag = change['eTag'];
      const old = this.items.get(key);
      if (old && eTag !== undefined && eTag !== '*' && eTag !== '' && eTag !== old.eTag) {
        throw new Error(`Storage: error writing "${key}" due to eTag conflict.`);
      }
      this.put(key, withoutETag(change), by);
    }
  }

  deleteNow(keys: readonly string[], by: string): void {
    for (const key of keys) {
      if (this.items.delete(key)) this.onApplied(key, undefined, by);
    }
  }

  createNow(key: string, value: Record<string, unknown>, by: string): string | null {
    if (this.items.has(key)) return null;
    return this.put(key, withoutETag(value), by);
  }

  replaceNow(key: string, value: Record<string, unknown>, eTag: string, by: string): string | null {
    const old = this.items.get(key);
    if (!old || old.eTag !== eTag) return null;
    return this.put(key, withoutETag(value), by);
  }

  private put(key: string, value: Record<string, unknown>, by: string): string {
    const eTag = String(this.nextETag++);
    const json = JSON.stringify(value);
    this.items.set(key, { json, eTag });
    this.onApplied(key, json, by);
    return eTag;
  }
}

/** A `Map` of `{ value, eTag }` that is also botbuilder's `StoreItems` (see the file comment). */
export class ReadResult extends Map<string, VersionedItem> {
  [key: string]: unknown;
}

/** One instance's view of the shared storage: both interfaces, every call scheduled. */
export class SimStorageView implements Storage, VersionedStorage {
  readonly guarantees = 'exact' as const;

  constructor(
    private readonly s: SimStorage,
    private readonly gate: StorageGate,
  ) {}

  read(keys: readonly string[]): Promise<StoreItems & Map<string, VersionedItem>> {
    return this.call('read', keys.map(short).join(','), () => this.s.readNow(keys));
  }

  write(changes: StoreItems): Promise<void> {
    const by = this.gate.name;
    return this.call('write', Object.keys(changes).map(short).join(','), () =>
      this.s.writeNow(changes, by),
    );
  }

  delete(keys: string[]): Promise<void> {
    const by = this.gate.name;
    return this.call('delete', keys.map(short).join(','), () => this.s.deleteNow(keys, by));
  }

  create(key: string, value: Record<string, unknown>): Promise<string | null> {
    const by = this.gate.name;
    return this.call('create', short(key), () => this.s.createNow(key, value, by));
  }

  replace(key: string, value: Record<string, unknown>, eTag: string): Promise<string | null> {
    const by = this.gate.name;
    return this.call('replace', `${short(key)}@${eTag}`, () =>
      this.s.replaceNow(key, value, eTag, by),
    );
  }

  private async call<T>(op: StorageOp, what: string, apply: () => T): Promise<T> {
    this.s.counts[op]++;
    const label = `${this.gate.name} storage.${op} ${what}`;
    await this.gate.pass(label);
    const fault = this.gate.fault();
    if (fault === 'fail') {
      this.s.trace(`${label} → injected failure (503, not applied)`);
      throw new Error(`simulated storage failure (503) on ${op}`);
    }
    let result: T;
    try {
      result = apply();
    } catch (err) {
      this.s.trace(`${label} → ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    if (!this.gate.alive()) return new Promise<T>(() => {}); // crashed meanwhile: no answer
    if (fault === 'lost') {
      this.s.trace(`${label} → applied, response lost (caller sees an error)`);
      throw new Error(`simulated storage timeout on ${op} (the change may have been applied)`);
    }
    if (op !== 'read' || this.gate.verbose) {
      this.s.trace(`${label} → ${result === null ? 'conflict (null)' : 'ok'}`);
    }
    return result;
  }
}

function withoutETag(value: Record<string, unknown>): Record<string, unknown> {
  const { eTag: _ignored, ...rest } = value;
  return rest;
}

/** Shortens `tiledesk/conversation/3fa1…` keys for labels and the trace. */
export function short(key: string): string {
  const i = key.lastIndexOf('/');
  if (i < 0) return key;
  const tail = key.slice(i + 1);
  return `${key.slice(0, i)}/${tail.length > 10 ? tail.slice(0, 6) : tail}`;
}
