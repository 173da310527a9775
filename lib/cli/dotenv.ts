/**
 * A `.env` reader for the doctor, the common subset of dotenv's format (no new dependency for
 * one file): `KEY=value` lines, optional `export `, `#` comments (whole lines, or after an
 * unquoted value preceded by a space), values in single quotes (literal) or double quotes
 * (`\n`, `\"` and `\\` unescaped, may span lines). No variable expansion. Malformed lines are
 * skipped and counted.
 */
export function parseDotenv(text: string): { values: Record<string, string>; skipped: number } {
  const values: Record<string, string> = {};
  let skipped = 0;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      skipped++;
      continue;
    }
    const key = match[1]!;
    let rest = match[2]!;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // A quoted value may continue on the next lines until its closing quote.
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        body += '\n' + lines[++i]!;
        end = closingQuote(body, quote);
      }
      if (end < 0) {
        skipped++;
        continue;
      }
      const raw = body.slice(0, end);
      values[key] = quote === '"' ? unescape(raw) : raw;
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment >= 0) rest = rest.slice(0, comment);
    values[key] = rest.trim();
  }
  return { values, skipped };
}

function closingQuote(text: string, quote: string): number {
  for (let i = 0; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

function unescape(text: string): string {
  return text.replace(/\\([nrt"\\])/g, (_m, c: string) =>
    c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
  );
}
