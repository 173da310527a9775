/** Small helpers shared by the content mappings (pure). */

/**
 * Makes text inert for Tiledesk: a backslash before `agent`/`close` would run the `\agent` /
 * `\close` command (§4.1) and `${KEY}` would be replaced by a project label (§3.6). The
 * look-alike U+29F5 and a zero-width space keep the text readable for the agent.
 */
export function neutralize(text: string): string {
  return text.replace(/\\(?=\s*(agent|close))/gi, '\u29F5').replace(/\$\{/g, '$\u200B{');
}

/** A URL Tiledesk can show (never an inline `data:` URL: it would bloat every transcript). */
export function usableUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const url = value.trim();
  return url && !/^data:/i.test(url) ? url : undefined;
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A non-blank string, trimmed; otherwise undefined. */
export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** The non-blank strings of `values`, trimmed. */
export function lines(...values: unknown[]): string[] {
  return values.map(textOf).filter((v): v is string => v !== undefined);
}
