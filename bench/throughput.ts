/**
 * Section 3 — mirroring throughput: N conversations × 10 messages (5 user turns, each answered
 * by the echo bot) through the middleware to the stand-in on loopback, from the first turn until
 * everything is posted; then order and count are verified in the stand-in. The ceiling, in the
 * same run and alternating with it: the same number of plain axios POSTs to the same routes of
 * the same stand-in at the same concurrency (16, the outbox's).
 */
import axios from 'axios';
import { randomUUID } from 'node:crypto';
import {
  adminToken,
  CountingStorage,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  ourMiddleware,
  type SectionResult,
  startStandin,
  userMessage,
  withTimeout,
  yieldLoop,
} from './common';
import type { RemoteStandIn } from './standin-host';
import { fmtInt, fmtRatio, now, round, usSince } from './stats';

const TURNS = 5; // × (user message + bot reply) = 10 messages per conversation
const MESSAGES = 2 * TURNS;
const CONCURRENCY = 16;

interface Run {
  messages: number;
  us: number;
  calls: number;
  /** Conversations whose mirrored messages were missing, extra or out of order. */
  bad: number;
  errors: string[];
  /** Storage reads + writes + deletes (turns included). */
  storageOps: number;
}

async function ours(standin: RemoteStandIn, tag: string, conversations: number): Promise<Run> {
  const counting = countRequests(standin.url);
  const storage = new CountingStorage();
  const { adapter, tiledesk, errors } = ourMiddleware(standin, { storage });
  const calls0 = counting.calls();
  const ops0 = storage.reads + storage.writes + storage.deletes;
  const t0 = now();
  for (let t = 0; t < TURNS; t++) {
    for (let c = 0; c < conversations; c++) {
      await adapter.processActivity(userMessage(`${tag}-${c}`, `${tag}-u${c}`, `m${t}`), echo);
      if (c % 50 === 49) await yieldLoop();
    }
    adapter.activeQueue.length = 0;
  }
  await withTimeout(tiledesk.whenIdle(), 120_000, 'mirroring');
  const us = usSince(t0);
  const calls = counting.calls() - calls0;
  counting.stop();
  const storageOps = storage.reads + storage.writes + storage.deletes - ops0;

  const expected: string[] = [];
  for (let t = 0; t < TURNS; t++) expected.push(`m${t}`, `Echo: m${t}`);
  const want = expected.join('\n');
  const byConversation = new Map(await standin.call('requestsOf', `${tag}-`));
  const convs = Array.from({ length: conversations }, (_, c) => `${tag}-${c}`);
  const ids = convs.map((conv) => byConversation.get(conv) ?? 'missing');
  const texts = await standin.call('texts', ids);
  let bad = 0;
  for (const t of texts) if (t.join('\n') !== want) bad++;
  const errorTexts = errors.map((e) => `${e.code}: ${e.message}`);
  return { messages: conversations * MESSAGES, us, calls, bad, errors: errorTexts, storageOps };
}

async function ceiling(
  standin: RemoteStandIn,
  token: string,
  tag: string,
  conversations: number,
): Promise<Run> {
  const http = axios.create({ maxRedirects: 0 });
  const p = standin.projectId;
  const ids = Array.from({ length: conversations }, (_, c) => `support-group-${p}-${tag}-${c}`);
  let next = 0;
  let calls = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let c = next++; c < conversations; c = next++) {
        const url = `${standin.url}/${p}/requests/${encodeURIComponent(ids[c]!)}/messages`;
        for (let m = 0; m < MESSAGES; m++) {
          await http.post(
            url,
            {
              text: m % 2 === 0 ? `m${m / 2}` : `Echo: m${(m - 1) / 2}`,
              senderFullname: 'Ada Lovelace',
              channel: { name: 'botframework' },
              request_status: 50,
              attributes: { bf_mirror: true, bf_key: randomUUID(), bf_conversation: `${tag}-${c}` },
            },
            { headers: { Authorization: token } },
          );
          calls++;
        }
      }
    }),
  );
  const us = usSince(t0);
  let bad = 0;
  for (const t of await standin.call('texts', ids)) if (t.length !== MESSAGES) bad++;
  return { messages: conversations * MESSAGES, us, calls, bad, errors: [], storageOps: 0 };
}

