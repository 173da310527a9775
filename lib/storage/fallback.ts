import type { KeyValueStorage } from '../core/types';
import { isETagConflict } from './conflict';
import { isRealETag, readVersioned, withoutETag } from './items';
import type { VersionedStorage } from './versioned-storage';

/**
 * Best-effort `VersionedStorage` over any botbuilder `Storage`, `guarantees: 'fallback'`:
 * - `create` reads the key and writes (without an eTag) only if it is absent. NOT atomic: two
 *   writers (in this process or another) that both read "absent" both write, and the later one
 *   silently overwrites the earlier. Callers must tolerate that, or use an exact adapter.
 * - `replace` writes with the eTag and relies on the storage to enforce it; a conflict is
 *   recognised by `isETagConflict`. Exact only if the storage checks eTags atomically, and a
 *   storage that ignores eTags for missing items (as `MemoryStorage` does) re-creates a deleted
 *   item instead of reporting a conflict.
 * - Both return `''`: `Storage.write` does not tell the new eTag (read again to learn it).
 */
export function fallbackVersionedStorage(storage: KeyValueStorage): VersionedStorage {
  return {
    guarantees: 'fallback',
    read: (keys) => readVersioned(storage, keys),
    async create(key, value) {
      if ((await readVersioned(storage, [key])).has(key)) return null;
      // Race window: another writer may create the key between the read above and this write.
      await storage.write({ [key]: withoutETag(value) });
      return '';
    },
    async replace(key, value, eTag) {
      if (!isRealETag(eTag)) return null;
      try {
        await storage.write({ [key]: { ...withoutETag(value), eTag } });
        return '';
      } catch (err) {
        if (isETagConflict(err)) return null;
        throw err;
      }
    },
  };
}
