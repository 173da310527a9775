import type { KeyValueStorage } from '../core/types';
import { blobsVersionedStorage, isBlobsStorageLike } from './blobs';
import { cosmosVersionedStorage, isCosmosStorageLike } from './cosmos';
import { fallbackVersionedStorage } from './fallback';
import { isMemoryStorageLike, memoryVersionedStorage } from './memory';
import type { VersionedStorage } from './versioned-storage';

/** True for an object that already implements `VersionedStorage`. */
export function isVersionedStorage(storage: unknown): storage is VersionedStorage {
  if (typeof storage !== 'object' || storage === null) return false;
  const s = storage as Partial<Record<keyof VersionedStorage, unknown>>;
  return (
    typeof s.read === 'function' &&
    typeof s.create === 'function' &&
    typeof s.replace === 'function' &&
    (s.guarantees === 'exact' || s.guarantees === 'fallback')
  );
}

/**
 * The `VersionedStorage` for a botbuilder `Storage` (or the argument itself if it already is
 * one). Recognised by shape, never by `instanceof` and without loading their packages:
 * - `MemoryStorage` (botbuilder) → `guarantees: 'exact'` within this process;
 * - `BlobsStorage` (botbuilder-azure-blobs 4.23.x) → `'exact'` (If-None-Match / If-Match);
 * - `CosmosDbPartitionedStorage` (botbuilder-azure 4.23.x) → `'exact'` (create / IfMatch replace);
 * - any other `Storage` → `'fallback'`: create-only is read-then-write (racy), replace relies on
 *   the storage's eTag check, and eTags are returned as `''` (see fallback.ts).
 * Reads always go through the storage's own `read`; items written through the adapter are
 * stored the way the storage's own `write` stores them, so both stay interchangeable.
 */
export function toVersionedStorage(storage: KeyValueStorage | VersionedStorage): VersionedStorage {
  if (isVersionedStorage(storage)) return storage;
  if (isMemoryStorageLike(storage)) return memoryVersionedStorage(storage);
  if (isBlobsStorageLike(storage)) return blobsVersionedStorage(storage);
  if (isCosmosStorageLike(storage)) return cosmosVersionedStorage(storage);
  return fallbackVersionedStorage(storage);
}
