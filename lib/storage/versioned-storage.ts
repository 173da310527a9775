/**
 * What the state layer needs from storage, beyond botbuilder's `Storage` interface:
 * - a **create-only** write (botbuilder's `write` without an eTag, or with `'*'`, overwrites
 *   whatever another instance wrote meanwhile);
 * - a **conditional replace** that says "conflict" as a value instead of an engine-specific error;
 * - the **new eTag** after a write where the engine returns it, so the next conditional write of
 *   the same key needs no read.
 *
 * `toVersionedStorage()` (./adapt.ts) builds one from any botbuilder `Storage`: exact for
 * `MemoryStorage`, `BlobsStorage` (botbuilder-azure-blobs) and `CosmosDbPartitionedStorage`
 * (botbuilder-azure); a best-effort fallback for any other `Storage` (see its limits there).
 * A host can also pass its own implementation of this interface.
 */

/** One stored item: its value (without `eTag`) and the eTag it was read with. */
export interface VersionedItem {
  value: Record<string, unknown>;
  eTag: string;
}

export interface VersionedStorage {
  /** Items that exist, by key; missing keys are absent from the result. */
  read(keys: readonly string[]): Promise<Map<string, VersionedItem>>;
  /**
   * Writes `value` only if nothing is stored under `key`.
   * @returns the new eTag (`''` when the engine does not tell it), or `null` if the key exists.
   */
  create(key: string, value: Record<string, unknown>): Promise<string | null>;
  /**
   * Writes `value` only if what is stored under `key` still has `eTag`.
   * @returns the new eTag (`''` when the engine does not tell it), or `null` on a conflict
   * (another writer changed or deleted the item).
   */
  replace(key: string, value: Record<string, unknown>, eTag: string): Promise<string | null>;
  /** `exact` when create-only and replace are atomic in the engine; `fallback` otherwise. */
  readonly guarantees: 'exact' | 'fallback';
}
