import type { KeyValueStorage } from '../core/types';
import { escapeCosmosKey } from './cosmos-key';
import { nullOnConflict, isRealETag, isRecord, readVersioned, withoutETag } from './items';
import type { VersionedStorage } from './versioned-storage';

/** How `CosmosDbPartitionedStorage` stores an item (its `DocumentStoreItem`, serialised). */
export interface CosmosDocument {
  id: string;
  realId: string;
  document: Record<string, unknown>;
}

/** The subset of the `@azure/cosmos` v4 `ItemResponse` used here. */
interface CosmosItemResponse {
  resource?: unknown;
  etag?: string;
}

/** The subset of the `@azure/cosmos` v4 `Container` API used here. */
export interface CosmosContainerLike {
  items: { create(body: CosmosDocument): Promise<CosmosItemResponse> };
  item(
    id: string,
    partitionKey: string | undefined,
  ): {
    replace(
      body: CosmosDocument,
      options: { accessCondition: { type: 'IfMatch'; condition: string } },
    ): Promise<CosmosItemResponse>;
  };
}

/**
 * The parts of `CosmosDbPartitionedStorage` (botbuilder-azure 4.23.3,
 * lib/cosmosDbPartitionedStorage.js) this adapter relies on: its options (key suffix,
 * compatibility mode), `initialize()` (client, database and container, once), the `container` it
 * sets, and `compatibilityModePartitionKey` (true for old containers without an `/id` partition
 * key: items are then addressed without a partition key).
 */
export interface CosmosStorageLike extends KeyValueStorage {
  cosmosDbStorageOptions: { keySuffix?: string; compatibilityMode?: boolean };
  compatibilityModePartitionKey: boolean;
  container?: CosmosContainerLike;
  initialize(): Promise<void>;
}

/** Shape test for `CosmosDbPartitionedStorage` (its fields; pinned to 4.23.x). */
export function isCosmosStorageLike(storage: unknown): storage is CosmosStorageLike {
  return (
    isRecord(storage) &&
    isRecord(storage['cosmosDbStorageOptions']) &&
    typeof storage['compatibilityModePartitionKey'] === 'boolean' &&
    typeof storage['initialize'] === 'function' &&
    typeof storage['read'] === 'function'
  );
}

function eTagOf(response: CosmosItemResponse): string {
  const resource = response.resource;
  if (isRecord(resource) && typeof resource['_etag'] === 'string') return resource['_etag'];
  return response.etag ?? '';
}

/**
 * `VersionedStorage` over a `CosmosDbPartitionedStorage`, `guarantees: 'exact'`: create is
 * `container.items.create` (Cosmos refuses an existing id with 409), replace is
 * `item(id, partitionKey).replace` with an `IfMatch` access condition (412 on a stale eTag, 404
 * if deleted); both are atomic in Cosmos. Returns the document's new `_etag`. Documents have the
 * shape, id escaping and partition key that `CosmosDbPartitionedStorage` uses, so its `read`
 * returns them. Keys longer than 255 characters need `compatibilityMode: false` (see
 * `escapeCosmosKey`).
 */
export function cosmosVersionedStorage(storage: CosmosStorageLike): VersionedStorage {
  const target = async (key: string, value: Record<string, unknown>) => {
    const { keySuffix, compatibilityMode } = storage.cosmosDbStorageOptions;
    const id = escapeCosmosKey(key, keySuffix, compatibilityMode);
    await storage.initialize();
    const container = storage.container;
    if (!container) throw new Error('CosmosDbPartitionedStorage.initialize() set no container');
    const doc: CosmosDocument = { id, realId: key, document: withoutETag(value) };
    return { container, doc, partitionKey: storage.compatibilityModePartitionKey ? undefined : id };
  };
  const orNull = async (
    write: () => Promise<CosmosItemResponse>,
    conflicts: readonly number[],
  ): Promise<string | null> => {
    const response = await nullOnConflict(write, conflicts);
    return response === null ? null : eTagOf(response);
  };
  return {
    guarantees: 'exact',
    read: (keys) => readVersioned(storage, keys),
    async create(key, value) {
      const { container, doc } = await target(key, value);
      return orNull(() => container.items.create(doc), [409]);
    },
    async replace(key, value, eTag) {
      if (!isRealETag(eTag)) return null;
      const { container, doc, partitionKey } = await target(key, value);
      const options = { accessCondition: { type: 'IfMatch', condition: eTag } } as const;
      return orNull(() => container.item(doc.id, partitionKey).replace(doc, options), [412, 404]);
    },
  };
}