export async function throughput(opts: BenchOptions): Promise<SectionResult> {
  const conversations = opts.quick ? 100 : 1000;
  const rounds = opts.quick ? 1 : 2;
  const standin = await startStandin();
  try {
    const token = await adminToken(standin);
    await ceiling(standin, token, 'ceil-warm', 20);
    await ours(standin, 'warm', 20); // its own instance: the measured ones see only their users
    const runs = { ours: [] as Run[], ceiling: [] as Run[] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so drift hits both alike.
      const order = r % 2 === 0 ? (['ceiling', 'ours'] as const) : (['ours', 'ceiling'] as const);
      for (const which of order) {
        if (which === 'ours') runs.ours.push(await ours(standin, `tp${r}`, conversations));
        else runs.ceiling.push(await ceiling(standin, token, `ceil${r}`, conversations));
      }
    }
    const total = (list: Run[]) => {
      const messages = list.reduce((n, x) => n + x.messages, 0);
      const us = list.reduce((n, x) => n + x.us, 0);
      const calls = list.reduce((n, x) => n + x.calls, 0);
      const bad = list.reduce((n, x) => n + x.bad, 0);
      return { messages, seconds: us / 1e6, rate: messages / (us / 1e6), calls, bad };
    };
    const o = total(runs.ours);
    const c = total(runs.ceiling);
    const ratio = o.rate / c.rate;
    const perRound = (list: Run[]) => list.map((x) => fmtInt(x.messages / (x.us / 1e6))).join(', ');
    const row = (label: string, list: Run[], ok: string) => {
      const t = total(list);
      const verified = t.bad === 0 ? ok : `${t.bad} bad`;
      const cells = [fmtInt(t.messages), t.seconds.toFixed(2), fmtInt(t.rate), perRound(list)];
      return [label, ...cells, fmtInt(t.calls), verified, fmtRatio(t.rate / c.rate)];
    };
    return {
      tables: [
        {
          title: `3. Mirroring throughput (${fmtInt(conversations)} conversations × ${MESSAGES} messages per round, ${rounds} round(s), concurrency ${CONCURRENCY}, stand-in on loopback answering at once)`,
          headers: [
            'variant',
            'messages',
            'seconds',
            'messages/s',
            'per round',
            'HTTP calls',
            'verified',
            'of ceiling',
          ],
          rows: [
            row('ceiling: plain axios POSTs', runs.ceiling, 'count ok'),
            row('ours: turns → middleware → outbox', runs.ours, 'order+count ok'),
          ],
          notes: [
            `ours: time from the first turn until whenIdle(); includes the ${fmtInt(runs.ours.length * conversations * TURNS)} turns themselves and one end-user sign-in per new conversation`,
            `ours: ${(runs.ours.reduce((n, x) => n + x.storageOps, 0) / o.messages).toFixed(1)} storage operations per mirrored message (turns included; each one a round trip with a remote Storage)`,
            `background errors (ours): ${describeErrors(runs.ours.flatMap((x) => x.errors))}`,
          ],
        },
      ],
      targets: [
        {
          section: '3',
          target: 'mirroring ≥ 0.9× raw POST ceiling',
          measured: `${fmtRatio(ratio)} (${fmtInt(o.rate)} vs ${fmtInt(c.rate)} msg/s)`,
          met: ratio >= 0.9,
        },
      ],
      data: {
        conversations,
        messagesPerConversation: MESSAGES,
        rounds,
        ours: { ...o, rate: round(o.rate), seconds: round(o.seconds) },
        ceiling: { ...c, rate: round(c.rate), seconds: round(c.seconds) },
        ratio: round(ratio),
        verified: o.bad === 0 && c.bad === 0,
        errors: runs.ours.flatMap((x) => x.errors).length,
      },
    };
  } finally {
    await standin.stop();
  }
}
