/**
 * `CosmosDbKeyEscape.escapeKey` of botbuilder-azure 4.23.3 (lib/cosmosDbKeyEscape.js), copied so
 * that botbuilder-azure need not be installed: `\ ? / # \t \n \r *` become `*` + hex char code,
 * then `keySuffix` is appended.
 *
 * One deliberate difference: when `compatibilityMode` is not `false` and the escaped key is longer
 * than 255 characters, botbuilder-azure replaces it with `bcrypt.hashSync(key, 10)`, whose random
 * salt gives a different id on every call (so such items cannot be read back even by
 * `CosmosDbPartitionedStorage` itself). This copy throws instead: set `compatibilityMode: false`
 * to use keys up to 1023 characters.
 */
export function escapeCosmosKey(
  key: string,
  keySuffix: string | undefined,
  compatibilityMode: boolean | undefined,
): string {
  if (!key) throw new Error("The 'key' parameter is required.");
  const escaped = key.replace(/[\\?/#\t\n\r*]/g, (c) => `*${c.charCodeAt(0).toString(16)}`);
  const id = `${escaped}${keySuffix || ''}`;
  if (compatibilityMode !== false && id.length > MAX_COMPAT_KEY_LENGTH) {
    throw new Error(
      `Cosmos DB key longer than ${MAX_COMPAT_KEY_LENGTH} characters in compatibilityMode (botbuilder-azure would hash it to a random id): set compatibilityMode: false`,
    );
  }
  return id;
}

const MAX_COMPAT_KEY_LENGTH = 255;
