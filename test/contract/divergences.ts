import type { Difference, DiffKind } from './normalize';

/** A row of the table in ./divergences.md: where the stand-in knowingly differs, and why. */
export interface Divergence {
  /** Step name, or `*` for every step. */
  step: string;
  /** Path with `*` for any run of characters (e.g. `body.request.*`). */
  path: string;
  kind: DiffKind | '*';
  reason: string;
}

/**
 * Reads the rows of the markdown table whose header starts `| step | path | kind |`; cells
 * are written in backticks or plain. Rows of any other table are ignored.
 */
export function parseDivergences(markdown: string): Divergence[] {
  const rows: Divergence[] = [];
  let inTable = false;
  for (const line of markdown.split('\n')) {
    const cells = line.startsWith('|') ? line.split('|').slice(1, -1).map(clean) : undefined;
    if (!cells) {
      inTable = false;
      continue;
    }
    if (cells[0] === 'step' && cells[1] === 'path' && cells[2] === 'kind') {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? '')) continue;
    const [step, path, kind, reason] = cells;
    if (!step || !path || !kind || !reason) throw new Error(`bad divergence row: ${line}`);
    if (!['missing', 'extra', 'value', 'type', '*'].includes(kind)) {
      throw new Error(`bad kind "${kind}" in divergence row: ${line}`);
    }
    rows.push({ step, path, kind: kind as Divergence['kind'], reason });
  }
  return rows;
}

function clean(cell: string): string {
  return cell.trim().replace(/^`(.*)`$/, '$1');
}

export function matches(d: Divergence, difference: Difference): boolean {
  return (
    (d.kind === '*' || d.kind === difference.kind) &&
    glob(d.step, difference.step) &&
    glob(d.path, difference.path)
  );
}

function glob(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const re = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`).test(value);
}
