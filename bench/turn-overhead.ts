/**
 * Section 1 — turn overhead in process: a TestAdapter echo bot, variants interleaved in blocks
 * (order rotated each round) so drift hits every variant alike. Timed region: one
 * `processActivity` turn; between turns the event loop turns once (as between requests of a
 * real bot), outside the timed region. Ours runs on MemoryStorage and on BlobsStorage against a
 * fresh Azurite (loopback, its own process).
 *
 * Then the storage probe (storage-probe.ts): the operations of each kind of turn, counted
 * exactly (critical path, before the handoff notice, background), on both storages.
 */
import axios from 'axios';
import {
  type Activity,
  MemoryStorage,
  MemoryTranscriptStore,
  TestAdapter,
  TranscriptLoggerMiddleware,
} from 'botbuilder';
import { startBlobs } from './blobs-host';
import {
  adminToken,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  ourMiddleware,
  quiet,
  type SectionResult,
  settingsFor,
  sleep,
  startStandin,
  userMessage,
  withTimeout,
  yieldLoop,
} from './common';
import {
  CountingStorage,
  diffOps,
  fmtOps,
  type OpCounts,
  opsJson,
  opsOf,
} from './counting-storage';
import { TiledeskHandoff as AgentsHandoff } from '../lib/agents';
import type { TiledeskError } from '../lib';
import { AgentsTestAdapter } from '../test/support/agents-test-adapter';
import { NaiveMirror } from './naive-mirror';
import { probeTurns, type ProbeEvent, type TurnProbe } from './storage-probe';
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

const HEADERS = [
  'variant',
  'p50',
  'p90',
  'p99',
  'p50/(a)',
  'p99/(a)',
  'p50 over (a)',
  "vs (b)'s",
  'storage ops/turn',
];

/** A bot to run turns on: botbuilder's TestAdapter, or the Agents SDK harness. */
interface TurnRunner {
  processActivity(activity: Partial<Activity>, logic: typeof echo): Promise<unknown>;
  activeQueue: unknown[];
}

interface Variant {
  key: string;
  label: string;
  adapter: TurnRunner;
  samples: number[];
  /** Turns so far (its conversations are taken in turn: `conv-<key>-<n % conversations>`). */
  seq: number;
  /** Runs one block every `every` rounds (slow variants, full mode), 1 by default. */
  every?: number;
  /** Runs after each block, outside any timed region. */
  afterBlock?: () => Promise<void>;
  /** Our variants: storage operations (all of them, background included). */
  storage?: CountingStorage;
}

