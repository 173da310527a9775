/**
 * Section 2 — turn overhead end to end over HTTP: fake channel → restify + CloudAdapter echo bot
 * → replies back to the fake channel, all on loopback. Bare bot vs the same bot with our
 * middleware (webhooks subscribed, the Tiledesk stand-in answering after 200 ms), on
 * MemoryStorage and on BlobsStorage against a fresh Azurite (each with its own stand-in). The
 * time is the channel's: from its POST to the end of the bot's HTTP answer (the whole turn).
 *
 * Loads: paced (25 turns/s per variant over 32 conversations: below what the mirror sustains at
 * 200 ms), back to back (one turn at a time), 16 conversations at once.
 *
 * Storage operations: each of our turns runs in a scope of the counting storage, from the
 * moment restify hands the request to `CloudAdapter.process` until the answer is written
 * (critical path); per load, and everything per turn once the mirroring has drained.
 */
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  MemoryStorage,
  type Storage,
} from 'botbuilder';
import type { TiledeskHandoff } from '../lib';
import { type BotServer, startBotServer } from '../test/support/bot-server';
import { startBlobs } from './blobs-host';
import { startChannel } from './channel-host';
import {
  attachOurs,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  largestItem,
  quiet,
  type SectionResult,
  settle,
  sleep,
  startStandin,
  withTimeout,
} from './common';
import {
  copyOps,
  CountingStorage,
  diffOps,
  disableScopes,
  fmtOps,
  type OpCounts,
  opsJson,
  opsOf,
} from './counting-storage';
import type { RemoteStandIn } from './standin-host';
import {
  fmtBytes,
  fmtInt,
  fmtRatio,
  fmtUs,
  mapValues,
  now,
  round,
  roundSummary,
  summarize,
  type Summary,
  usSince,
} from './stats';

const CONCURRENCY = 16;
const BLOCK = 25;
type Load = 'paced' | 'sequential' | 'concurrent';
const LOADS: Load[] = ['paced', 'sequential', 'concurrent'];

/** A bot with our middleware, and what is counted about it. */
interface Ours {
  name: 'Memory' | 'Blobs';
  server: BotServer;
  tiledesk: TiledeskHandoff;
  storage: CountingStorage;
  standin: RemoteStandIn;
  requests: ReturnType<typeof countRequests>;
  /** Measured turns (each enqueues 2 posts: the user's message and the reply). */
  turns: number;
  postedBase: number;
  errors: string[];
  /** Critical storage operations and turns, per load. */
  critical: Map<Load, { ops: OpCounts; turns: number }>;
}

