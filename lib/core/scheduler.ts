import type { Clock } from './types';

/**
 * Runs work per key (a conversation) with bounded concurrency, fairly:
 * - one run per key at a time (a key's work stays in order);
 * - a run does one step and says what next: `again` (goes to the back of the line, so a busy
 *   conversation cannot starve the others), `idle`, or `retry` after a delay;
 * - a key waiting for its retry holds NO slot: a conversation whose Tiledesk posts or proactive
 *   sends keep failing never stops the others;
 * - a `wake` during a run makes the key run again afterwards; a `wake` during a retry wait is
 *   ignored unless asked (the step that failed must go first).
 */

export type StepResult = 'again' | 'idle' | { retryInMs: number };

export interface SchedulerOptions {
  clock: Clock;
  concurrency: number;
  step(key: string): Promise<StepResult>;
  /** A step threw (it should not): reported, and the key retried after a second. */
  onError(error: unknown, key: string): void;
}

type State = 'queued' | 'running' | 'rerun' | 'sleeping';

/** Longest wait a timer is asked for: Node fires longer ones after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export class Scheduler {
  private readonly states = new Map<string, State>();
  private readonly timers = new Map<string, unknown>();
  private readonly line: string[] = [];
  private active = 0;
  private halted = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: SchedulerOptions) {}

  /** Keys queued, running or waiting to retry. */
  get size(): number {
    return this.states.size;
  }

  has(key: string): boolean {
    return this.states.has(key);
  }

  /** Makes `key` run soon; `interrupt` also cuts a retry wait short. */
  wake(key: string, interrupt = false): void {
    if (this.halted) return;
    const state = this.states.get(key);
    if (state === 'running') this.states.set(key, 'rerun');
    else if (state === 'sleeping' && interrupt) {
      this.o.clock.clearTimeout(this.timers.get(key));
      this.timers.delete(key);
      this.enqueue(key);
    } else if (state === undefined) this.enqueue(key);
  }

  /** Stops: no step starts any more, retry timers are cleared (nothing keeps the process up). */
  halt(): void {
    this.halted = true;
    for (const timer of this.timers.values()) this.o.clock.clearTimeout(timer);
    this.timers.clear();
    for (const [key, state] of this.states) if (state !== 'running') this.states.delete(key);
    this.line.length = 0;
    this.settleIdle();
  }

  /** Resolves when no key is queued, running or waiting to retry. */
  whenIdle(): Promise<void> {
    if (this.states.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(key: string): void {
    this.states.set(key, 'queued');
    this.line.push(key);
    this.pump();
  }

  private pump(): void {
    while (!this.halted && this.active < this.o.concurrency && this.line.length > 0) {
      const key = this.line.shift()!;
      if (this.states.get(key) !== 'queued') continue;
      this.states.set(key, 'running');
      this.active++;
      void this.run(key);
    }
    this.settleIdle();
  }

  private async run(key: string): Promise<void> {
    let result: StepResult;
    try {
      result = await this.o.step(key);
    } catch (err) {
      try {
        this.o.onError(err, key);
      } catch {
        // a reporting hook must never break the scheduler
      }
      result = { retryInMs: 1000 };
    }
    this.active--;
    const rerun = this.states.get(key) === 'rerun';
    if (this.halted) this.states.delete(key);
    else if (result === 'again' || (result === 'idle' && rerun)) this.enqueue(key);
    else if (result === 'idle') this.states.delete(key);
    else this.sleep(key, result.retryInMs);
    this.pump();
  }

  private sleep(key: string, ms: number): void {
    this.states.set(key, 'sleeping');
    const timer = this.o.clock.setTimeout(
      () => {
        this.timers.delete(key);
        if (this.states.get(key) === 'sleeping') this.enqueue(key);
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    );
    (timer as { unref?: () => unknown }).unref?.();
    this.timers.set(key, timer);
  }

  private settleIdle(): void {
    if (this.states.size > 0 && !this.halted) return;
    if (this.active > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
