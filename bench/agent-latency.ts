/**
 * Section 4 — agent → user latency: a `message.create` webhook delivery received by the bot's
 * `/api/tiledesk` route → the activity arriving at the fake channel, interleaved with bare
 * `continueConversationAsync` calls (another CloudAdapter, no middleware) → the same channel.
 *
 * The agent writes through the stand-in's agent-console path (`agentReply`), which stores the
 * message and POSTs a real webhook from the stand-in's own thread (as Tiledesk, another machine,
 * would). The clock starts when the bot's route handler runs and stops when the channel records
 * the activity (a `waitFor` predicate runs synchronously on arrival).
 */
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
} from 'botbuilder';
import type { TiledeskHandoff } from '../lib';
import { startBotServer } from '../test/support/bot-server';
import {
  attachOurs,
  type BenchOptions,
  describeErrors,
  echo,
  largestItem,
  type SectionResult,
  settle,
  startStandin,
  withTimeout,
} from './common';
import { startChannel } from './channel-host';
import { fmtDelta, roundSummary, fmtBytes, fmtUs, now, round, summarize, usBetween } from './stats';

const CONVERSATIONS = 8;
const BLOCK = 20;

export async function agentLatency(opts: BenchOptions): Promise<SectionResult> {
  const n = opts.quick ? 200 : 2000;
  const warm = opts.quick ? 40 : 200;
  const standin = await startStandin();
  const channel = await startChannel();
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
  );
  const bareAdapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
  );
  const received = new Map<string, bigint>();
  let tiledesk: TiledeskHandoff | undefined;
  const bot = await startBotServer({
    adapter,
    logic: echo,
    extraRoutes: (server) =>
      server.post('/api/tiledesk', async (req, res) => {
        const payload = req.body?.['payload'] as { text?: unknown } | undefined;
        if (typeof payload?.text === 'string') received.set(payload.text, now());
        if (tiledesk) await tiledesk.webhookHandler(req, res);
      }),
  });
  try {
    const memory: Record<string, string> = {}; // MemoryStorage.delete leaves undefined
    const attached = attachOurs(adapter, standin, {
      webhookUrl: `${bot.url}/api/tiledesk`,
      memory,
    });
    const { errors, tiledesk: td } = attached;
    tiledesk = td;
    await td.start();

    // Conversations with a Tiledesk request each (one user message mirrored).
    const refs: Partial<ConversationReference>[] = [];
    const ids = Array.from({ length: CONVERSATIONS }, (_, k) => `agent-${k}`);
    const setup = await channel.call('turns', bot.messagesUrl, ids, 'hello');
    if (setup.failures > 0) throw new Error('the bot did not answer the setup turns');
    for (const id of ids) {
      refs.push({
        channelId: 'webchat',
        serviceUrl: channel.info.serviceUrl,
        conversation: { id, isGroup: false, conversationType: 'personal', name: '' },
        user: { id: `user-${id}`, name: 'Ada Lovelace' },
        bot: { id: 'bot', name: 'Bot' },
      });
    }
    await settle(standin, td);
    const requestOf = new Map(await standin.call('requestsOf', 'agent-'));
    if (requestOf.size !== CONVERSATIONS) throw new Error('setup failed');
    await channel.call('reset');

    let seq = 0;
    // Stamped by the channel (its thread) when the activity arrives.
    const arrival = (text: string) => {
      const arrived = channel.call('arrival', text, 5000);
      return async () => BigInt(await arrived);
    };
    const viaWebhook = async (k: number): Promise<number> => {
      const text = `agent says ${seq++}`;
      const done = arrival(text);
      // The stand-in's agent console path: stores the message, POSTs the webhook (its thread).
      await standin.call('agentReply', requestOf.get(`agent-${k}`)!, text);
      const end = await done();
      const start = received.get(text);
      received.delete(text);
      if (start === undefined) throw new Error('webhook start time missing');
      return usBetween(start, end);
    };
    const bareCall = async (k: number): Promise<number> => {
      const text = `bare says ${seq++}`;
      const done = arrival(text);
      const start = now();
      await bareAdapter.continueConversationAsync('', refs[k]!, async (ctx) => {
        await ctx.sendActivity(text);
      });
      return usBetween(start, await done());
    };
    const variants = [
      { label: 'bare continueConversationAsync', fn: bareCall, samples: [] as number[] },
      { label: 'ours: webhook → agent message', fn: viaWebhook, samples: [] as number[] },
    ];
    const block = async (v: (typeof variants)[number], count: number, record: boolean) => {
      for (let i = 0; i < count; i++) {
        const us = await v.fn(i % CONVERSATIONS);
        if (record) v.samples.push(us);
      }
      await withTimeout(td.whenIdle(), 30_000, 'deliveries idle');
      await channel.call('reset');
    };
    for (const v of variants) await block(v, warm, false);
    for (let r = 0; r * BLOCK < n; r++) {
      for (let j = 0; j < variants.length; j++) await block(variants[(r + j) % 2]!, BLOCK, true);
    }
    await settle(standin, td);
    // What a conversation that had agent messages keeps in storage (its delivered-id ring).
    const recordBytes = largestItem(memory, 'tiledesk/conversation/');

    const bare = summarize(variants[0]!.samples);
    const ours = summarize(variants[1]!.samples);
    const p50Over = ours.p50 - bare.p50;
    const rows = variants.map((v) => {
      const s = summarize(v.samples);
      return [
        v.label,
        fmtUs(s.p50),
        fmtUs(s.p90),
        fmtUs(s.p99),
        fmtDelta(s.p50 - bare.p50),
        fmtDelta(s.p99 - bare.p99),
      ];
    });
    return {
      tables: [
        {
          title: `4. Agent → user latency (${n} deliveries per variant, blocks of ${BLOCK} interleaved, ${CONVERSATIONS} conversations, CloudAdapter → fake channel on loopback)`,
          headers: ['variant', 'p50', 'p90', 'p99', 'p50 over bare', 'p99 over bare'],
          rows,
          notes: [
            `ours: from the /api/tiledesk route handler (body parsed by restify) to arrival at the channel: secret check, envelope parse, storage claim (dedupe), proactive send`,
            `stored record of a conversation after these agent messages: ${fmtBytes(recordBytes)} (idle ones: see section 5); background errors: ${describeErrors(errors)}`,
          ],
        },
      ],
      targets: [
        {
          section: '4 p50',
          target: 'p50 overhead ≤ 10 % of bare',
          measured: `${fmtDelta(p50Over)} = ${((100 * p50Over) / bare.p50).toFixed(1)} % of ${fmtUs(bare.p50)}`,
          met: p50Over <= 0.1 * bare.p50,
        },
        {
          section: '4 p99',
          target: 'p99 ≤ bare p99 + 1 ms',
          measured: `${fmtUs(ours.p99)} vs ${fmtUs(bare.p99)} + 1 ms`,
          met: ours.p99 <= bare.p99 + 1000,
        },
      ],
      data: {
        deliveries: n,
        bare: roundSummary(bare),
        ours: roundSummary(ours),
        p50OverheadPct: round((100 * p50Over) / bare.p50),
        recordBytesAfterAgentMessages: recordBytes,
        errors: errors.length,
      },
    };
  } finally {
    await tiledesk?.stop(1000);
    await bot.stop();
    await channel.call('stop').catch(() => undefined);
    await channel.terminate();
    await standin.stop();
  }
}
