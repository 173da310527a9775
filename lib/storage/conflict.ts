/**
 * True when `err` is the "someone else wrote first" failure of a conditional (eTag) write by one
 * of botbuilder's storages, in any of the forms they throw it:
 * - `MemoryStorage` and `BlobsStorage`: `Error('Storage: error writing "<key>" due to eTag conflict.')`;
 * - the Azure Blob SDK's own `RestError`: `statusCode` 412, `code` `'ConditionNotMet'`;
 * - `CosmosDbPartitionedStorage`: the Cosmos SDK's `ErrorResponse` with `code` 412, its message
 *   prefixed `[Error upserting document]` and holding "One of the specified pre-condition is not met".
 * False for anything else (network errors, 404s, non-objects).
 */
export function isETagConflict(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, statusCode, message } = err as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
  };
  if (statusCode === 412 || code === 412 || code === '412' || code === 'ConditionNotMet') {
    return true;
  }
  return typeof message === 'string' && /eTag conflict|pre-?condition is not met/i.test(message);
}
