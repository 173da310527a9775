/**
 * Section 1 — turn overhead in process: a TestAdapter echo bot, variants interleaved in blocks
 * (order rotated each round) so drift hits every variant alike. Timed region: one
 * `processActivity` turn; between turns the event loop turns once (as between requests of a
 * real bot), outside the timed region.
 */
import axios from 'axios';
import { MemoryTranscriptStore, TestAdapter, TranscriptLoggerMiddleware } from 'botbuilder';
import {
  adminToken,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  ourMiddleware,
  type SectionResult,
  sleep,
  startStandin,
  userMessage,
  withTimeout,
  yieldLoop,
} from './common';
import { NaiveMirror } from './naive-mirror';
import {
  fmtDelta,
  roundSummary,
  fmtInt,
  fmtRatio,
  fmtUs,
  now,
  round,
  summarize,
  type Summary,
  usSince,
} from './stats';

const CONVERSATIONS = 100;
const BLOCK = 50;
const HEADERS = ['variant', 'p50', 'p90', 'p99', 'p50/(a)', 'p99/(a)', 'p50 over (a)', "vs (b)'s"];

interface Variant {
  key: string;
  label: string;
  adapter: TestAdapter;
  samples: number[];
  /** Runs after each block, outside any timed region. */
  afterBlock?: () => Promise<void>;
}

