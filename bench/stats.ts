/**
 * Timing and statistics helpers for the benchmark: hrtime clocks, percentiles, formatting and
 * plain-text tables. Times are kept in microseconds (floating point).
 */

/** A monotonic timestamp in nanoseconds. */
export function now(): bigint {
  return process.hrtime.bigint();
}

/** Microseconds elapsed since `start` (from {@link now}). */
export function usSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** Microseconds between two {@link now} timestamps. */
export function usBetween(start: bigint, end: bigint): number {
  return Number(end - start) / 1000;
}

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    n: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Median of a few values (e.g. per-round rates). */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Rounds a number for JSON output (3 significant decimals are plenty here). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "12.3 µs", "1.24 ms", "2.10 s": the unit that keeps 3 significant digits. */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  const abs = Math.abs(us);
  if (abs < 1000) return `${us.toFixed(abs < 10 ? 2 : 1)} µs`;
  if (abs < 1_000_000) return `${(us / 1000).toFixed(abs < 10_000 ? 3 : 2)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** A difference with its sign: "+12.3 µs", "−0.80 µs". */
export function fmtDelta(us: number): string {
  return us < 0 ? `−${fmtUs(-us)}` : `+${fmtUs(us)}`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return 'n/a';
  if (Math.abs(b) < 10_000) return `${b.toFixed(0)} B`;
  if (Math.abs(b) < 10_000_000) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  notes?: string[];
}

/** Renders a table with aligned columns (first column left, the others right). */
export function renderTable(t: Table): string {
  const widths = t.headers.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [t.title, line(t.headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of t.rows) out.push(line(r));
  for (const n of t.notes ?? []) out.push(`  ${n}`);
  return out.join('\n');
}

/** A summary with its figures rounded, for the JSON file. */
export function roundSummary(s: Summary): Record<string, number> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v)]));
}

export function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
