import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The first column of the README table that follows the line starting with `intro` (the
 * mapping tables of "What each message becomes"), so a test can check every row is a case.
 */
export function readmeRows(intro: string): string[] {
  const lines = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith(intro));
  if (start < 0) throw new Error(`README: no line starting with "${intro}"`);
  const rows: string[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    rows.push(line.split('|')[1]!.trim());
  }
  return rows.slice(2); // the header and the separator
}
