/**
 * Settings that are ignored because their name is wrong: a misspelt `Tiledesk…` app setting
 * (`TiledeskHandoffKeyword`, `TiledeskProjectID`, `tiledeskProjectId`), a camelCase option name
 * put in the app settings (`projectId`), or an unknown key in the programmatic `settings`.
 * Only names are reported, never values (a value may be a password).
 */

/** One ignored key and the valid key it is closest to. */
export interface UnknownSetting {
  /** Where it was found: the app settings (`process.env`…) or the `settings` option. */
  source: 'appSettings' | 'settings';
  key: string;
  suggestion: string;
}

/** The valid names: PascalCase app-setting key → camelCase option name. */
export type KnownSettings = ReadonlyMap<string, string>;

/**
 * The keys of `appSettings` and `overrides` that are not settings but look meant as one.
 * App settings are the whole environment, so only names starting with "tiledesk" (any case) and
 * exact option names count; an all-capitals `TILEDESK_…` name belongs to other tools unless,
 * without its underscores, it is a valid key (`TILEDESK_PROJECT_ID`).
 */
export function unknownSettings(
  appSettings: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>>,
  known: KnownSettings,
): UnknownSetting[] {
  const keys = [...known.keys()];
  const options = new Map([...known].map(([key, option]) => [option, key]));
  const found: UnknownSetting[] = [];
  for (const key of Object.keys(appSettings)) {
    if (known.has(key) || appSettings[key] === undefined) continue;
    const asKey = options.get(key);
    if (asKey !== undefined) {
      found.push({ source: 'appSettings', key, suggestion: asKey });
    } else if (/^tiledesk/i.test(key)) {
      const suggestion = closest(key, keys);
      if (key !== key.toUpperCase() || squash(key) === squash(suggestion))
        found.push({ source: 'appSettings', key, suggestion });
    }
  }
  const optionNames = [...known.values()];
  for (const key of Object.keys(overrides)) {
    if (options.has(key) || overrides[key] === undefined) continue;
    // `TiledeskBotName` in `settings` means `botName`: compare without the prefix.
    const suggestion = closest(key.replace(/^tiledesk_?/i, ''), optionNames);
    found.push({ source: 'settings', key, suggestion });
  }
  return found;
}

/** One line for the logger: every ignored key and what it probably meant. */
export function unknownSettingsMessage(found: readonly UnknownSetting[]): string {
  const list = found.map((f) => `${f.source}.${f.key} (did you mean ${f.suggestion}?)`);
  return `Ignored unknown settings: ${list.join(', ')}`;
}

/** The name closest to `key` (Levenshtein distance, case-insensitive, "_" ignored); ties: the first. */
function closest(key: string, names: readonly string[]): string {
  const k = squash(key);
  let best = names[0]!;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = distance(k, squash(name));
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function squash(name: string): string {
  return name.toLowerCase().replace(/_/g, '');
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = row;
  }
  return previous[b.length]!;
}
