import { expect } from 'chai';
import sinon from 'sinon';
import { OrderedQueue, type OrderedQueueOptions } from '../../lib/core/ordered-queue';
import { systemClock } from '../../lib/core/types';

/** A promise the test settles by hand. */
interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function retryable(retryAfterMs?: number): Error & { retryable: true; retryAfterMs?: number } {
  return Object.assign(new Error('try later'), { retryable: true as const, retryAfterMs });
}

describe('OrderedQueue', () => {
  let clock: sinon.SinonFakeTimers;
  /** Every process() call: [time, key, item, attempt]. */
  let calls: [number, string, string, number][];
  let drops: [string, string, unknown, number][];
  let drained: string[];

  /** Lets every pending promise continuation run (no fake time passes). */
  const settle = () => clock.tickAsync(0);

  function queue(
    process: (key: string, item: string, attempt: number) => Promise<void>,
    options: Partial<OrderedQueueOptions<string>> = {},
  ): OrderedQueue<string> {
    return new OrderedQueue<string>({
      clock: systemClock, // reads the global timers, which sinon fakes
      random: () => 0, // no jitter: delay = exp / 2
      process: (key, item, attempt) => {
        calls.push([clock.now, key, item, attempt]);
        return process(key, item, attempt);
      },
      onDrop: (key, item, error, attempts) => drops.push([key, item, error, attempts]),
      onDrained: (key) => drained.push(key),
      ...options,
    });
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    calls = [];
    drops = [];
    drained = [];
  });

  afterEach(() => {
    clock.restore();
  });

  it('processes the items of one key one at a time, in order', async () => {
    const gates = new Map<string, Deferred>();
    const q = queue((_key, item) => {
      const gate = deferred();
      gates.set(item, gate);
      return gate.promise;
    });

    q.push('A', 'a1');
    q.push('A', 'a2');
    q.push('A', 'a3');
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['a1']);
    expect(q.size).to.equal(3);
    expect(q.conversations).to.equal(1);

    gates.get('a1')!.resolve();
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['a1', 'a2']);

    q.push('A', 'a4'); // pushed while a2 runs: goes behind a3
    gates.get('a2')!.resolve();
    await settle();
    gates.get('a3')!.resolve();
    await settle();
    gates.get('a4')!.resolve();
    await settle();

    expect(calls.map((c) => c[2])).to.deep.equal(['a1', 'a2', 'a3', 'a4']);
    expect(calls.every((c) => c[3] === 1)).to.equal(true);
    expect(q.size).to.equal(0);
    expect(drained).to.deep.equal(['A']);
  });

  it('runs different keys concurrently, at most `concurrency` at a time', async () => {
    const gates = new Map<string, Deferred>();
    const q = queue(
      (_key, item) => {
        const gate = deferred();
        gates.set(item, gate);
        return gate.promise;
      },
      { concurrency: 2 },
    );

    q.push('A', 'a1');
    q.push('B', 'b1');
    q.push('C', 'c1');
    q.push('A', 'a2');
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['a1', 'b1']);
    expect(q.conversations).to.equal(3);

    gates.get('b1')!.resolve(); // B drains → its slot goes to C, not to A's second item
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['a1', 'b1', 'c1']);
    expect(drained).to.deep.equal(['B']);

    gates.get('a1')!.resolve();
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['a1', 'b1', 'c1', 'a2']);

    gates.get('c1')!.resolve();
    gates.get('a2')!.resolve();
    await settle();
    expect(q.conversations).to.equal(0);
    expect(drained).to.deep.equal(['B', 'C', 'A']);
  });

  it('runs up to 16 keys at once by default', async () => {
    const gate = deferred();
    const q = queue(() => gate.promise);
    for (let i = 0; i < 20; i++) q.push(`k${i}`, `i${i}`);
    await settle();
    expect(calls).to.have.length(16);
    gate.resolve();
    await settle();
    expect(calls).to.have.length(20);
  });

  it('retries a retryable error with exponential backoff, and the items behind it wait', async () => {
    let failures = 2;
    const q = queue(async (_key, item) => {
      if (item === 'first' && failures-- > 0) throw retryable();
    });
    const start = clock.now;

    q.push('A', 'first');
    q.push('A', 'second');
    await settle();
    expect(calls).to.deep.equal([[start, 'A', 'first', 1]]);

    await clock.tickAsync(124); // attempt 1 failed → delay 250 * 2^0 / 2 = 125 ms
    expect(calls).to.have.length(1);
    await clock.tickAsync(1);
    expect(calls).to.have.length(2);

    await clock.tickAsync(249); // attempt 2 failed → delay 250 * 2^1 / 2 = 250 ms
    expect(calls).to.have.length(2);
    await clock.tickAsync(1);

    expect(calls).to.deep.equal([
      [start, 'A', 'first', 1],
      [start + 125, 'A', 'first', 2],
      [start + 375, 'A', 'first', 3],
      [start + 375, 'A', 'second', 1],
    ]);
    expect(drops).to.deep.equal([]);
  });

  it('honours retryAfterMs when it is longer than the backoff', async () => {
    let failed = false;
    const q = queue(async () => {
      if (!failed) {
        failed = true;
        throw retryable(3000);
      }
    });

    q.push('A', 'x');
    await clock.tickAsync(2999);
    expect(calls).to.have.length(1);
    await clock.tickAsync(1);
    expect(calls.map((c) => c[3])).to.deep.equal([1, 2]);
  });

  it('uses the backoff when retryAfterMs is shorter', async () => {
    let failed = false;
    const q = queue(async () => {
      if (!failed) {
        failed = true;
        throw retryable(10);
      }
    });
    q.push('A', 'x');
    await clock.tickAsync(124);
    expect(calls).to.have.length(1);
    await clock.tickAsync(1);
    expect(calls).to.have.length(2);
  });

  const delays: {
    name: string;
    random: number;
    attempt: number;
    options: Partial<OrderedQueueOptions<string>>;
    delay: number;
  }[] = [
    {
      name: 'full jitter (random → 1) doubles the minimum',
      random: 1,
      attempt: 1,
      options: {},
      delay: 250,
    },
    { name: 'partial jitter (random 0.6)', random: 0.6, attempt: 1, options: {}, delay: 200 },
    {
      name: 'baseDelayMs is honoured',
      random: 0,
      attempt: 1,
      options: { baseDelayMs: 1000 },
      delay: 500,
    },
    {
      name: 'maxDelayMs caps the exponential',
      random: 1,
      attempt: 6,
      options: { maxDelayMs: 2000 },
      delay: 2000,
    },
  ];
  for (const c of delays) {
    it(`backoff delay: ${c.name} → ${c.delay} ms before attempt ${c.attempt + 1}`, async () => {
      let failures = c.attempt;
      const q = queue(
        async () => {
          if (failures-- > 0) throw retryable();
        },
        { ...c.options, random: () => c.random },
      );
      q.push('A', 'x');
      // Run all attempts before the one under test.
      while (calls.length < c.attempt) await clock.nextAsync();
      const failedAt = calls[c.attempt - 1]![0];
      await clock.tickAsync(c.delay - 1 - (clock.now - failedAt));
      expect(calls).to.have.length(c.attempt);
      await clock.tickAsync(1);
      expect(calls).to.have.length(c.attempt + 1);
      expect(calls[c.attempt]![0] - failedAt).to.equal(c.delay);
    });
  }

  it('drops a non-retryable failure once (onDrop) and goes on with the next item', async () => {
    const boom = Object.assign(new Error('400 bad request'), { retryable: false });
    const q = queue(async (_key, item) => {
      if (item === 'bad') throw boom;
    });

    q.push('A', 'bad');
    q.push('A', 'good');
    await settle();
    await clock.tickAsync(60_000);

    expect(calls.map((c) => [c[2], c[3]])).to.deep.equal([
      ['bad', 1],
      ['good', 1],
    ]);
    expect(drops).to.deep.equal([['A', 'bad', boom, 1]]);
  });

  it('treats thrown values without `retryable` (even non-errors) as non-retryable', async () => {
    const q = queue(async (_key, item) => {
      if (item === 'string') throw 'plain string';
      if (item === 'null') throw null;
      if (item === 'error') throw new Error('plain error');
    });
    for (const item of ['string', 'null', 'error', 'ok']) q.push('A', item);
    await settle();
    expect(drops.map((d) => [d[1], d[3]])).to.deep.equal([
      ['string', 1],
      ['null', 1],
      ['error', 1],
    ]);
    expect(calls.map((c) => c[2])).to.deep.equal(['string', 'null', 'error', 'ok']);
  });

  it('drops a retryable item once it is older than maxAgeMs, then goes on', async () => {
    const q = queue(
      async (_key, item) => {
        if (item === 'stuck') throw retryable();
      },
      { maxAgeMs: 1000 },
    );
    const start = clock.now;
    q.push('A', 'stuck');
    q.push('A', 'next');
    await clock.tickAsync(10_000);

    // Attempts at 0, 125, 375, 875 (age < 1000 → retry after 1000), 1875 (age ≥ 1000 → drop).
    expect(calls.filter((c) => c[2] === 'stuck').map((c) => c[0] - start)).to.deep.equal([
      0, 125, 375, 875, 1875,
    ]);
    expect(drops).to.have.length(1);
    expect(drops[0]!.slice(0, 2)).to.deep.equal(['A', 'stuck']);
    expect(drops[0]![2]).to.be.instanceOf(Error).with.property('message', 'try later');
    expect(drops[0]![3]).to.equal(5);
    expect(calls.at(-1)).to.deep.equal([start + 1875, 'A', 'next', 1]);
  });

  it('keeps working when onDrop and onDrained throw', async () => {
    const q = queue(
      async (_key, item) => {
        if (item === 'bad') throw new Error('x');
      },
      {
        onDrop: () => {
          throw new Error('reporter broke');
        },
        onDrained: () => {
          throw new Error('reporter broke');
        },
      },
    );
    q.push('A', 'bad');
    q.push('A', 'good');
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['bad', 'good']);
    expect(q.conversations).to.equal(0);
    q.push('A', 'again');
    await settle();
    expect(calls.map((c) => c[2])).to.deep.equal(['bad', 'good', 'again']);
    await q.whenIdle();
  });

  it('whenIdle resolves at once when nothing is queued', async () => {
    const q = queue(async () => undefined);
    let idle = false;
    void q.whenIdle().then(() => (idle = true));
    await settle();
    expect(idle).to.equal(true);
  });

  it('whenIdle resolves only after every key is done, retries included', async () => {
    const gate = deferred();
    let failed = false;
    const q = queue(async (key) => {
      if (key === 'A') return gate.promise;
      if (!failed) {
        failed = true;
        throw retryable(5000);
      }
    });
    q.push('A', 'a');
    q.push('B', 'b');
    let idle = false;
    void q.whenIdle().then(() => (idle = true));

    await settle();
    gate.resolve();
    await settle();
    expect(idle).to.equal(false); // B is waiting for its retry
    expect(q.conversations).to.equal(1);

    await clock.tickAsync(5000);
    expect(idle).to.equal(true);
    expect(calls.map((c) => [c[1], c[3]])).to.deep.equal([
      ['A', 1],
      ['B', 1],
      ['B', 2],
    ]);
  });

  it('deletes a lane as soon as it drains (conversations back to 0) and recreates it on push', async () => {
    const q = queue(async () => undefined);
    q.push('A', '1');
    q.push('B', '2');
    expect(q.conversations).to.equal(2);
    await settle();
    expect(q.conversations).to.equal(0);
    expect(q.size).to.equal(0);
    expect(drained).to.deep.equal(['A', 'B']);

    q.push('A', '3');
    expect(q.conversations).to.equal(1);
    await q.whenIdle();
    expect(q.conversations).to.equal(0);
    expect(drained).to.deep.equal(['A', 'B', 'A']);
  });
});
