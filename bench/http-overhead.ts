/**
 * Section 2 — turn overhead end to end over HTTP: fake channel → restify + CloudAdapter echo bot
 * → replies back to the fake channel, all on loopback. Bare bot vs the same bot with our
 * middleware (webhooks subscribed, the Tiledesk stand-in answering after 200 ms). The time is
 * the channel's: from its POST to the end of the bot's HTTP answer (the whole turn).
 *
 * Loads: paced (25 turns/s per variant over 32 conversations: below what the mirror sustains at
 * 200 ms), back to back (one turn at a time), 16 conversations at once.
 */
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { TiledeskHandoff, TiledeskError } from '../lib';
import { type BotServer, startBotServer } from '../test/support/bot-server';
import {
  attachOurs,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  largestItem,
  type SectionResult,
  settle,
  sleep,
  startStandin,
  withTimeout,
} from './common';
import { startChannel } from './channel-host';
import {
  fmtBytes,
  mapValues,
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

const CONCURRENCY = 16;
const BLOCK = 25;
const PACED = Array.from({ length: 32 }, (_, i) => `paced-${i}`);
type Load = 'paced' | 'sequential' | 'concurrent';

export async function httpOverhead(opts: BenchOptions): Promise<SectionResult> {
  const [warm, paced, sequential, rounds, perRound] = opts.quick
    ? [60, 40, 200, 2, 160]
    : [300, 200, 1000, 3, 1000];
  const standin = await startStandin();
  const channel = await startChannel();
  const bare = await startBotServer({ logic: echo });
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
  );
  const errors: TiledeskError[] = [];
  const memory: Record<string, string> = {}; // the Storage's content, to look at the outbox
  const counting = countRequests(standin.url);
  let tiledesk: TiledeskHandoff | undefined;
  const ours = await startBotServer({
    adapter,
    logic: echo,
    extraRoutes: (server) =>
      server.post('/api/tiledesk', async (req, res) => {
        if (tiledesk) await tiledesk.webhookHandler(req, res);
      }),
  });
  try {
    tiledesk = attachOurs(adapter, standin, {
      webhookUrl: `${ours.url}/api/tiledesk`,
      memory,
      onError: (e) => errors.push(e),
    }).tiledesk;
    await tiledesk.start(); // every mirrored message comes back as a webhook, as with Tiledesk
    const servers = [bare, ours];
    let failures = 0;
    let oursTurns = 0;
    const samples = () => new Map<BotServer, number[]>(servers.map((s) => [s, []]));
    const lists = { paced: samples(), sequential: samples(), concurrent: samples() };
    const rates = new Map<BotServer, number[]>(servers.map((s) => [s, []]));
    const tally = <R extends { samples: number[]; failures: number }>(server: BotServer, r: R) => {
      failures += r.failures;
      if (server === ours) oursTurns += r.samples.length;
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
    let postedBase = 0; // backlog = posts enqueued (2 per turn of ours) − posts accepted
    const backlog = () => 2 * oursTurns - (counting.posted() - postedBase);

    // Warm-up with the stand-in answering at once; then it answers after 200 ms.
    for (const server of servers) {
      await block(server, warm);
      await concurrent(server, warm);
      await turns(server, PACED); // no new conversations later
    }
    await withTimeout(tiledesk.whenIdle(), 60_000, 'warm-up mirroring');
    await standin.setLatency(200);
    postedBase = counting.posted();
    oursTurns = 0;

    for (let i = 0; i < paced; i++) {
      for (const server of i % 2 === 0 ? servers : [...servers].reverse()) {
        await turns(server, [PACED[i % PACED.length]!], 'paced');
        await sleep(20);
      }
    }
    const pacedBacklog = backlog();
    for (let r = 0; r * BLOCK < sequential; r++) {
      for (let j = 0; j < 2; j++) await block(servers[(r + j) % 2]!, BLOCK, 'sequential');
    }
    const seqBacklog = backlog();
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < 2; j++) {
        const server = servers[(r + j) % 2]!;
        const res = await concurrent(server, perRound);
        lists.concurrent.get(server)!.push(...res.samples);
        rates.get(server)!.push(perRound / (res.wallUs / 1e6));
      }
    }
    const endBacklog = backlog();
    const outboxBytes = largestItem(memory, 'tiledesk/outbox/');
    await standin.setLatency(0);
    const drainStart = now();
    await settle(standin, tiledesk, 120_000);
    const drainUs = usSince(drainStart);
    counting.stop();

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
    const stats = Object.fromEntries(
      loads.map((l) => [
        l.key,
        { bare: summarize(lists[l.key].get(bare)!), ours: summarize(lists[l.key].get(ours)!) },
      ]),
    );
    const rows = loads.flatMap((l) =>
      (['bare', 'ours'] as const).map((v) => {
        const x = stats[l.key]![v];
        const base = stats[l.key]!.bare;
        const ratios = [fmtRatio(x.p50 / base.p50), fmtRatio(x.p99 / base.p99)];
        return [
          `${l.label}, ${v}`,
          fmtUs(x.p50),
          fmtUs(x.p90),
          fmtUs(x.p99),
          ...ratios,
          l.tps(x, v === 'bare' ? bare : ours),
        ];
      }),
    );
    const ratio = (key: string) => stats[key]!.ours.p50 / stats[key]!.bare.p50;
    const vs = (key: string) =>
      `${fmtRatio(ratio(key))} (${fmtUs(stats[key]!.ours.p50)} vs ${fmtUs(stats[key]!.bare.p50)})`;
    return {
      tables: [
        {
          title: `2. Turn overhead over HTTP (CloudAdapter + restify echo bot, fake channel, loopback; stand-in at 200 ms; paced: ${paced} turns per variant at 25/s; back to back: ${fmtInt(sequential)} per variant in blocks of ${BLOCK}; ${CONCURRENCY} conversations: ${rounds} rounds × ${fmtInt(perRound)} turns)`,
          headers: ['variant', 'p50', 'p90', 'p99', 'p50/bare', 'p99/bare', 'turns/s'],
          rows,
          notes: [
            `turns/s at ${CONCURRENCY} per round — bare: ${rates.get(bare)!.map(fmtInt).join(', ')}; ours: ${rates.get(ours)!.map(fmtInt).join(', ')}`,
            `mirroring backlog (posts not yet accepted by Tiledesk; 16 lanes × 1 post / 200 ms ≈ 80 posts/s = 40 turns/s sustained): after paced ${fmtInt(pacedBacklog)}, after back to back ${fmtInt(seqBacklog)}, at the end ${fmtInt(endBacklog)} (largest stored outbox item then: ${fmtBytes(outboxBytes)}); drained in ${fmtUs(drainUs)} once the stand-in answered at once`,
            `non-200 turns: ${failures}; background errors: ${describeErrors(errors)}`,
          ],
        },
      ],
      targets: [
        {
          section: '2 low load',
          target: 'p50 ≤ 1.1× bare (paced, no backlog)',
          measured: vs('paced'),
          met: ratio('paced') <= 1.1,
        },
        {
          section: '2 seq',
          target: 'p50 ≤ 1.1× bare (back to back)',
          measured: vs('sequential'),
          met: ratio('sequential') <= 1.1,
        },
        {
          section: '2 x16',
          target: `turns/s at ${CONCURRENCY} conversations (report)`,
          measured: `ours ${fmtInt(rate(ours))} vs bare ${fmtInt(rate(bare))} (${fmtRatio(rate(ours) / rate(bare))})`,
          met: undefined,
        },
      ],
      data: {
        ...Object.fromEntries(
          loads.map(({ key: k }) => [
            k,
            { ...mapValues(stats[k]!, roundSummary), p50Ratio: round(ratio(k)) },
          ]),
        ),
        turnsPerSAt16: {
          bare: round(rate(bare)),
          ours: round(rate(ours)),
          perRoundBare: rates.get(bare)!.map((x) => round(x)),
          perRoundOurs: rates.get(ours)!.map((x) => round(x)),
        },
        backlog: { paced: pacedBacklog, sequential: seqBacklog, end: endBacklog, outboxBytes },
        drainMs: round(drainUs / 1000),
        failures,
        errors: errors.length,
      },
    };
  } finally {
    await tiledesk?.stop(1000);
    await ours.stop();
    await bare.stop();
    await channel.call('stop').catch(() => undefined);
    await channel.terminate();
    await standin.stop();
  }
}
