import type { Clock } from '../../lib';

/**
 * Virtual time for the simulation. Time never moves on its own: the world jumps it to the next
 * timer only when nothing else can run (no scheduled task is pending). Timers belong to an
 * owner (a bot instance, or the world itself); a crashed owner's timers never fire.
 *
 * `installGlobals` also routes the process-wide `setTimeout`/`setImmediate`/`Math.random` into
 * the simulation while a run is in progress, because the current lib still calls them directly
 * (engine.ts batches with `setImmediate`, etag-retry.ts sleeps a `Math.random()` time with the
 * global `setTimeout`, ordered-queue.ts jitters with `Math.random`). Without that, real time and
 * real randomness would leak in and a seed would not reproduce its run. Once the lib uses only
 * the injected clock and `random`, the shim has nothing left to catch.
 */

/** Whoever owns a timer: a crashed owner's timers are dropped. */
export interface Owner {
  readonly id: string;
  readonly crashed: boolean;
}

/** The world's own timers (users' think time, Tiledesk's retries): never crash. */
export const WORLD: Owner = { id: 'world', crashed: false };

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  owner: Owner;
}

/** What `setTimeout` returns here: enough of Node's `Timeout` for the lib (`unref`). */
export class TimerHandle {
  constructor(readonly id: number) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

export class VirtualClock {
  /** Monday 5 January 2026, 09:00 UTC: a fixed start so traces and createdAt values reproduce. */
  static readonly EPOCH = Date.UTC(2026, 0, 5, 9, 0, 0);
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  /** Called with any error a timer callback throws (the lib's timers never should). */
  onTimerError: (err: unknown) => void = () => {};

  constructor(readonly start = VirtualClock.EPOCH) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Milliseconds since the start of the run. */
  get elapsed(): number {
    return this.t - this.start;
  }

  setTimer(fn: () => void, ms: number, owner: Owner): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + delay, fn, owner });
    return new TimerHandle(id);
  }

  clear(handle: unknown): void {
    const id =
      handle instanceof TimerHandle ? handle.id : typeof handle === 'number' ? handle : undefined;
    if (id !== undefined) this.timers.delete(id);
  }

  /** When the next live timer is due, or undefined when none is left. */
  nextAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Live timers (those of crashed owners are not counted). */
  get pending(): number {
    let n = 0;
    for (const t of this.timers.values()) if (!t.owner.crashed) n++;
    return n;
  }

  /** Jumps to the earliest timer (ties: the one set first) and runs it; false if none. */
  fireNext(): boolean {
    const timer = this.earliest();
    if (!timer) return false;
    this.timers.delete(timer.id);
    if (timer.at > this.t) this.t = timer.at;
    try {
      timer.fn();
    } catch (err) {
      this.onTimerError(err);
    }
    return true;
  }

  /** The `Clock` one owner sees: its timers die with it. */
  view(owner: Owner): Clock {
    return {
      now: () => this.t,
      setTimeout: (fn, ms) => this.setTimer(fn, ms, owner),
      clearTimeout: (handle) => this.clear(handle),
    };
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) {
      if (t.owner.crashed) {
        this.timers.delete(t.id);
        continue;
      }
      if (!best || t.at < best.at) best = t; // Map order = creation order breaks ties
    }
    return best;
  }
}

/** The real ones, captured before any shim: the world uses them to let microtasks settle. */
export const realSetImmediate = setImmediate;
const realClearTimeout = clearTimeout;
const realClearImmediate = clearImmediate;
const realRandom = Math.random;

/** Lets every pending microtask run (a real macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

class ImmediateHandle {
  cancelled = false;
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
}

/**
 * Routes the global `setTimeout` to virtual time (owner: the world), `setImmediate` through
 * `immediate` (the world schedules it like any other task) and `Math.random` to `random`, until
 * the returned function is called. Mocha and fast-check keep their own references to the real
 * timers, so they are unaffected.
 */
export function installGlobals(o: {
  clock: VirtualClock;
  immediate: (fn: () => void) => void;
  random: () => number;
}): () => void {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = {
    setTimeout: g['setTimeout'],
    clearTimeout: g['clearTimeout'],
    setImmediate: g['setImmediate'],
    clearImmediate: g['clearImmediate'],
  };
  g['setTimeout'] = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    o.clock.setTimer(() => fn(...args), ms ?? 0, WORLD);
  g['clearTimeout'] = (handle: unknown) => {
    if (handle instanceof TimerHandle) o.clock.clear(handle);
    else realClearTimeout(handle as NodeJS.Timeout);
  };
  g['setImmediate'] = (fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    const handle = new ImmediateHandle();
    o.immediate(() => {
      if (!handle.cancelled) fn(...args);
    });
    return handle;
  };
  g['clearImmediate'] = (handle: unknown) => {
    if (handle instanceof ImmediateHandle) handle.cancelled = true;
    else realClearImmediate(handle as NodeJS.Immediate);
  };
  Math.random = o.random;
  return () => {
    Object.assign(g, saved);
    Math.random = realRandom;
  };
}

/** A small seeded PRNG (mulberry32): the `random` the lib gets, and what `Math.random` becomes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