export async function turnOverhead(opts: BenchOptions): Promise<SectionResult> {
  // Warm-up: every conversation of every variant gets its record and Tiledesk request.
  const block = opts.quick ? 25 : 50;
  const conversations = opts.quick ? 25 : 100;
  const warm = opts.quick ? 25 : 500;
  const measured = opts.quick ? 50 : 3000;
  const drainWindowMs = opts.quick ? 500 : 3000;
  const blobsEvery = opts.quick ? 1 : 4;
  const probeConvs = opts.quick ? 1 : 4;
  const [fast, slow, blobs] = await Promise.all([startStandin(), startStandin(), startBlobs()]);
  const http = axios.create({ maxRedirects: 0 });
  const token = await adminToken(fast);
  try {
    const cStorage = new CountingStorage(new MemoryStorage());
    const c = ourMiddleware(fast, { storage: cStorage });
    const fStorage = new CountingStorage(await blobs.storage('turns'));
    const f = ourMiddleware(fast, { storage: fStorage });
    const dCount = countRequests(slow.url);
    const d = ourMiddleware(slow);
    const bare = new TestAdapter();
    const tlm = new TestAdapter().use(new TranscriptLoggerMiddleware(new MemoryTranscriptStore()));
    const naive = new TestAdapter().use(new NaiveMirror(http, fast, token));
    const idle = (t: { whenIdle(): Promise<void> }, what: string) =>
      withTimeout(t.whenIdle(), 120_000, what);
    // The same echo bot and middleware on the Microsoft 365 Agents SDK (its real CloudAdapter
    // pipeline, connector calls queued in process): (g) bare, (h) ours, Memory, stand-in at once.
    const bareAgents = agentsRunner(new AgentsTestAdapter());
    const hStorage = new CountingStorage(new MemoryStorage());
    const hAdapter = new AgentsTestAdapter();
    const h = {
      adapter: agentsRunner(hAdapter),
      tiledesk: new AgentsHandoff({
        adapter: hAdapter,
        appSettings: settingsFor(fast),
        storage: hStorage,
        onError: (e) => hErrors.push(e),
      }),
    };
    const hErrors: TiledeskError[] = [];
    hAdapter.use(h.tiledesk);
    const variants: Variant[] = [
      { key: 'a', label: '(a) no middleware', adapter: bare, samples: [], seq: 0 },
      { key: 'b', label: '(b) TranscriptLogger+Memory', adapter: tlm, samples: [], seq: 0 },
      {
        key: 'c',
        label: '(c) ours, Memory, stand-in at once',
        adapter: c.adapter,
        samples: [],
        seq: 0,
        afterBlock: () => quiet(c.tiledesk, cStorage, 120_000),
        storage: cStorage,
      },
      {
        key: 'd',
        label: '(d) ours, Memory, stand-in 200 ms',
        adapter: d.adapter,
        samples: [],
        seq: 0,
      },
      { key: 'e', label: '(e) naive, awaits each post', adapter: naive, samples: [], seq: 0 },
      {
        key: 'f',
        label: '(f) ours, Blobs, stand-in at once',
        adapter: f.adapter,
        samples: [],
        seq: 0,
        every: blobsEvery,
        afterBlock: () => quiet(f.tiledesk, fStorage, 120_000),
        storage: fStorage,
      },
      {
        key: 'g',
        label: '(g) Agents SDK, no middleware',
        adapter: bareAgents,
        samples: [],
        seq: 0,
      },
      {
        key: 'h',
        label: '(h) ours on the Agents SDK, Memory',
        adapter: h.adapter,
        samples: [],
        seq: 0,
        afterBlock: () => quiet(h.tiledesk, hStorage, 120_000),
        storage: hStorage,
      },
    ];

    const run = async (v: Variant, count: number, record: boolean) => {
      for (let k = 0; k < count; k++) {
        const i = v.seq++;
        const conv = i % conversations;
        const activity = userMessage(`conv-${v.key}-${conv}`, `user-${conv}`, `hello ${i}`);
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
    const inRound = (v: Variant, round: number) => round % (v.every ?? 1) === 0;
    for (let round = 0; round * block < warm; round++)
      for (const v of variants) if (inRound(v, round)) await run(v, block, false);
    await idle(c.tiledesk, 'warm-up (c)');
    await idle(d.tiledesk, 'warm-up (d)');
    await idle(h.tiledesk, 'warm-up (h)');
    await quiet(f.tiledesk, fStorage, 120_000);
    const opsBefore = new Map(variants.map((v) => [v.key, v.storage?.snapshot()]));
    await slow.setLatency(200);
    const postedBefore = dCount.posted();

    let maxBacklog = 0;
    let dTurns = 0; // each turn of (d) enqueues 2 posts: the user's message and the reply
    const backlogOfD = () => 2 * dTurns - (dCount.posted() - postedBefore);
    const loopStart = now();
    for (let round = 0; round * block < measured; round++) {
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(round + j) % variants.length]!;
        if (!inRound(v, round)) continue;
        await run(v, block, true);
        if (v.key === 'd') dTurns += block;
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
    for (let i = 0; i < (opts.quick ? 1 : 6); i++) {
      const t0 = now();
      await slowNaive.processActivity(userMessage(`slow-${i}`, 'user-s', 'hi'), echo);
      naiveSlow.push(usSince(t0));
    }

    await slow.setLatency(0);
    const drainStart = now();
    await idle(d.tiledesk, 'drain of (d)');
    const fastDrainUs = usSince(drainStart);
    dCount.stop();

    // Storage operations per measured turn of (c) and (f): each block was mirrored before the
    // next one started, so this is everything a turn costs (critical path and background).
    const opsPerTurn = new Map<string, { ops: OpCounts; turns: number }>();
    for (const v of variants) {
      const before = opsBefore.get(v.key);
      if (v.storage && before) {
        opsPerTurn.set(v.key, { ops: diffOpsOf(v.storage, before), turns: v.samples.length });
      }
    }

    // The exact count per kind of turn, on each storage (fresh ones), the stand-in at once.
    // MemoryStorage gets 2 ms per operation (see storage-probe.ts); Azurite takes longer anyway.
    const probes: [string, TurnProbe][] = [
      ['MemoryStorage', await probeTurns(fast, new MemoryStorage(), 'probe-memory', probeConvs, 2)],
      [
        'BlobsStorage',
        await probeTurns(fast, await blobs.storage('probe'), 'probe-blobs', probeConvs, 0),
      ],
    ];

    const stats = new Map<string, Summary>(variants.map((v) => [v.key, summarize(v.samples)]));
    const a = stats.get('a')!;
    const b = stats.get('b')!;
    const over = (s: Summary) => s.p50 - a.p50;
    const rows = variants.map((v) => {
      const s = stats.get(v.key)!;
      const o = opsPerTurn.get(v.key);
      return [
        v.label,
        fmtUs(s.p50),
        fmtUs(s.p90),
        fmtUs(s.p99),
        fmtRatio(s.p50 / a.p50),
        fmtRatio(s.p99 / a.p99),
        v.key === 'a' ? '' : fmtDelta(over(s)),
        v.key === 'a' || v.key === 'b' ? '' : fmtRatio(over(s) / over(b)),
        o ? (opsOf(o.ops) / o.turns).toFixed(2) : '',
      ];
    });
    const cOver = over(stats.get('c')!);
    const dOver = over(stats.get('d')!);
    const fOver = over(stats.get('f')!);
    const errors = [...c.errors, ...d.errors, ...f.errors, ...hErrors];
    const g = stats.get('g')!;
    const hOver = stats.get('h')!.p50 - g.p50;
    const probeErrors = probes.flatMap(([, p]) => p.errors);

    // 1b: one row per kind of turn and storage.
    const event = (p: TurnProbe, label: string) => p.events.find((e) => e.label === label);
    const probeRows = probes[0]![1].events.flatMap((e0) =>
      probes.map(([name, p]) => {
        const e = event(p, e0.label)!;
        return [
          `${e.label}, ${name === 'MemoryStorage' ? 'Memory' : 'Blobs'}`,
          fmtOps(e.critical, e.turns),
          e.beforeNotice ? fmtOps(e.beforeNotice, e.turns, false) : '',
          fmtOps(e.late, e.turns),
          fmtOps(e.background, e.turns),
          e.mirrored > 0 ? (opsOf(e.background) / e.mirrored).toFixed(2) : '',
        ];
      }),
    );
    const worst = (label: string, of: (e: ProbeEvent) => OpCounts | undefined) =>
      Math.max(
        ...probes.map(([, p]) => {
          const e = event(p, label);
          const c = e && of(e);
          return c ? opsOf(c) / e.turns : Number.NaN;
        }),
      );
    const reads = (label: string) =>
      probes.every(([, p]) => {
        const e = event(p, label);
        return e !== undefined && e.critical.read === e.turns && opsOf(e.critical) === e.turns;
      });
    const critical = (label: string) =>
      probes.map(([name, p]) => `${name.replace('Storage', '')} ${fmtCritical(event(p, label))}`);
    const stray = probes.reduce((n, [, p]) => n + p.stray, 0);
    const probeUs = (label: string) => {
      const e = event(probes[1]![1], label);
      return e ? fmtUs(summarize(e.us).p50) : 'n/a';
    };
    return {
      tables: [
        {
          title: `1. Turn overhead in process (TestAdapter echo bot, ${fmtInt(measured)} turns per variant (f: ${fmtInt(stats.get('f')!.n)}) after ${warm} warm-up, blocks of ${block} interleaved, ${conversations} conversations each; (f) on BlobsStorage → Azurite on loopback)`,
          headers: HEADERS,
          rows,
          notes: [
            `storage ops/turn: read + create + replace calls per measured turn, background included (each block of (c)/(f) was mirrored before the next began); (f) ${fmtOps(opsPerTurn.get('f')!.ops, opsPerTurn.get('f')!.turns)}`,
            `(d) backlog of mirrored posts: max ${fmtInt(maxBacklog)}, ${fmtInt(backlogAtEnd)} when the loop ended (${fmtUs(loopUs)}); ` +
              `drain rate at 200 ms: ${drainRate.toFixed(0)} posts/s → ≈ ${projectedDrainS.toFixed(0)} s to drain; ` +
              `with the stand-in answering at once the rest drained in ${fmtUs(fastDrainUs)}`,
            `(e) naive with the stand-in at 200 ms: turn p50 ${fmtUs(summarize(naiveSlow).p50)} (${naiveSlow.length} turns)`,
            `(g)/(h): the Agents SDK's real CloudAdapter pipeline (TurnContext, middleware, send) with connector calls queued in process (test/support/agents-test-adapter.ts); compare (h) with (g), not with (a)`,
            `background errors reported by (c)/(d)/(f)/(h): ${describeErrors(errors)}`,
          ],
        },
        {
          title: `1b. Storage operations per turn (exact: one turn at a time, the middleware idle before each, ${probeConvs} conversations per kind; MemoryStorage and BlobsStorage on Azurite; averages per turn)`,
          headers: [
            'turn, storage',
            'critical path (until the turn is over)',
            'before "connecting"',
            'started, not awaited',
            'background, until idle',
            'bg per mirrored msg',
          ],
          rows: probeRows,
          notes: [
            'critical path: calls the turn started and saw finish before it was over (its AsyncLocalStorage scope); before "connecting": those finished before the user received the handoff notice; started, not awaited: started by the turn, finished after it (MemoryStorage ops delayed by 2 ms here to tell them apart)',
            `a Blobs turn alone (middleware idle, Azurite): p50 ${probeUs('steady turn')} steady, ${probeUs('first turn')} first, ${probeUs('handoff turn')} handoff (section 1's (f) turns also share the thread with the mirroring of the previous ones)`,
            'background: what the middleware did after the turn until idle (one turn at a time, so nothing is batched: the throughput section has the amortized figure); families: conversation = the record, outbox-index/handoff-index = recovery index shards, user = end-user identity',
            '"with an agent: 1st turn" also counts a check for agent messages the turn starts without awaiting it (at most every 5 s per conversation)',
            `calls during a turn outside its scope: ${stray}; probe errors: ${describeErrors(probeErrors)}`,
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
        {
          section: '1 (f)',
          target: 'Blobs turn overhead (report)',
          measured: `${fmtDelta(fOver)} (${fmtRatio(stats.get('f')!.p50 / a.p50)} bare p50)`,
          met: undefined,
        },
        {
          section: '1 (h)',
          target: 'Agents SDK: overhead over its own bare turn (report)',
          measured: `${fmtDelta(hOver)} over (g) (${fmtRatio(stats.get('h')!.p50 / g.p50)} its p50); botbuilder (c): ${fmtDelta(cOver)} over (a)`,
          met: undefined,
        },
        {
          section: '1b turn',
          target: '1 storage read on a message turn’s critical path',
          measured: `first: ${critical('first turn').join(', ')}; steady: ${critical('steady turn').join(', ')}`,
          met: reads('first turn') && reads('steady turn'),
        },
        {
          section: '1b handoff',
          target: '≤ 2 storage ops before "connecting"',
          measured: `existing conversation ${fmtN(worst('handoff turn', (e) => e.beforeNotice))}, on its first turn ${fmtN(worst('handoff on the first turn', (e) => e.beforeNotice))} (worst of Memory/Blobs)`,
          met:
            worst('handoff turn', (e) => e.beforeNotice) <= 2 &&
            worst('handoff on the first turn', (e) => e.beforeNotice) <= 2,
        },
      ],
      data: {
        turnsPerVariant: measured,
        variants: Object.fromEntries(
          variants.map((v) => [v.label, roundSummary(stats.get(v.key)!)]),
        ),
        overheadP50Us: { b: round(over(b)), c: round(cOver), d: round(dOver), f: round(fOver) },
        storageOpsPerTurn: Object.fromEntries(
          [...opsPerTurn].map(([k, o]) => [k, opsJson(o.ops, o.turns)]),
        ),
        probe: Object.fromEntries(
          probes.map(([name, p]) => [
            name,
            Object.fromEntries(
              p.events.map((e) => [
                e.label,
                {
                  turns: e.turns,
                  critical: opsJson(e.critical, e.turns),
                  ...(e.beforeNotice ? { beforeNotice: opsJson(e.beforeNotice, e.turns) } : {}),
                  startedNotAwaited: opsJson(e.late, e.turns),
                  ...(p.latencyMs === 0 ? { turnP50Us: round(summarize(e.us).p50) } : {}),
                  background: opsJson(e.background, e.turns),
                  backgroundPerMirrored: e.mirrored
                    ? round(opsOf(e.background) / e.mirrored)
                    : null,
                },
              ]),
            ),
          ]),
        ),
        backlogD: {
          max: maxBacklog,
          atEnd: backlogAtEnd,
          drainRatePerS: round(drainRate),
          projectedDrainS: round(projectedDrainS),
          fastDrainMs: round(fastDrainUs / 1000),
        },
        naiveAt200msUs: naiveSlow.map((x) => round(x)),
        errors: errors.length,
        probeErrors: probeErrors.length,
      },
    };
  } finally {
    await fast.stop();
    await slow.stop();
    await blobs.stop();
  }
}

function diffOpsOf(storage: CountingStorage, before: OpCounts): OpCounts {
  return diffOps(storage.snapshot(), before);
}

function fmtN(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** "1 read" / "2 = 1 read + 1 create" per turn, without families. */
function fmtCritical(e: ProbeEvent | undefined): string {
  return e ? fmtOps(e.critical, e.turns, false) : 'n/a';
}

/** The Agents SDK harness as a `TurnRunner` (the echo bot only reads and sends text). */
function agentsRunner(adapter: AgentsTestAdapter): TurnRunner {
  return {
    processActivity: (activity, logic) =>
      adapter.processActivity(activity as Record<string, unknown>, logic as never),
    get activeQueue() {
      return adapter.activeQueue;
    },
  };
}
