import type { KeyValueStorage } from '../core/types';
import { nullOnConflict, isRealETag, isRecord, readVersioned, withoutETag } from './items';
import type { VersionedStorage } from './versioned-storage';

/** The subset of `@azure/storage-blob`'s `BlockBlobClient.upload` options used here. */
interface UploadOptions {
  conditions: { ifNoneMatch: '*' } | { ifMatch: string };
  blobHTTPHeaders: { blobContentType: string };
}

/**
 * The parts of `BlobsStorage` (botbuilder-azure-blobs 4.23.3, lib/blobsStorage.js) this adapter
 * relies on: its `ContainerClient` and its `_initialize()` (creates the container once). Typed by
 * shape so that nothing from botbuilder-azure-blobs or `@azure/*` is loaded here.
 */
export interface BlobsStorageLike extends KeyValueStorage {
  _containerClient: {
    getBlockBlobClient(blobName: string): {
      upload(
        body: string,
        contentLength: number,
        options: UploadOptions,
      ): Promise<{ etag?: string }>;
    };
  };
  _initialize(): Promise<unknown>;
}

/** Shape test for `BlobsStorage` (its private fields; pinned to 4.23.x). */
export function isBlobsStorageLike(storage: unknown): storage is BlobsStorageLike {
  return (
    isRecord(storage) &&
    typeof storage['_initialize'] === 'function' &&
    isRecord(storage['_containerClient']) &&
    typeof storage['_containerClient']['getBlockBlobClient'] === 'function' &&
    typeof storage['read'] === 'function'
  );
}

/**
 * `BlobsStorage`'s key → blob name mapping, copied from botbuilder-azure-blobs 4.23.3
 * (lib/sanitizeBlobKey.js, without the transcript option): empty path segments dropped, at most
 * 254 slashes kept, URI-encoded, cut at 1024 characters.
 */
export function sanitizeBlobKey(key: string): string {
  if (!key) throw new Error('Please provide a non-empty key');
  const sanitized = key
    .split('/')
    .reduce((acc, part, idx) => (part ? [acc, part].join(idx < 255 ? '/' : '') : acc));
  return encodeURIComponent(sanitized).substring(0, 1024);
}

/**
 * `VersionedStorage` over a `BlobsStorage`, `guarantees: 'exact'`: create is an upload with
 * `If-None-Match: *`, replace one with `If-Match: <eTag>`; Azure Storage checks the condition
 * atomically with the write. The eTag returned is the blob's new ETag from the upload response.
 * Items are stored exactly as `BlobsStorage.write` stores them (same container client, blob name
 * and JSON body, `eTag` field left out), so either side reads what the other wrote.
 */
export function blobsVersionedStorage(storage: BlobsStorageLike): VersionedStorage {
  const upload = async (
    key: string,
    value: Record<string, unknown>,
    conditions: UploadOptions['conditions'],
    conflicts: readonly number[],
  ): Promise<string | null> => {
    await storage._initialize();
    const blob = storage._containerClient.getBlockBlobClient(sanitizeBlobKey(key));
    const serialized = JSON.stringify(withoutETag(value));
    // Same body as BlobsStorage; it passes `serialized.length` (UTF-16 units) as the length,
    // Content-Length is in bytes: they differ for non-ASCII text.
    const response = await nullOnConflict(
      () =>
        blob.upload(serialized, Buffer.byteLength(serialized), {
          conditions,
          blobHTTPHeaders: { blobContentType: 'application/json' },
        }),
      conflicts,
    );
    return response === null ? null : (response.etag ?? '');
  };
  return {
    guarantees: 'exact',
    read: (keys) => readVersioned(storage, keys),
    // 409 BlobAlreadyExists (412 is also how HTTP spells a failed If-None-Match).
    create: (key, value) => upload(key, value, { ifNoneMatch: '*' }, [409, 412]),
    // 412 ConditionNotMet; 404 BlobNotFound: deleted meanwhile, a conflict too.
    replace: async (key, value, eTag) =>
      isRealETag(eTag) ? upload(key, value, { ifMatch: eTag }, [412, 404]) : null,
  };
}
