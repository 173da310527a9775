import type { Clock } from '../../lib';

/**
 * A clock for loopback tests of retry logic: real time for `now()`, but every wait below
 * `keepAboveMs` is shortened to at most `capMs`, and every requested wait is recorded, so a
 * test can assert *what* the code asked to wait (e.g. a Retry-After) without sleeping for it.
 */
export function fastClock(
  options: { capMs?: number; keepAboveMs?: number; offsetMs?: number } = {},
) {
  const capMs = options.capMs ?? 5;
  const keepAboveMs = options.keepAboveMs ?? 30_000;
  const waits: number[] = [];
  const clock: Clock = {
    now: () => Date.now() + (options.offsetMs ?? 0),
    setTimeout: (fn, ms) => {
      waits.push(ms);
      return setTimeout(fn, ms >= keepAboveMs ? ms : Math.min(ms, capMs));
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
  return { clock, waits };
}
