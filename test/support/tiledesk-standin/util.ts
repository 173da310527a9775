import { randomBytes } from 'node:crypto';

/** Shared by every stand-in of the process so ids stay monotonic across instances. */
const processRandom = randomBytes(5).toString('hex');
let lastSeconds = 0;
let counter = 0;

/**
 * ObjectId-like id: 4-byte seconds + 5-byte process random + 3-byte counter (24 hex).
 * Strictly increasing within the process, so sorting by `_id` equals creation order.
 */
export function objectId(): string {
  const seconds = Math.max(lastSeconds, Math.floor(Date.now() / 1000));
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    counter = 0;
  } else if (counter >= 0xffffff) {
    lastSeconds += 1; // borrow the next second rather than wrap the counter
    counter = 0;
  }
  const id = lastSeconds.toString(16).padStart(8, '0') + processRandom;
  return id + (counter++).toString(16).padStart(6, '0');
}

const HEX24 = /^[0-9a-fA-F]{24}$/;

/** mongoose 5 `ObjectId.isValid`: true for 24-hex strings and for ANY 12-character string (§1.5). */
export function isValidObjectId(value: string): boolean {
  return value.length === 12 || HEX24.test(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return undefined;
}

export function record(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

export function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Deep copy of a JSON document (the stand-in never hands out its live objects). */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** setTimeout/setImmediate that `stop()` can cancel. */
export class TimerSet {
  private readonly timeouts = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  private stopped = false;

  after(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timeouts.delete(t);
      fn();
    }, ms);
    this.timeouts.add(t);
  }

  soon(fn: () => void): void {
    if (this.stopped) return;
    const i = setImmediate(() => {
      this.immediates.delete(i);
      fn();
    });
    this.immediates.add(i);
  }

  /** Scheduled callbacks not run yet. */
  get size(): number {
    return this.timeouts.size + this.immediates.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  clear(): void {
    this.stopped = true;
    for (const t of this.timeouts) clearTimeout(t);
    for (const i of this.immediates) clearImmediate(i);
    this.timeouts.clear();
    this.immediates.clear();
  }
}
