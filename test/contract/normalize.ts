/**
 * Makes the stand-in's and the real server's answers comparable: known ids become their role
 * (`<project>`, `<agent>`, `<request:main>`…), other ids, times, tokens and secrets become a
 * placeholder of their kind, so what remains differs only where the behaviour does.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const OBJECT_ID = /^[0-9a-f]{24}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const JWT = /^(JWT )?eyJ[\w-]+\.[\w-]+\.[\w-]+$/;
/** Numbers that are times, durations or counters of the server (not behaviour). */
const VOLATILE_NUMBERS = new Set([
  'timestamp',
  'iat',
  'exp',
  'duration',
  'waiting_time',
  'ticket_id',
  'number_assigned_requests',
  'waiting_time_avg',
  '__v',
  'versions',
]);

export class Normalizer {
  /** Exact strings → their role name; longest first so ids inside ids are replaced whole. */
  private readonly roles = new Map<string, string>();

  /** `value` is called `<name>` wherever it appears (whole string or inside one). */
  role(value: string, name: string): void {
    if (value) this.roles.set(value, `<${name}>`);
  }

  normalize(value: unknown, key = ''): Json {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number') return VOLATILE_NUMBERS.has(key) ? '<number>' : value;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') return this.text(value, key);
    if (Array.isArray(value)) return value.map((v) => this.normalize(v));
    if (typeof value === 'object') {
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined) out[k] = this.normalize(v, k);
      }
      return out;
    }
    return String(value);
  }

  private text(value: string, key: string): string {
    const role = this.roles.get(value);
    if (role) return role;
    if (JWT.test(value)) return value.startsWith('JWT ') ? 'JWT <jwt>' : '<jwt>';
    if (ISO_DATE.test(value)) return '<date>';
    if (OBJECT_ID.test(value)) return '<objectId>';
    if (UUID.test(value)) return '<uuid>';
    if (key === 'transcript') return '<transcript>';
    let out = value;
    for (const [raw, name] of [...this.roles].sort((a, b) => b[0].length - a[0].length)) {
      if (raw.length >= 8 && out.includes(raw)) out = out.split(raw).join(name);
    }
    return out;
  }
}

export type DiffKind = 'missing' | 'extra' | 'value' | 'type';

/** One difference: `missing` = only the real server has it, `extra` = only the stand-in. */
export interface Difference {
  step: string;
  path: string;
  kind: DiffKind;
  real: string;
  standin: string;
}

/** Field-by-field differences of two normalised values (arrays compared index by index). */
export function diff(step: string, real: Json, standin: Json, path = ''): Difference[] {
  const show = (v: Json | undefined) =>
    v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 120);
  const out: Difference[] = [];
  const push = (kind: DiffKind, p: string, r: Json | undefined, s: Json | undefined) =>
    out.push({ step, path: p || '(root)', kind, real: show(r), standin: show(s) });
  const kindOf = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kindOf(real) !== kindOf(standin)) {
    push('type', path, real, standin);
    return out;
  }
  if (Array.isArray(real) && Array.isArray(standin)) {
    const n = Math.max(real.length, standin.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= standin.length) push('missing', p, real[i], undefined);
      else if (i >= real.length) push('extra', p, undefined, standin[i]);
      else out.push(...diff(step, real[i]!, standin[i]!, p));
    }
    return out;
  }
  if (
    real !== null &&
    typeof real === 'object' &&
    standin !== null &&
    typeof standin === 'object'
  ) {
    const r = real as { [key: string]: Json };
    const s = standin as { [key: string]: Json };
    for (const k of new Set([...Object.keys(r), ...Object.keys(s)])) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in s)) push('missing', p, r[k], undefined);
      else if (!(k in r)) push('extra', p, undefined, s[k]);
      else out.push(...diff(step, r[k]!, s[k]!, p));
    }
    return out;
  }
  if (real !== standin) push('value', path, real, standin);
  return out;
}
