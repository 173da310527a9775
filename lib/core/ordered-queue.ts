import type { Clock } from './types';

/**
 * Per-conversation FIFO queues: items of one conversation are processed one at a time and in
 * order; conversations run concurrently up to `concurrency`. A failing item is retried with
 * exponential backoff and jitter while its error is retryable and younger than `maxAgeMs`, so
 * the items behind it wait (order is kept); otherwise it is reported and dropped.
 * Idle conversations hold nothing: a key's entry is deleted as soon as its queue drains.
 */

export interface RetryableError {
  retryable?: boolean;
  retryAfterMs?: number | undefined;
}

export interface OrderedQueueOptions<T> {
  process(key: string, item: T, attempt: number): Promise<void>;
  /** Called once per dropped item, with the last error. */
  onDrop(key: string, item: T, error: unknown, attempts: number): void;
  /** Called when a key's queue becomes empty. */
  onDrained?(key: string): void;
  clock: Clock;
  concurrency?: number;
  maxAgeMs?: number;
  /** Per-item override of `maxAgeMs`. */
  maxAgeOf?(item: T): number | undefined;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

interface Lane<T> {
  items: { item: T; enqueuedAt: number }[];
  running: boolean;
}

export class OrderedQueue<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  private readonly waiting: string[] = [];
  private active = 0;
  private halted = false;
  private idleWaiters: (() => void)[] = [];
  private readonly opts: Required<Omit<OrderedQueueOptions<T>, 'onDrained' | 'maxAgeOf'>> &
    Pick<OrderedQueueOptions<T>, 'onDrained' | 'maxAgeOf'>;

  constructor(options: OrderedQueueOptions<T>) {
    this.opts = {
      concurrency: 16,
      maxAgeMs: 24 * 60 * 60 * 1000,
      baseDelayMs: 250,
      maxDelayMs: 60_000,
      random: Math.random,
      ...options,
    };
  }

  /** Number of items not yet processed, across all conversations. */
  get size(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.items.length;
    return n;
  }

  get conversations(): number {
    return this.lanes.size;
  }

  /** Keys with items queued or in flight. */
  keys(): string[] {
    return [...this.lanes.keys()];
  }

  /** Items of one key not yet processed (the head may be in flight). */
  itemsOf(key: string): T[] {
    return this.lanes.get(key)?.items.map((e) => e.item) ?? [];
  }

  /**
   * Stops taking up items (shutdown): a call in flight finishes, nothing else starts; what is
   * left stays listed by `keys()` / `itemsOf()` for the owner to hand back.
   */
  halt(): void {
    this.halted = true;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  push(key: string, item: T): void {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { items: [], running: false };
      this.lanes.set(key, lane);
    }
    lane.items.push({ item, enqueuedAt: this.opts.clock.now() });
    if (!lane.running && !this.halted) this.schedule(key, lane);
  }

  /** Resolves when every queue is empty and nothing is in flight. */
  whenIdle(): Promise<void> {
    if (this.lanes.size === 0 || this.halted) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(key: string, lane: Lane<T>): void {
    lane.running = true;
    if (this.active < this.opts.concurrency) {
      this.active++;
      void this.drain(key, lane);
    } else {
      this.waiting.push(key);
    }
  }

  private async drain(key: string, lane: Lane<T>): Promise<void> {
    let attempt = 1;
    while (lane.items.length > 0) {
      if (this.halted) return;
      const head = lane.items[0]!;
      try {
        await this.opts.process(key, head.item, attempt);
      } catch (error) {
        const retry = error as RetryableError | undefined;
        const age = this.opts.clock.now() - head.enqueuedAt;
        const maxAge = this.opts.maxAgeOf?.(head.item) ?? this.opts.maxAgeMs;
        if (retry?.retryable && age < maxAge) {
          await this.sleep(this.delay(attempt, retry.retryAfterMs));
          if (this.halted) return;
          attempt++;
          continue;
        }
        this.safely(() => this.opts.onDrop(key, head.item, error, attempt));
      }
      lane.items.shift();
      attempt = 1;
    }
    this.lanes.delete(key);
    lane.running = false;
    this.safely(() => this.opts.onDrained?.(key));
    this.active--;
    this.next();
  }

  private next(): void {
    while (this.active < this.opts.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      const lane = this.lanes.get(key);
      if (!lane) continue;
      this.active++;
      void this.drain(key, lane);
    }
    if (this.lanes.size === 0 && this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private delay(attempt: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + (this.opts.random() * exp) / 2;
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.opts.clock.setTimeout(resolve, ms);
    });
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // reporting hooks must never break the queue
    }
  }
}
