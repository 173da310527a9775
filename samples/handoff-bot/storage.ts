import { MemoryStorage, type Storage } from 'botbuilder';
import type { AppSettings } from '../../lib';

/** A wrong sample setting; the message names the setting and never echoes its value. */
export class SampleSettingError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`Invalid setting ${key}: ${problem}`);
    this.name = 'SampleSettingError';
  }
}

const CONNECTION = 'BlobsStorageConnectionString';
const CONTAINER = 'BlobsStorageContainerName';
/** Azure's container name rules: 3–63 of a-z 0-9 and single hyphens, no hyphen at either end. */
const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * The bot's storage from app settings: `BlobsStorage` (botbuilder-azure-blobs) when
 * `BlobsStorageConnectionString` and `BlobsStorageContainerName` are both set, so that several
 * bot instances share conversation state; `MemoryStorage` when neither is. Throws a
 * `SampleSettingError` naming the setting when only one is set or a value is unusable.
 */
export async function sampleStorage(env: AppSettings): Promise<Storage> {
  const connectionString = env[CONNECTION]?.trim() || undefined;
  const containerName = env[CONTAINER]?.trim() || undefined;
  if (!connectionString && !containerName) return new MemoryStorage();
  if (!connectionString) {
    throw new SampleSettingError(CONNECTION, `required when ${CONTAINER} is set`);
  }
  if (!containerName) {
    throw new SampleSettingError(CONTAINER, `required when ${CONNECTION} is set`);
  }
  if (!CONTAINER_NAME.test(containerName)) {
    throw new SampleSettingError(
      CONTAINER,
      'must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit',
    );
  }
  // Loaded only when used: the Azure SDK is large.
  const { BlobsStorage } = await import('botbuilder-azure-blobs');
  try {
    return new BlobsStorage(connectionString, containerName);
  } catch {
    // The SDK's own message may quote the connection string, which holds the account key.
    throw new SampleSettingError(CONNECTION, 'is not a valid Azure Storage connection string');
  }
}