export async function turnOverhead(opts: BenchOptions): Promise<SectionResult> {
  const warm = opts.quick ? 100 : 500;
  const measured = opts.quick ? 300 : 5000;
  const drainWindowMs = opts.quick ? 1000 : 3000;
  const fast = await startStandin();
  const slow = await startStandin();
  const http = axios.create({ maxRedirects: 0 });
  const token = await adminToken(fast);
  try {
    const c = ourMiddleware(fast);
    const dCount = countRequests(slow.url);
    const d = ourMiddleware(slow);
    const bare = new TestAdapter();
    const tlm = new TestAdapter().use(new TranscriptLoggerMiddleware(new MemoryTranscriptStore()));
    const naive = new TestAdapter().use(new NaiveMirror(http, fast, token));
    const idle = (t: { whenIdle(): Promise<void> }, what: string) =>
      withTimeout(t.whenIdle(), 120_000, what);
    const variants: Variant[] = [
      { key: 'a', label: '(a) no middleware', adapter: bare, samples: [] },
      { key: 'b', label: '(b) TranscriptLogger+Memory', adapter: tlm, samples: [] },
      {
        key: 'c',
        label: '(c) ours, stand-in at once',
        adapter: c.adapter,
        samples: [],
        afterBlock: () => idle(c.tiledesk, 'mirroring of (c)'),
      },
      { key: 'd', label: '(d) ours, stand-in 200 ms', adapter: d.adapter, samples: [] },
      { key: 'e', label: '(e) naive, awaits each post', adapter: naive, samples: [] },
    ];

    let seq = 0;
    const run = async (v: Variant, count: number, record: boolean) => {
      for (let k = 0; k < count; k++) {
        const i = seq++;
        const conv = i % CONVERSATIONS;
        const activity = userMessage(`conv-${conv}`, `user-${conv}`, `hello ${i}`);
        const t0 = now();
        await v.adapter.processActivity(activity, echo);
        const us = usSince(t0);
        if (record) v.samples.push(us);
        await yieldLoop();
      }
      v.adapter.activeQueue.length = 0;
      d.adapter.proactiveCalls.length = 0;
      await v.afterBlock?.();
    };

    // Warm-up (every conversation gets its record and Tiledesk request), stand-ins at once.
    for (let done = 0; done < warm; done += BLOCK)
      for (const v of variants) await run(v, BLOCK, false);
    await idle(c.tiledesk, 'warm-up (c)');
    await idle(d.tiledesk, 'warm-up (d)');
    await slow.setLatency(200);
    const postedBefore = dCount.posted();

    let maxBacklog = 0;
    let dTurns = 0; // each turn of (d) enqueues 2 posts: the user's message and the reply
    const backlogOfD = () => 2 * dTurns - (dCount.posted() - postedBefore);
    const loopStart = now();
    for (let round = 0; round * BLOCK < measured; round++) {
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(round + j) % variants.length]!;
        await run(v, BLOCK, true);
        if (v.key === 'd') dTurns += BLOCK;
      }
      maxBacklog = Math.max(maxBacklog, backlogOfD());
    }
    const loopUs = usSince(loopStart);

    // (d): the backlog drains at most 16 conversations × 1 post / 200 ms. Measure that rate
    // for a window, project the drain time, then answer at once to finish the drain quickly.
    const backlogAtEnd = backlogOfD();
    const p0 = dCount.posted();
    await sleep(drainWindowMs);
    const drainRate = (dCount.posted() - p0) / (drainWindowMs / 1000);
    const projectedDrainS = backlogAtEnd / Math.max(drainRate, 1e-9);

    // The naive middleware against the slow stand-in: a handful of turns show the user's wait.
    const slowNaive = new TestAdapter().use(new NaiveMirror(http, slow, await adminToken(slow)));
    const naiveSlow: number[] = [];
    for (let i = 0; i < (opts.quick ? 2 : 6); i++) {
      const t0 = now();
      await slowNaive.processActivity(userMessage(`slow-${i}`, 'user-s', 'hi'), echo);
      naiveSlow.push(usSince(t0));
    }

    await slow.setLatency(0);
    const drainStart = now();
    await idle(d.tiledesk, 'drain of (d)');
    const fastDrainUs = usSince(drainStart);
    dCount.stop();

    const stats = new Map<string, Summary>(variants.map((v) => [v.key, summarize(v.samples)]));
    const a = stats.get('a')!;
    const b = stats.get('b')!;
    const over = (s: Summary) => s.p50 - a.p50;
    const rows = variants.map((v) => {
      const s = stats.get(v.key)!;
      return [
        v.label,
        fmtUs(s.p50),
        fmtUs(s.p90),
        fmtUs(s.p99),
        fmtRatio(s.p50 / a.p50),
        fmtRatio(s.p99 / a.p99),
        v.key === 'a' ? '' : fmtDelta(over(s)),
        v.key === 'a' || v.key === 'b' ? '' : fmtRatio(over(s) / over(b)),
      ];
    });
    const cOver = over(stats.get('c')!);
    const dOver = over(stats.get('d')!);
    const errors = [...c.errors, ...d.errors];
    return {
      tables: [
        {
          title: `1. Turn overhead in process (TestAdapter echo bot, ${fmtInt(measured)} turns per variant after ${warm} warm-up, blocks of ${BLOCK} interleaved, ${CONVERSATIONS} conversations)`,
          headers: HEADERS,
          rows,
          notes: [
            `(d) backlog of mirrored posts: max ${fmtInt(maxBacklog)}, ${fmtInt(backlogAtEnd)} when the loop ended (${fmtUs(loopUs)}); ` +
              `drain rate at 200 ms: ${drainRate.toFixed(0)} posts/s → ≈ ${projectedDrainS.toFixed(0)} s to drain; ` +
              `with the stand-in answering at once the rest drained in ${fmtUs(fastDrainUs)}`,
            `(e) naive with the stand-in at 200 ms: turn p50 ${fmtUs(summarize(naiveSlow).p50)} (${naiveSlow.length} turns)`,
            `background errors reported by (c)/(d): ${describeErrors(errors)}`,
          ],
        },
      ],
      targets: [
        {
          section: '1 (c)',
          target: "overhead ≤ TranscriptLogger's (p50)",
          measured: `${fmtDelta(cOver)} vs ${fmtDelta(over(b))}`,
          met: cOver <= over(b),
        },
        {
          section: '1 (d)',
          target: "overhead ≤ TranscriptLogger's (p50)",
          measured: `${fmtDelta(dOver)} vs ${fmtDelta(over(b))}`,
          met: dOver <= over(b),
        },
      ],
      data: {
        turnsPerVariant: measured,
        variants: Object.fromEntries(
          variants.map((v) => [v.label, roundSummary(stats.get(v.key)!)]),
        ),
        overheadP50Us: { b: round(over(b)), c: round(cOver), d: round(dOver) },
        backlogD: {
          max: maxBacklog,
          atEnd: backlogAtEnd,
          drainRatePerS: round(drainRate),
          projectedDrainS: round(projectedDrainS),
          fastDrainMs: round(fastDrainUs / 1000),
        },
        naiveAt200msUs: naiveSlow.map((x) => round(x)),
        errors: errors.length,
      },
    };
  } finally {
    await fast.stop();
    await slow.stop();
  }
}
