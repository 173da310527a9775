import { expect } from 'chai';
import sinon from 'sinon';
import { MAX_TIMER_MS, Scheduler, type StepResult } from '../../lib/core/scheduler';
import { backoffMs, isPermanentChannelError, MAX_RETRY_AFTER_MS } from '../../lib/core/retry';
import { systemClock } from '../../lib/core/types';

describe('Scheduler (fair, per key)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  const flush = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };

  it('a key waiting for its retry holds no slot: the others go on', async () => {
    const ran: string[] = [];
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 1,
      step: (key): Promise<StepResult> => {
        ran.push(key);
        return Promise.resolve(key === 'failing' ? { retryInMs: 10_000 } : 'idle');
      },
      onError: () => undefined,
    });
    scheduler.wake('failing');
    for (let i = 0; i < 5; i++) scheduler.wake(`ok${i}`);
    await flush();
    expect(ran).to.deep.equal(['failing', 'ok0', 'ok1', 'ok2', 'ok3', 'ok4']);
    await clock.tickAsync(10_000);
    expect(ran.filter((k) => k === 'failing')).to.have.length(2);
    scheduler.halt();
  });

  it("'again' goes to the back of the line: a busy key cannot starve another", async () => {
    const ran: string[] = [];
    let busy = 3;
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 1,
      step: (key): Promise<StepResult> => {
        ran.push(key);
        return Promise.resolve(key === 'busy' && --busy > 0 ? 'again' : 'idle');
      },
      onError: () => undefined,
    });
    scheduler.wake('busy');
    scheduler.wake('other');
    await flush();
    expect(ran).to.deep.equal(['busy', 'other', 'busy', 'busy']);
  });

  it('a wake during a run runs the key again; during a retry wait only when interrupting', async () => {
    let runs = 0;
    let release!: () => void;
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 4,
      step: (): Promise<StepResult> => {
        runs++;
        if (runs === 1) return new Promise((r) => (release = () => r('idle')));
        return Promise.resolve(runs === 2 ? { retryInMs: 5000 } : 'idle');
      },
      onError: () => undefined,
    });
    scheduler.wake('k');
    await flush();
    scheduler.wake('k'); // while running
    release();
    await flush();
    expect(runs).to.equal(2); // ran again, and now waits to retry
    scheduler.wake('k');
    await flush();
    expect(runs).to.equal(2);
    scheduler.wake('k', true);
    await flush();
    expect(runs).to.equal(3);
  });

  it('a huge retry delay is capped (Node fires overflowing timers after 1 ms)', async () => {
    let runs = 0;
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 1,
      step: (): Promise<StepResult> =>
        Promise.resolve(++runs === 1 ? { retryInMs: 2 ** 40 } : 'idle'),
      onError: () => undefined,
    });
    scheduler.wake('k');
    await flush();
    await clock.tickAsync(1000);
    expect(runs).to.equal(1);
    await clock.tickAsync(MAX_TIMER_MS);
    expect(runs).to.equal(2);
  });

  it('halt clears every retry timer (nothing keeps the process alive) and settles whenIdle', async () => {
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 2,
      step: (): Promise<StepResult> => Promise.resolve({ retryInMs: 60_000 }),
      onError: () => undefined,
    });
    scheduler.wake('a');
    scheduler.wake('b');
    await flush();
    expect(clock.countTimers()).to.equal(2);
    const idle = scheduler.whenIdle();
    scheduler.halt();
    await idle;
    expect(clock.countTimers()).to.equal(0);
    expect(scheduler.size).to.equal(0);
  });

  it('a step that throws is reported and retried after a second', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const scheduler = new Scheduler({
      clock: systemClock,
      concurrency: 1,
      step: (): Promise<StepResult> => {
        runs++;
        return runs === 1 ? Promise.reject(new Error('boom')) : Promise.resolve('idle');
      },
      onError: (err) => errors.push(err),
    });
    scheduler.wake('k');
    await flush();
    expect(errors).to.have.length(1);
    await clock.tickAsync(1000);
    expect(runs).to.equal(2);
  });
});

describe('retry policy', () => {
  it('backoff grows, is jittered within [exp/2, exp], and honours Retry-After', () => {
    expect(backoffMs(1, () => 0, undefined)).to.equal(125);
    expect(backoffMs(1, () => 1, undefined)).to.equal(250);
    expect(backoffMs(3, () => 1, undefined)).to.equal(1000);
    expect(backoffMs(40, () => 1, undefined)).to.equal(60_000);
    expect(backoffMs(1, () => 0, 3000)).to.equal(3000);
  });

  it('a Retry-After of 2^31 ms or more, or Infinity, is capped', () => {
    expect(backoffMs(1, () => 0, 2 ** 31)).to.equal(MAX_RETRY_AFTER_MS);
    expect(backoffMs(1, () => 0, Number.POSITIVE_INFINITY)).to.equal(MAX_RETRY_AFTER_MS);
  });

  it('channel errors: 400/401/403/404 are permanent; 408, 429, 5xx and network errors are not', () => {
    for (const s of [400, 401, 403, 404])
      expect(isPermanentChannelError({ statusCode: s })).to.equal(true);
    for (const s of [408, 429, 500, 503])
      expect(isPermanentChannelError({ statusCode: s })).to.equal(false);
    expect(isPermanentChannelError(new Error('ECONNRESET'))).to.equal(false);
  });
});
