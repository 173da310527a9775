/**
 * Section 3 — mirroring throughput: N conversations × 10 messages (5 user turns, each answered
 * by the echo bot) through the middleware to the stand-in on loopback, from the first turn until
 * everything is posted; then order and count are verified in the stand-in. The ceiling, in the
 * same run and alternating with it: the same number of plain axios POSTs to the same routes of
 * the same stand-in at the same concurrency (16, the outbox's). Ours runs on MemoryStorage and
 * on BlobsStorage against a fresh Azurite (a new container per run).
 *
 * Storage operations are counted during the runs: each turn runs in a scope of the counting
 * storage (critical path = what the turn made before it was over); everything else is
 * background, amortized over the mirrored messages (the outbox batches under load).
 */
import axios from 'axios';
import { randomUUID } from 'node:crypto';
import { MemoryStorage, type Storage } from 'botbuilder';
import { type BlobsHost, startBlobs } from './blobs-host';
import {
  adminToken,
  type BenchOptions,
  countRequests,
  describeErrors,
  echo,
  ourMiddleware,
  quiet,
  type SectionResult,
  startStandin,
  userMessage,
  yieldLoop,
} from './common';
import {
  addOps,
  CountingStorage,
  disableScopes,
  fmtOps,
  type OpCounts,
  opsJson,
  opsOf,
  zeroOps,
} from './counting-storage';
import type { RemoteStandIn } from './standin-host';
import { fmtInt, fmtRatio, now, round, usSince } from './stats';

const TURNS = 5; // × (user message + bot reply) = 10 messages per conversation
const MESSAGES = 2 * TURNS;
const CONCURRENCY = 16;

interface Run {
  messages: number;
  turns: number;
  us: number;
  calls: number;
  /** Conversations whose mirrored messages were missing, extra or out of order. */
  bad: number;
  errors: string[];
  /** Storage operations made by the turns before they were over. */
  critical: OpCounts;
  /** Everything else (posting, settling, indexes, end-user identities). */
  background: OpCounts;
}

async function ours(
  standin: RemoteStandIn,
  tag: string,
  conversations: number,
  store: Storage,
): Promise<Run> {
  const counting = countRequests(standin.url);
  const storage = new CountingStorage(store);
  const { adapter, tiledesk, errors } = ourMiddleware(standin, { storage });
  const calls0 = counting.calls();
  const t0 = now();
  for (let t = 0; t < TURNS; t++) {
    for (let c = 0; c < conversations; c++) {
      const activity = userMessage(`${tag}-${c}`, `${tag}-u${c}`, `m${t}`);
      await storage.scoped(() => adapter.processActivity(activity, echo));
      if (c % 50 === 49) await yieldLoop();
    }
    adapter.activeQueue.length = 0;
  }
  await quiet(tiledesk, storage, 120_000);
  const us = usSince(t0);
  disableScopes();
  const calls = counting.calls() - calls0;
  counting.stop();

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
  return {
    messages: conversations * MESSAGES,
    turns: conversations * TURNS,
    us,
    calls,
    bad,
    errors: errorTexts,
    critical: storage.critical,
    background: storage.background(),
  };
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
  return {
    messages: conversations * MESSAGES,
    turns: 0,
    us,
    calls,
    bad,
    errors: [],
    critical: zeroOps(),
    background: zeroOps(),
  };
}

type Which = 'ceiling' | 'memory' | 'blobs';