export async function httpOverhead(opts: BenchOptions): Promise<SectionResult> {
  const [warm, paced, sequential, rounds, perRound] = opts.quick
    ? [8, 8, 25, 1, 32]
    : [200, 150, 600, 2, 400];
  const pacedConversations = Array.from({ length: opts.quick ? 12 : 32 }, (_, i) => `paced-${i}`);
  const [standinM, standinB, channel, blobs] = await Promise.all([
    startStandin(),
    startStandin(),
    startChannel(),
    startBlobs(),
  ]);
  const bare = await startBotServer({ logic: echo });
  const memory: Record<string, string> = {}; // the MemoryStorage's content, to look at records
  const ours: Ours[] = [];
  try {
    const start = async (name: Ours['name'], standin: RemoteStandIn, store: Storage) => {
      const adapter = new CloudAdapter(
        new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
      );
      const storage = new CountingStorage(store);
      // The turn: from CloudAdapter.process until it returns (the HTTP answer is written).
      const process = adapter.process.bind(adapter) as (...args: unknown[]) => Promise<void>;
      adapter.process = ((...args: unknown[]) =>
        storage.scoped(() => process(...args)).then(() => undefined)) as typeof adapter.process;
      let tiledesk: TiledeskHandoff | undefined;
      const server = await startBotServer({
        adapter,
        logic: echo,
        extraRoutes: (s) =>
          s.post('/api/tiledesk', async (req, res) => {
            if (tiledesk) await tiledesk.webhookHandler(req, res);
          }),
      });
      const errors: string[] = [];
      tiledesk = attachOurs(adapter, standin, {
        webhookUrl: `${server.url}/api/tiledesk`,
        storage,
        onError: (e) => errors.push(`${e.code}: ${e.message}`),
      }).tiledesk;
      await tiledesk.start(); // every mirrored message comes back as a webhook, as with Tiledesk
      const o: Ours = {
        name,
        server,
        tiledesk,
        storage,
        standin,
        requests: countRequests(standin.url),
        turns: 0,
        postedBase: 0,
        errors,
        critical: new Map(),
      };
      ours.push(o);
      return o;
    };
    await Promise.all([
      start('Memory', standinM, new MemoryStorage(memory)),
      blobs.storage('http').then((store) => start('Blobs', standinB, store)),
    ]);
    ours.sort((x, y) => (x.name === 'Memory' ? -1 : y.name === 'Memory' ? 1 : 0));
    const servers = [bare, ...ours.map((o) => o.server)];
    for (const s of servers) s.server.server.keepAliveTimeout = 120_000; // no ECONNRESET races
    const oursOf = (server: BotServer) => ours.find((o) => o.server === server);
    const labelOf = (server: BotServer) =>
      server === bare ? 'bare' : `ours, ${oursOf(server)!.name}`;
    let failures = 0;
    const samples = () => new Map<BotServer, number[]>(servers.map((s) => [s, []]));
    const lists = { paced: samples(), sequential: samples(), concurrent: samples() };
    const rates = new Map<BotServer, number[]>(servers.map((s) => [s, []]));
    const tally = <R extends { samples: number[]; failures: number }>(server: BotServer, r: R) => {
      failures += r.failures;
      const o = oursOf(server);
      if (o) o.turns += r.samples.length;
      return r;
    };
    /** Turns one after the other, one per listed conversation (timed by the channel). */
    const turns = async (server: BotServer, conversations: string[], into?: Load) => {
      const r = tally(server, await channel.call('turns', server.messagesUrl, conversations, 'hi'));
      if (into) lists[into].get(server)!.push(...r.samples);
    };
    const block = async (server: BotServer, n: number, into?: Load) => {
      await turns(
        server,
        Array.from({ length: n }, (_, i) => `seq-${i % CONCURRENCY}`),
        into,
      );
      await channel.call('reset');
    };
    const concurrent = async (server: BotServer, n: number) => {
      const r = tally(server, await channel.call('concurrent', server.messagesUrl, n, CONCURRENCY));
      await channel.call('reset');
      return r;
    };
    // backlog = posts enqueued (2 per turn) − posts accepted by the stand-in
    const backlog = (o: Ours) => 2 * o.turns - (o.requests.posted() - o.postedBase);
    const backlogs = () => ours.map((o) => `${o.name} ${fmtInt(backlog(o))}`).join(', ');
    // Critical operations and turns of one load, per bot.
    const snap = () => ours.map((o) => ({ ops: copyOps(o.storage.critical), turns: o.turns }));
    let mark = snap();
    const endLoad = (load: Load) => {
      const current = snap();
      ours.forEach((o, i) =>
        o.critical.set(load, {
          ops: diffOps(current[i]!.ops, mark[i]!.ops),
          turns: current[i]!.turns - mark[i]!.turns,
        }),
      );
      mark = current;
    };

    // Warm-up with the stand-ins answering at once; then they answer after 200 ms.
    for (const server of servers) {
      await block(server, warm);
      await concurrent(server, warm);
      await turns(server, pacedConversations); // no new conversations later
    }
    for (const o of ours) {
      await withTimeout(o.tiledesk.whenIdle(), 60_000, 'warm-up mirroring');
      await quiet(o.tiledesk, o.storage);
      await o.standin.setLatency(200);
      o.postedBase = o.requests.posted();
      o.turns = 0;
    }
    const opsBase = ours.map((o) => o.storage.snapshot());
    mark = snap();

    for (let i = 0; i < paced; i++) {
      const order = [...servers.slice(i % servers.length), ...servers.slice(0, i % servers.length)];
      for (const server of order) {
        await turns(server, [pacedConversations[i % pacedConversations.length]!], 'paced');
        await sleep(20);
      }
    }
    endLoad('paced');
    const pacedBacklog = backlogs();
    for (let r = 0; r * BLOCK < sequential; r++) {
      for (let j = 0; j < servers.length; j++) {
        await block(servers[(r + j) % servers.length]!, BLOCK, 'sequential');
      }
    }
    endLoad('sequential');
    const seqBacklog = backlogs();
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < servers.length; j++) {
        const server = servers[(r + j) % servers.length]!;
        const res = await concurrent(server, perRound);
        lists.concurrent.get(server)!.push(...res.samples);
        rates.get(server)!.push(perRound / (res.wallUs / 1e6));
      }
    }
    endLoad('concurrent');
    disableScopes();
    const endBacklog = backlogs();
    const recordBytes = largestItem(memory, 'tiledesk/conversation/');
    const drainStart = now();
    const drains: string[] = [];
    for (const o of ours) {
      await o.standin.setLatency(0);
      await settle(o.standin, o.tiledesk, 120_000);
      await quiet(o.tiledesk, o.storage, 120_000);
      drains.push(`${o.name} ${fmtUs(usSince(drainStart))}`);
      o.requests.stop();
    }
    // Everything our bots did for the measured turns (the mirroring, webhooks of our own posts).
    const allOps = ours.map((o, i) => diffOps(o.storage.snapshot(), opsBase[i]!));

    const rate = (server: BotServer) => {
      const r = rates.get(server)!;
      return r.length / r.reduce((a, x) => a + 1 / x, 0); // total turns / total time
    };
    const loads: { key: Load; label: string; tps: (x: Summary, sv: BotServer) => string }[] = [
      { key: 'paced', label: 'paced 25/s', tps: () => '25 (paced)' },
      { key: 'sequential', label: 'back to back', tps: (x) => `${fmtInt(1e6 / x.mean)} (1/mean)` },
      {
        key: 'concurrent',
        label: `${CONCURRENCY} conversations`,
        tps: (_, sv) => fmtInt(rate(sv)),
      },
    ];
    const stats = new Map<Load, Map<BotServer, Summary>>(
      LOADS.map((l) => [l, new Map(servers.map((s) => [s, summarize(lists[l].get(s)!)] as const))]),
    );
    const stat = (l: Load, s: BotServer) => stats.get(l)!.get(s)!;
    const rows = loads.flatMap((l) =>
      servers.map((server) => {
        const x = stat(l.key, server);
        const base = stat(l.key, bare);
        const o = oursOf(server);
        const crit = o?.critical.get(l.key);
        return [
          `${l.label}, ${labelOf(server)}`,
          fmtUs(x.p50),
          fmtUs(x.p90),
          fmtUs(x.p99),
          fmtRatio(x.p50 / base.p50),
          fmtRatio(x.p99 / base.p99),
          l.tps(x, server),
          crit ? (opsOf(crit.ops) / crit.turns).toFixed(2) : '',
        ];
      }),
    );
    const ratio = (l: Load, s: BotServer) => stat(l, s).p50 / stat(l, bare).p50;
    const vs = (l: Load, s: BotServer) =>
      `${fmtRatio(ratio(l, s))} (${fmtUs(stat(l, s).p50)} vs ${fmtUs(stat(l, bare).p50)})`;
    const [m, b] = ours as [Ours, Ours];
    const errors = ours.flatMap((o) => o.errors);
    const measuredTurns = (o: Ours) => [...o.critical.values()].reduce((n, x) => n + x.turns, 0);
    const opsNote = (o: Ours, i: number) => {
      const crit = [...o.critical.values()].reduce(
        (acc, x) => ({ ops: opsOf(x.ops) + acc.ops, turns: x.turns + acc.turns }),
        { ops: 0, turns: 0 },
      );
      return `${o.name}: critical ${(crit.ops / crit.turns).toFixed(2)}/turn (${fmtOps(o.critical.get('sequential')!.ops, o.critical.get('sequential')!.turns)} back to back); all operations ${fmtOps(allOps[i]!, measuredTurns(o))} per turn`;
    };
    return {
      tables: [
        {
          title: `2. Turn overhead over HTTP (CloudAdapter + restify echo bot, fake channel, loopback; stand-ins at 200 ms; Blobs → Azurite on loopback; paced: ${paced} turns per variant at 25/s; back to back: ${fmtInt(sequential)} per variant in blocks of ${BLOCK}; ${CONCURRENCY} conversations: ${rounds} rounds × ${fmtInt(perRound)} turns)`,
          headers: [
            'variant',
            'p50',
            'p90',
            'p99',
            'p50/bare',
            'p99/bare',
            'turns/s',
            'crit. storage ops/turn',
          ],
          rows,
          notes: [
            `turns/s at ${CONCURRENCY} per round — ${servers.map((s) => `${labelOf(s)}: ${rates.get(s)!.map(fmtInt).join(', ')}`).join('; ')}`,
            `crit. storage ops/turn: calls made and finished while CloudAdapter.process ran (until the HTTP answer was written); ${ours.map(opsNote).join('; ')} (mirroring and the webhooks of our own posts included)`,
            `mirroring backlog (posts not yet accepted by Tiledesk; 16 lanes × 1 post / 200 ms ≈ 80 posts/s = 40 turns/s sustained): after paced ${pacedBacklog}, after back to back ${seqBacklog}, at the end ${endBacklog} (largest stored conversation record then, Memory, outbox included: ${fmtBytes(recordBytes)}); drained once the stand-ins answered at once: ${drains.join(', ')}`,
            `non-200 turns: ${failures}; background errors: ${describeErrors(errors)}`,
          ],
        },
      ],
      targets: [
        {
          section: '2 low load',
          target: 'p50 ≤ 1.1× bare (paced, no backlog)',
          measured: vs('paced', m.server),
          met: ratio('paced', m.server) <= 1.1,
        },
        {
          section: '2 seq',
          target: 'p50 ≤ 1.1× bare (back to back)',
          measured: vs('sequential', m.server),
          met: ratio('sequential', m.server) <= 1.1,
        },
        {
          section: '2 x16',
          target: `turns/s at ${CONCURRENCY} conversations (report)`,
          measured: `ours ${fmtInt(rate(m.server))} vs bare ${fmtInt(rate(bare))} (${fmtRatio(rate(m.server) / rate(bare))})`,
          met: undefined,
        },
        {
          section: '2 Blobs',
          target: 'HTTP turn on BlobsStorage (report)',
          measured: `paced ${vs('paced', b.server)}; back to back ${fmtRatio(ratio('sequential', b.server))}; x16 ${fmtInt(rate(b.server))} turns/s`,
          met: undefined,
        },
      ],
      data: {
        ...Object.fromEntries(
          LOADS.map((l) => [
            l,
            {
              ...mapValues(
                Object.fromEntries(servers.map((s) => [labelOf(s), stat(l, s)])),
                roundSummary,
              ),
              p50Ratio: round(ratio(l, m.server)),
              p50RatioBlobs: round(ratio(l, b.server)),
              criticalOpsPerTurn: Object.fromEntries(
                ours.map((o) => {
                  const c = o.critical.get(l)!;
                  return [o.name, opsJson(c.ops, c.turns)];
                }),
              ),
            },
          ]),
        ),
        turnsPerSAt16: {
          ...Object.fromEntries(servers.map((s) => [labelOf(s), round(rate(s))])),
          perRound: Object.fromEntries(
            servers.map((s) => [labelOf(s), rates.get(s)!.map((x) => round(x))]),
          ),
        },
        allOpsPerTurn: Object.fromEntries(
          ours.map((o, i) => [o.name, opsJson(allOps[i]!, measuredTurns(o))]),
        ),
        backlog: { paced: pacedBacklog, sequential: seqBacklog, end: endBacklog, recordBytes },
        drain: drains,
        failures,
        errors: errors.length,
      },
    };
  } finally {
    disableScopes();
    for (const o of ours) {
      o.requests.stop();
      await o.tiledesk.stop(1000);
      await o.server.stop();
    }
    await bare.stop();
    await channel.call('stop').catch(() => undefined);
    await channel.terminate();
    await standinM.stop();
    await standinB.stop();
    await blobs.stop();
  }
}
