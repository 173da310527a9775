import type { KeyValueStorage } from '../core/types';
import type { VersionedItem } from './versioned-storage';

/** Internal helpers shared by the storage adapters. */

/** True for a non-null, non-array object (class instances included). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A shallow copy of `value` without its `eTag` field. */
export function withoutETag(value: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value };
  delete copy['eTag'];
  return copy;
}

/**
 * `''` and `'*'` are not eTags of any stored item (botbuilder storages treat them as "write
 * unconditionally"), so a replace given one of them never matches.
 */
export function isRealETag(eTag: string): boolean {
  return eTag !== '' && eTag !== '*';
}

/** Reads through the storage's own `read`: existing keys only, `eTag` moved out of the value. */
export async function readVersioned(
  storage: KeyValueStorage,
  keys: readonly string[],
): Promise<Map<string, VersionedItem>> {
  const result = new Map<string, VersionedItem>();
  if (keys.length === 0) return result;
  const found: Record<string, unknown> = await storage.read([...new Set(keys)]);
  for (const key of keys) {
    const item = found[key];
    if (!isRecord(item)) continue;
    const eTag = typeof item['eTag'] === 'string' ? item['eTag'] : '';
    result.set(key, { value: withoutETag(item), eTag });
  }
  return result;
}

/** The HTTP-like status of an SDK error: `statusCode` (Azure Blob) or a numeric `code` (Cosmos). */
export function errorStatus(err: unknown): number | undefined {
  if (!isRecord(err)) return undefined;
  if (typeof err['statusCode'] === 'number') return err['statusCode'];
  if (typeof err['code'] === 'number') return err['code'];
  return undefined;
}

/**
 * Runs a conditional write; a failure with one of the `conflicts` statuses (the engine saying
 * "the condition did not hold") becomes `null`, anything else is thrown.
 */
export async function nullOnConflict<T>(
  write: () => Promise<T>,
  conflicts: readonly number[],
): Promise<T | null> {
  try {
    return await write();
  } catch (err) {
    const status = errorStatus(err);
    if (status !== undefined && conflicts.includes(status)) return null;
    throw err;
  }
}