export async function throughput(opts: BenchOptions): Promise<SectionResult> {
  const conversations = opts.quick ? 30 : 1000;
  // BlobsStorage mirrors several times slower (≈ 0.9 ms of the bot's CPU per operation).
  const blobsConversations = opts.quick ? 30 : 120;
  const rounds = opts.quick ? 1 : 2;
  const warm = opts.quick ? 5 : 20;
  const [standin, blobs] = await Promise.all([startStandin(), startBlobs()]);
  const storageFor = async (which: Which, tag: string, host: BlobsHost): Promise<Storage> =>
    which === 'blobs' ? host.storage(tag) : new MemoryStorage();
  try {
    const token = await adminToken(standin);
    await ceiling(standin, token, 'ceil-warm', warm);
    // Their own instances: the measured ones see only their users.
    await ours(standin, 'warm', warm, new MemoryStorage());
    await ours(standin, 'warmb', warm, await blobs.storage('tp-warm'));
    const runs: Record<Which, Run[]> = { ceiling: [], memory: [], blobs: [] };
    const order: Which[] = ['ceiling', 'memory', 'blobs'];
    for (let r = 0; r < rounds; r++) {
      // Rotate which goes first, so drift hits all alike.
      for (let j = 0; j < order.length; j++) {
        const which = order[(r + j) % order.length]!;
        if (which === 'ceiling') {
          runs.ceiling.push(await ceiling(standin, token, `ceil${r}`, conversations));
        } else {
          const n = which === 'blobs' ? blobsConversations : conversations;
          const tag = `tp${which[0]}${r}`;
          runs[which].push(await ours(standin, tag, n, await storageFor(which, `tp${r}`, blobs)));
        }
      }
    }
    const total = (list: Run[]) => {
      const messages = list.reduce((n, x) => n + x.messages, 0);
      const turns = list.reduce((n, x) => n + x.turns, 0);
      const us = list.reduce((n, x) => n + x.us, 0);
      const calls = list.reduce((n, x) => n + x.calls, 0);
      const bad = list.reduce((n, x) => n + x.bad, 0);
      const critical = list.reduce((acc, x) => addOps(acc, x.critical), zeroOps());
      const background = list.reduce((acc, x) => addOps(acc, x.background), zeroOps());
      return {
        messages,
        turns,
        seconds: us / 1e6,
        rate: messages / (us / 1e6),
        calls,
        bad,
        critical,
        background,
      };
    };
    const t = {
      ceiling: total(runs.ceiling),
      memory: total(runs.memory),
      blobs: total(runs.blobs),
    };
    const c = t.ceiling;
    const ratio = (w: Which) => t[w].rate / c.rate;
    const perRound = (list: Run[]) => list.map((x) => fmtInt(x.messages / (x.us / 1e6))).join(', ');
    const bgPerMsg = (w: Which) => opsOf(t[w].background) / t[w].messages;
    const critPerTurn = (w: Which) => opsOf(t[w].critical) / t[w].turns;
    const row = (label: string, w: Which, ok: string) => {
      const x = t[w];
      const verified = x.bad === 0 ? ok : `${x.bad} bad`;
      const cells = [fmtInt(x.messages), x.seconds.toFixed(2), fmtInt(x.rate), perRound(runs[w])];
      const ops =
        w === 'ceiling'
          ? ['', '', '']
          : [
              critPerTurn(w).toFixed(2),
              bgPerMsg(w).toFixed(2),
              ((opsOf(x.critical) + opsOf(x.background)) / x.messages).toFixed(2),
            ];
      return [label, ...cells, fmtInt(x.calls), verified, fmtRatio(x.rate / c.rate), ...ops];
    };
    const errors = [...runs.memory, ...runs.blobs].flatMap((x) => x.errors);
    const opsNote = (w: Which, name: string) =>
      `${name}: per turn on the critical path ${fmtOps(t[w].critical, t[w].turns)}; background per mirrored message ${fmtOps(t[w].background, t[w].messages)}`;
    return {
      tables: [
        {
          title: `3. Mirroring throughput (${fmtInt(conversations)} conversations × ${MESSAGES} messages per round (Blobs: ${fmtInt(blobsConversations)}), ${rounds} round(s), concurrency ${CONCURRENCY}, stand-in on loopback answering at once; Blobs → Azurite on loopback)`,
          headers: [
            'variant',
            'messages',
            'seconds',
            'messages/s',
            'per round',
            'HTTP calls',
            'verified',
            'of ceiling',
            'crit. ops/turn',
            'bg ops/msg',
            'all ops/msg',
          ],
          rows: [
            row('ceiling: plain axios POSTs', 'ceiling', 'count ok'),
            row('ours, Memory: turns → outbox', 'memory', 'order+count ok'),
            row('ours, Blobs: turns → outbox', 'blobs', 'order+count ok'),
          ],
          notes: [
            `ours: time from the first turn until everything was posted (whenIdle() and the storage quiet); includes the turns themselves (${TURNS} per conversation) and one end-user sign-in per new conversation`,
            `storage operations (read + create + replace calls, each a round trip with a remote storage): crit. = made by a turn before it was over (its AsyncLocalStorage scope), per turn; bg = all the others, per mirrored message (amortized: one append per turn, settles batched per burst, first-turn index and end-user identity)`,
            opsNote('memory', 'Memory'),
            opsNote('blobs', 'Blobs'),
            `background errors (ours): ${describeErrors(errors)}`,
          ],
        },
      ],
      targets: [
        {
          section: '3',
          target: 'mirroring ≥ 0.9× raw POST ceiling',
          measured: `${fmtRatio(ratio('memory'))} (${fmtInt(t.memory.rate)} vs ${fmtInt(c.rate)} msg/s)`,
          met: ratio('memory') >= 0.9,
        },
        {
          section: '3 Blobs',
          target: 'mirroring on BlobsStorage (report)',
          measured: `${fmtRatio(ratio('blobs'))} (${fmtInt(t.blobs.rate)} vs ${fmtInt(c.rate)} msg/s)`,
          met: undefined,
        },
        {
          section: '3 ops',
          target: '≤ 1.5 background storage ops per mirrored message (amortized)',
          measured: `Memory ${bgPerMsg('memory').toFixed(2)}, Blobs ${bgPerMsg('blobs').toFixed(2)}`,
          met: bgPerMsg('memory') <= 1.5 && bgPerMsg('blobs') <= 1.5,
        },
        {
          section: '3 turns',
          target: '1 storage op on a turn’s critical path, under load',
          measured: `Memory ${critPerTurn('memory').toFixed(2)}, Blobs ${critPerTurn('blobs').toFixed(2)} per turn`,
          met: critPerTurn('memory') <= 1 && critPerTurn('blobs') <= 1,
        },
      ],
      data: {
        conversations,
        blobsConversations,
        messagesPerConversation: MESSAGES,
        rounds,
        ...Object.fromEntries(
          (['ceiling', 'memory', 'blobs'] as const).map((w) => {
            const x = t[w];
            return [
              w,
              {
                messages: x.messages,
                seconds: round(x.seconds),
                rate: round(x.rate),
                calls: x.calls,
                bad: x.bad,
                ratio: round(ratio(w)),
                ...(w === 'ceiling'
                  ? {}
                  : {
                      criticalPerTurn: opsJson(x.critical, x.turns),
                      backgroundPerMessage: opsJson(x.background, x.messages),
                    }),
              },
            ];
          }),
        ),
        ratio: round(ratio('memory')),
        ratioBlobs: round(ratio('blobs')),
        verified: t.memory.bad === 0 && t.blobs.bad === 0 && c.bad === 0,
        errors: errors.length,
      },
    };
  } finally {
    disableScopes();
    await standin.stop();
    await blobs.stop();
  }
}
