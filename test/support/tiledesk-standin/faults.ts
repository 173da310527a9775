/** Test controls: injected faults and response holds. */
import type { StandInFault, StandInHold } from './types';

interface ActiveFault {
  method?: string;
  path?: RegExp;
  status: number;
  retryAfterSeconds?: number;
  remaining: number;
  mode: 'status' | 'drop-response' | 'reset';
}

export interface MatchedFault {
  mode: 'status' | 'drop-response' | 'reset';
  status: number;
  retryAfterSeconds?: number;
}

function matches(m: { method?: string; path?: RegExp }, method: string, path: string): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== method) return false;
  if (m.path !== undefined) {
    m.path.lastIndex = 0; // tolerate /g and /y regexps
    if (!m.path.test(path)) return false;
  }
  return true;
}

export class Faults {
  private faults: ActiveFault[] = [];

  add(f: StandInFault): void {
    this.faults.push({
      ...(f.method !== undefined && { method: f.method }),
      ...(f.path !== undefined && { path: f.path }),
      ...(f.retryAfterSeconds !== undefined && { retryAfterSeconds: f.retryAfterSeconds }),
      status: f.status ?? 503,
      remaining: f.times ?? 1,
      mode: f.mode ?? 'status',
    });
  }

  clear(): void {
    this.faults = [];
  }

  /** First matching fault, consumed once per request. */
  take(method: string, path: string): MatchedFault | undefined {
    if (this.faults.length === 0) return undefined;
    const i = this.faults.findIndex((f) => matches(f, method, path));
    const f = this.faults[i];
    if (!f) return undefined;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return {
      mode: f.mode,
      status: f.status,
      ...(f.retryAfterSeconds !== undefined && { retryAfterSeconds: f.retryAfterSeconds }),
    };
  }
}

class Hold implements StandInHold {
  private active = true;
  private readonly queue: Array<() => void> = [];
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(
    private readonly match: { method?: string; path?: RegExp },
    private readonly onRelease: (h: Hold) => void,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get isActive(): boolean {
    return this.active;
  }

  matches(method: string, path: string): boolean {
    return this.active && matches(this.match, method, path);
  }

  enqueue(resume: () => void): void {
    this.queue.push(resume);
    for (const w of [...this.waiters]) {
      if (this.queue.length >= w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  waitForPending(n = 1): Promise<void> {
    if (this.queue.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Deactivates the hold and processes the held requests in arrival order. */
  release(): void {
    if (!this.active) return;
    this.active = false;
    this.onRelease(this);
    for (const resume of this.queue.splice(0)) resume();
  }

  /** stop(): drop the held requests without processing them. */
  discard(): void {
    this.active = false;
    this.queue.length = 0;
  }
}

export class Holds {
  private holds: Hold[] = [];

  add(match: { method?: string; path?: RegExp }): StandInHold {
    const hold = new Hold(match, (h) => {
      this.holds = this.holds.filter((x) => x !== h);
    });
    this.holds.push(hold);
    return hold;
  }

  /** Resolves when the request may be processed (immediately if no hold matches). */
  gate(method: string, path: string, resume: () => void): void {
    const hold = this.holds.find((h) => h.matches(method, path));
    if (hold) hold.enqueue(resume);
    else resume();
  }

  clear(): void {
    for (const h of this.holds) h.discard();
    this.holds = [];
  }
}
