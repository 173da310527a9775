import type { KeyValueStorage } from '../core/types';
import { isRealETag, isRecord, readVersioned, withoutETag } from './items';
import type { VersionedStorage } from './versioned-storage';

/**
 * The parts of botbuilder's `MemoryStorage` (botbuilder-core/lib/memoryStorage.js) this adapter
 * relies on: `memory` maps a key to the JSON of the item (with its `eTag`), or to `undefined`
 * after `delete`; `etag` is its counter; `write` stores synchronously inside its Promise executor.
 */
export interface MemoryStorageLike extends KeyValueStorage {
  memory: Record<string, string | undefined>;
  etag: number;
}

/** Shape test (no `instanceof`: the host may load another copy of botbuilder). */
export function isMemoryStorageLike(storage: unknown): storage is MemoryStorageLike {
  return (
    isRecord(storage) &&
    isRecord(storage['memory']) &&
    typeof storage['etag'] === 'number' &&
    typeof storage['read'] === 'function' &&
    typeof storage['write'] === 'function'
  );
}

function eTagOf(json: string | undefined): string | undefined {
  if (!json) return undefined;
  // MemoryStorage appends the eTag last to a new item: read it off the end (a full parse of the
  // item on every compare-and-set was a tenth of the bot's CPU); parse only when it is elsewhere.
  const tail = TAIL_ETAG.exec(json.slice(-48));
  if (tail) return tail[1];
  const parsed: unknown = JSON.parse(json);
  return isRecord(parsed) && typeof parsed['eTag'] === 'string' ? parsed['eTag'] : '';
}

/** MemoryStorage's eTags are counters: `,"eTag":"123"}` at the end of the stored JSON. */
const TAIL_ETAG = /[,{]"eTag":"(\d+)"\}$/;

/**
 * `VersionedStorage` over a `MemoryStorage`, `guarantees: 'exact'`: the check of `memory[key]`
 * and `storage.write()` run in the same synchronous section (nothing else can run in between in
 * one process), and the new eTag is read back from `memory[key]` in that section too. Throws if
 * `write` turns out not to store synchronously (a subclass that changed it), rather than
 * silently losing the guarantee.
 */
export function memoryVersionedStorage(storage: MemoryStorageLike): VersionedStorage {
  // Must be called synchronously after the precondition check (no `await` in between).
  const writeNow = async (key: string, item: Record<string, unknown>): Promise<string> => {
    const before = storage.memory[key];
    const done = storage.write({ [key]: item });
    const after = storage.memory[key];
    await done;
    const eTag = after === before ? undefined : eTagOf(after);
    if (eTag === undefined) {
      throw new Error(
        `MemoryStorage.write did not store "${key}" synchronously: create-only and replace cannot be exact`,
      );
    }
    return eTag;
  };
  return {
    guarantees: 'exact',
    read: (keys) => readVersioned(storage, keys),
    async create(key, value) {
      if (storage.memory[key]) return null;
      // Absence was checked in this same tick and MemoryStorage stores synchronously (writeNow
      // verifies it), so a write without an eTag overwrites nothing here.
      return writeNow(key, withoutETag(value));
    },
    async replace(key, value, eTag) {
      if (!isRealETag(eTag) || eTagOf(storage.memory[key]) !== eTag) return null;
      return writeNow(key, { ...withoutETag(value), eTag });
    },
  };
}
