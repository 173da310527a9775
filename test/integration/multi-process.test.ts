import { expect } from 'chai';
import { BlobsStorage } from 'botbuilder-azure-blobs';
import { conversationKey, requestIdFor } from '../../lib/core/ids';
import { type Azurite, freshContainerName, startAzurite } from '../support/azurite';
import { withoutAgentPrefix } from '../support/agent-prefix';
import { countDelivery, type DeliveryCounts } from '../support/delivery-counts';
import { FakeChannel } from '../support/fake-channel';
import {
  runningSamplePids,
  type SampleProcess,
  startSampleProcess,
} from '../support/sample-process';
import { TiledeskStandIn } from '../support/tiledesk-standin';
import { WebhookBalancer } from '../support/webhook-balancer';

const unprefixed = (text: string | undefined) => withoutAgentPrefix([text ?? ''])[0]!;

/**
 * Several real bot processes (samples/handoff-bot, spawned with `node --import tsx`) sharing one
 * Azurite container, one Tiledesk stand-in (in this process) and one fake channel; Tiledesk's
 * webhooks reach them through a loopback balancer that the test points at either process.
 * What is checked is what the user and the agent see: every message mirrored once and in order,
 * every agent message delivered (at least) once and in order, one handoff, one closed notice,
 * and that a killed or stopped process's work is finished by the other one.
 *
 * The lease (60 s in production) is shortened with the sample's test-only
 * `TILEDESK_TEST_LEASE_MS`; the heartbeat in `tiledesk/instances` runs every third of it.
 */

const CHANNEL_ID = 'webchat'; // FakeChannel's default channelId
const CONNECTING = 'Connecting you to a human agent…';
const JOINED = / has joined the chat\.$/;
const CLOSED = 'The agent has closed the chat. You are back with the bot.';
const BACK = "I'm back. Anything else I can repeat for you?";

interface ConversationRecordView {
  mode: string;
  gen: number;
  outbox: { key: string; kind: string }[];
  lease?: { owner: string; until: number };
  claim?: { owner: string; until: number; ids: string[] };
}

interface World {
  azurite: Azurite;
  standin: TiledeskStandIn;
  channel: FakeChannel;
  balancer: WebhookBalancer;
  container: string;
  storage: BlobsStorage;
  bots: SampleProcess[];
}

let world: World | undefined;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startWorld(): Promise<World> {
  const standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [50, 100] });
  const channel = new FakeChannel();
  const balancer = new WebhookBalancer();
  const [azurite] = await Promise.all([
    startAzurite(),
    standin.start(),
    channel.start(),
    balancer.start(),
  ]);
  const container = freshContainerName('multi');
  const storage = new BlobsStorage(azurite.connectionString, container);
  return { azurite, standin, channel, balancer, container, storage, bots: [] };
}

/**
 * Starts the named sample processes in parallel (same container, same webhook URL); `leaseMs`
 * undefined keeps the production lease (60 s).
 */
async function startBots(
  w: World,
  leaseMs: number | undefined,
  names: string[],
  extraEnv: Record<string, string> = {},
): Promise<SampleProcess[]> {
  const started = await Promise.allSettled(
    names.map((name) =>
      startSampleProcess({
        name,
        echo: process.env['MULTI_PROCESS_ECHO'] === '1',
        env: {
          MicrosoftAppId: '',
          BlobsStorageConnectionString: w.azurite.connectionString,
          BlobsStorageContainerName: w.container,
          TiledeskApiUrl: w.standin.url,
          TiledeskProjectId: w.standin.projectId,
          TiledeskEmail: w.standin.admin.email,
          TiledeskPassword: w.standin.admin.password,
          TiledeskProjectSecret: w.standin.projectSecret,
          TiledeskWebhookUrl: w.balancer.url,
          TiledeskBotName: 'Echo Bot',
          TiledeskCatchUpIntervalMs: '500',
          ...(leaseMs === undefined ? {} : { TILEDESK_TEST_LEASE_MS: String(leaseMs) }),
          TILEDESK_TEST_INSTANCE_ID: name,
          ...extraEnv,
        },
      }),
    ),
  );
  for (const s of started) if (s.status === 'fulfilled') w.bots.push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return w.bots.slice(-names.length);
}

/** Stops everything, each part even when another one fails to stop. */
async function stopWorld(w: World | undefined): Promise<void> {
  if (!w) return;
  const steps = [
    ...w.bots.map((b) => () => b.stop()),
    () => w.balancer.stop(),
    () => w.channel.stop(),
    () => w.standin.stop(),
    () => w.azurite.stop(),
  ];
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((err: unknown) => failures.push(err));
  if (failures.length > 0) throw failures[0];
}

async function readItem<T>(w: World, key: string): Promise<T | undefined> {
  const items = await w.storage.read([key]);
  return items[key] as T | undefined;
}

function recordOf(w: World, conversationId: string): Promise<ConversationRecordView | undefined> {
  const convKey = conversationKey(CHANNEL_ID, conversationId);
  return readItem<ConversationRecordView>(w, `tiledesk/conversation/${convKey}`);
}

async function members(w: World): Promise<Record<string, number>> {
  const item = await readItem<{ members?: Record<string, number> }>(w, 'tiledesk/instances');
  return item?.members ?? {};
}

/** The registry's changes as this test saw them (polled every 50 ms), for timelines. */
interface RegistryWatch {
  changes: { at: number; members: Record<string, number> }[];
  stop(): void;
}

function watchRegistry(w: World): RegistryWatch {
  const changes: RegistryWatch['changes'] = [];
  let stopped = false;
  void (async () => {
    let last = '';
    while (!stopped) {
      const m = await members(w).catch(() => undefined);
      const json = JSON.stringify(m);
      if (m && json !== last) changes.push({ at: Date.now(), members: m });
      last = json;
      await pause(50);
    }
  })();
  return { changes, stop: () => (stopped = true) };
}

function requestId(w: World, conversationId: string, gen = 0): string {
  return requestIdFor(w.standin.projectId, conversationKey(CHANNEL_ID, conversationId), gen);
}

/** What the bot mirrored into a request: user and bot messages, hidden info lines left out. */
function mirrored(w: World, conversationId: string, gen = 0): string[] {
  return w.standin
    .messages(requestId(w, conversationId, gen))
    .filter((m) => m.attributes?.['bf_key'] !== undefined && m.attributes['subtype'] !== 'info')
    .map((m) => m.text ?? '');
}

/** Polls `check` every 25 ms until it returns something other than undefined/false. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function report(scenario: string, label: string, counts: DeliveryCounts): void {
  console.log(`      [${scenario}] ${label}: ${JSON.stringify(counts)}`);
}

describe('multi-process: real sample processes on Azurite', function () {
  this.timeout(45_000);

  afterEach(async function () {
    const w = world;
    world = undefined;
    if (w && this.currentTest?.state === 'failed') {
      // What the processes logged (the lib's warnings and errors), to tell why.
      for (const bot of w.bots) {
        const lines = bot.output.join('').trim().split('\n').slice(-40);
        console.log(`      --- output of ${bot.name} (last ${lines.length} lines) ---`);
        for (const line of lines) console.log(`      ${bot.name}| ${line}`);
      }
    }
    await stopWorld(w);
  });

  after(() => {
    expect(runningSamplePids(), 'sample processes left running').to.deep.equal([]);
  });

  it('TiledeskMirrorVisibility=bot: three processes starting at once end with one Tiledesk bot; each serves the conversation as it and accepts its notifications', async () => {
    const w = (world = await startWorld());
    const bots = await startBots(w, undefined, ['A', 'B', 'C'], {
      TiledeskMirrorVisibility: 'bot',
    });
    // Each start() has finished (the sample logs once start() resolved): one bot, in storage.
    expect(w.standin.bots.map((b) => b.url)).to.deep.equal([w.balancer.url]);
    const [only] = w.standin.bots;
    const stored = await readItem<{ id: string }>(w, 'tiledesk/bot/botframework');
    expect(stored?.id).to.equal(only!._id);
    const conv = 'mp-visible';
    const user = w.channel.user(conv, 'user-v', 'Ada Lovelace');
    for (const [i, p] of bots.entries()) {
      w.balancer.to(bots[(i + 1) % bots.length]!.url); // Tiledesk's POSTs reach another process
      const r = await user.say(p.messagesUrl, `v${i}`);
      expect(r.status).to.equal(200);
    }
    const rid = requestId(w, conv);
    await until('three turns mirrored', 10_000, () => mirrored(w, conv).length === 6);
    expect(mirrored(w, conv)).to.deep.equal(['v0', 'Echo: v0', 'v1', 'Echo: v1', 'v2', 'Echo: v2']);
    expect(w.standin.request(rid)!.participants).to.deep.equal([`bot_${only!._id}`]);
    const echoes = w.standin.messages(rid).filter((m) => m.text?.startsWith('Echo:'));
    expect(new Set(echoes.map((m) => m.sender))).to.deep.equal(new Set([`bot_${only!._id}`]));
    await until(
      'the bot notifications answered',
      10_000,
      () => w.standin.botNotifications.length >= 3,
    );
    expect(w.standin.botNotifications.map((n) => n.status)).to.deep.equal(
      w.standin.botNotifications.map(() => 200),
    );
  });

  it('two processes share one conversation: turns and webhooks alternate, nothing lost, duplicated or reordered', async () => {
    const w = (world = await startWorld());
    const t0 = Date.now();
    const [a, b] = await startBots(w, undefined, ['A', 'B']);
    const started = Date.now() - t0;
    const conv = 'mp-alternate';
    const user = w.channel.user(conv, 'user-s1', 'Ada Lovelace');
    const other = (p: SampleProcess) => (p === a ? b! : a!);
    const sentToTiledesk: string[] = [];
    const toUser: string[] = [];
    const sentToTiledeskGen1: string[] = [];

    /**
     * A user turn to `p`, with the webhooks it causes sent to the other process. Like a person,
     * the test waits for the bot's answer (the turn's HTTP 200), never for the mirroring.
     */
    const say = async (p: SampleProcess, text: string, replies: string[], gen = 0) => {
      w.balancer.to(other(p).url);
      const r = await user.say(p.messagesUrl, text);
      expect(r.status, `turn "${text}" on ${p.name}`).to.equal(200);
      (gen === 0 ? sentToTiledesk : sentToTiledeskGen1).push(text, ...replies);
      toUser.push(...replies);
      const seen = withoutAgentPrefix(w.channel.texts(conv)).slice(0, toUser.length);
      expect(seen, `what the user saw after "${text}"`).to.deep.equal(toUser);
    };

    await say(a!, 's1 hello one', ['Echo: s1 hello one']);
    await say(b!, 's1 hello two', ['Echo: s1 hello two']);
    await say(a!, 's1: human please', [CONNECTING]);
    // The routing answer (an agent is available) tells the user who joined.
    await until('the joined notice', 10_000, () =>
      withoutAgentPrefix(w.channel.texts(conv)).some((t) => JOINED.test(t)),
    );
    toUser.push(withoutAgentPrefix(w.channel.texts(conv)).find((t) => JOINED.test(t))!);
    await say(b!, 's1 during handoff', []);

    // Agent messages: a1's webhook to A, a2's to B, a3's to A, a4's to B; others alternate.
    const agentSays = ['a1 hello from Anna', 'a2 second', 'a3 third', 'a4 fourth'];
    w.balancer.route = ({ n, text }) => {
      const i = agentSays.indexOf(text ?? '');
      return (i >= 0 ? i : n) % 2 === 0 ? a!.url : b!.url;
    };
    const rid = requestId(w, conv);
    for (const text of agentSays) w.standin.agentReply(rid, text);
    toUser.push(...agentSays);
    await until('agent messages delivered', 10_000, () =>
      agentSays.every((t) => withoutAgentPrefix(w.channel.texts(conv)).includes(t)),
    );
    await say(a!, 's1 after agent', []);
    await say(b!, 's1 second after agent', []);

    // The agent closes once the user's messages reached the chat (an agent acts on what it sees;
    // a message still in a bot's outbox when the request closes goes into the next request).
    // The close webhook goes to A (the last turn was on B).
    await until(
      'the handoff messages mirrored',
      10_000,
      () => mirrored(w, conv).length >= sentToTiledesk.length,
    ).catch(() => undefined);
    w.balancer.to(a!.url);
    w.standin.agentClose(rid);
    toUser.push(CLOSED, BACK);
    await until('closed notice and the bot back', 10_000, () =>
      withoutAgentPrefix(w.channel.texts(conv)).includes(BACK),
    );
    sentToTiledeskGen1.push(BACK); // the bot's "I'm back" opens the next request
    await say(b!, 's1 bot again', ['Echo: s1 bot again'], 1);
    await say(a!, 's1 bot again two', ['Echo: s1 bot again two'], 1);
    await until('everything mirrored', 10_000, () => {
      const gen0 = mirrored(w, conv, 0).length >= sentToTiledesk.length;
      return gen0 && mirrored(w, conv, 1).length >= sentToTiledeskGen1.length;
    }).catch(() => undefined); // the assertions below show what is missing
    await pause(1_000); // late duplicates would show up now

    const routeCalls = w.standin.calls.filter(
      (c) => c.method === 'PUT' && c.path.includes(`/requests/${rid}/agent`),
    );
    const userTexts = withoutAgentPrefix(w.channel.texts(conv));
    const mirrorCounts = countDelivery(
      [...sentToTiledesk, ...sentToTiledeskGen1],
      [...mirrored(w, conv, 0), ...mirrored(w, conv, 1)],
    );
    const userCounts = countDelivery(toUser, userTexts);
    const agentCounts = countDelivery(agentSays, userTexts);
    report('alternate', 'mirrored to Tiledesk', mirrorCounts);
    report('alternate', 'to the user (all)', userCounts);
    report('alternate', 'agent messages to the user', agentCounts);
    const agentHooks = w.balancer.forwarded
      .filter((f) => agentSays.includes(f.text ?? '') && f.status === 200)
      .map((f) => `${f.text!.slice(0, 2)}→${f.target === a!.url ? 'A' : 'B'}`)
      .sort();
    console.log(
      `      [alternate] processes ready in ${started} ms; agent message webhooks: ${agentHooks.join(' ')}`,
    );

    // What the user saw first, then what the agent sees in Tiledesk.
    expect(userTexts).to.deep.equal(toUser);
    expect(routeCalls, 'PUT …/agent calls').to.have.length(1);
    expect(userTexts.filter((t) => JOINED.test(t))).to.have.length(1);
    expect(userTexts.filter((t) => t === CLOSED)).to.have.length(1);
    expect(w.standin.request(rid)?.status).to.equal(1000);
    expect(agentHooks).to.deep.equal(['a1→A', 'a2→B', 'a3→A', 'a4→B']);
    for (const p of [a!, b!]) expect(p.alive, `${p.name} still running`).to.equal(true);
    // Turns alternate A, B, A, …; each was sent once the previous one had been answered.
    expect(mirrored(w, conv, 0), 'mirrored into the first request').to.deep.equal(sentToTiledesk);
    expect(mirrored(w, conv, 1), 'mirrored into the second request').to.deep.equal(
      sentToTiledeskGen1,
    );
  });

  it('kill -9 with posts and a delivery in flight: the other process finishes the work', async () => {
    const LEASE = 4_500; // heartbeat every 1.5 s; a dead instance is noticed 4.5–6 s after its last beat
    const w = (world = await startWorld());
    const [a, b] = await startBots(w, LEASE, ['A', 'B']);
    const conv = 'mp-kill';
    const user = w.channel.user(conv, 'user-s2', 'Grace Hopper');
    const rid = requestId(w, conv);
    w.balancer.to(a!.url);
    const turn = async (text: string) => {
      const r = await user.say(a!.messagesUrl, text);
      expect(r.status, `turn "${text}" on A`).to.equal(200);
    };
    await turn('s2 hello');
    await turn('s2: human');
    await until('the handoff on A', 10_000, () =>
      withoutAgentPrefix(w.channel.texts(conv)).some((t) => JOINED.test(t)),
    );
    await until('the first messages mirrored', 10_000, () => mirrored(w, conv).length >= 4);

    // A's work gets stuck: its message POSTs are held by Tiledesk (the first one stays in flight)
    // and its proactive sends hang in the channel (2.5 s); B's catch-up finds A's live claim on
    // the agent messages and waits for it.
    const hold = w.standin.hold({ method: 'POST', path: /\/messages$/ });
    w.channel.setLatency(2_500);
    w.channel.recordArrivals = true;
    const userSays = ['s2 u1', 's2 u2', 's2 u3'];
    for (const text of userSays) await turn(text);
    const agentSays = ['a1 first', 'a2 second', 'a3 third'];
    for (const text of agentSays) w.standin.agentReply(rid, text);
    const sending = () =>
      w.channel.arrivals.some(
        (x) => x.conversationId === conv && agentSays.includes(unprefixed(x.text)),
      );
    const before = await until(
      'A holding its posts and sending a claimed message',
      10_000,
      async () => {
        const r = await recordOf(w, conv);
        const ready =
          hold.pending >= 1 &&
          r?.lease?.owner === 'A' &&
          r.outbox.filter((e) => e.kind === 'user').length === userSays.length &&
          r.claim?.owner === 'A' &&
          sending();
        return ready && r;
      },
    );
    w.standin.clearFaults();
    const lastBeat = (await members(w))['A'];

    a!.kill('SIGKILL');
    const killedAt = Date.now();
    const arrivedBeforeKill = [...w.channel.arrivals];
    await a!.exited;
    w.balancer.to(b!.url); // the balancer fails over
    w.channel.setLatency(0);
    hold.release(); // A's held POST is processed now: it reached Tiledesk before A died

    const noticedAt = await until('B to remove A from tiledesk/instances', 3 * LEASE, async () =>
      'A' in (await members(w)) ? false : Date.now(),
    );
    let tookOverAt: number | undefined;
    const sentToTiledesk = ['s2 hello', 'Echo: s2 hello', 's2: human', CONNECTING, ...userSays];
    // Bound: noticed within a lease and a heartbeat of A's last one, A's claim run out: ≤ 6.5 s.
    const finished = await until("B to finish A's work", 2 * LEASE, async () => {
      const r = await recordOf(w, conv);
      if (tookOverAt === undefined && (r?.lease?.owner === 'B' || r?.outbox.length === 0)) {
        tookOverAt = Date.now();
      }
      const texts = withoutAgentPrefix(w.channel.texts(conv));
      return (
        mirrored(w, conv).length >= sentToTiledesk.length &&
        agentSays.every((t) => texts.includes(t)) &&
        Date.now()
      );
    }).catch(() => undefined);

    // Afterwards B serves the conversation alone: one more agent message, webhook to B.
    w.standin.agentReply(rid, 'a4 after the crash');
    await until('a4 delivered', 10_000, () =>
      withoutAgentPrefix(w.channel.texts(conv)).includes('a4 after the crash'),
    ).catch(() => undefined);
    await pause(500);

    const rel = (t: number | undefined) => (t === undefined ? 'never' : `${t - killedAt} ms`);
    console.log(
      `      [kill -9] A's last heartbeat ${rel(lastBeat)}, its outbox lease to ${rel(before.lease?.until)}, ` +
        `its claim on [${before.claim?.ids.join(', ')}] to ${rel(before.claim?.until)}; ` +
        `B noticed A's death at ${rel(noticedAt)}, took over the outbox at ${rel(tookOverAt)}, ` +
        `finished at ${rel(finished)} (after the kill)`,
    );
    const allAgent = [...agentSays, 'a4 after the crash'];
    const userTexts = withoutAgentPrefix(w.channel.texts(conv));
    const mirrorCounts = countDelivery(sentToTiledesk, mirrored(w, conv));
    const agentCounts = countDelivery(allAgent, userTexts);
    report('kill -9', 'mirrored to Tiledesk', mirrorCounts);
    report('kill -9', 'agent messages to the user', agentCounts);
    const duplicated = allAgent.filter((t) => userTexts.filter((u) => u === t).length > 1);
    const claimed = before.claim?.ids.map(
      (id) => w.standin.messages(rid).find((m) => m._id === id)?.text ?? id,
    );
    // Sent by A before it died: what the channel had received when A was killed (B had sent
    // nothing yet); the channel answers it only after its latency, so A never marked it.
    const sentByA = arrivedBeforeKill
      .filter((x) => x.conversationId === conv && allAgent.includes(unprefixed(x.text)))
      .map((x) => unprefixed(x.text));
    console.log(
      `      [kill -9] duplicated to the user: [${duplicated.join(', ')}]; A's claim at its death: ` +
        `[${claimed?.join(', ')}], of which A had sent [${sentByA.join(', ')}]`,
    );

    expect(noticedAt - killedAt, 'B noticed A within a lease and a heartbeat').to.be.below(
      LEASE + LEASE / 3 + 1_500,
    );
    expect(
      tookOverAt,
      `B never took over A's outbox: lease to ${rel(before.lease?.until)}, B noticed at ${rel(noticedAt)}`,
    ).to.not.equal(undefined);
    expect(mirrored(w, conv)).to.deep.equal(sentToTiledesk);
    expect(agentCounts.missing, 'agent messages missing').to.equal(0);
    expect(agentCounts.reordered, 'agent messages reordered').to.equal(0);
    // The documented window: A died after sending and before marking; only what A claimed may
    // come twice (and here exactly what it had sent).
    expect(duplicated, "duplicates other than A's claimed messages").to.satisfy((d: string[]) =>
      d.every((t) => claimed?.includes(t)),
    );
    expect(duplicated, 'duplicated = what A had sent').to.deep.equal(sentByA);
    expect(userTexts.filter((t) => JOINED.test(t))).to.have.length(1);
  });

  it('SIGTERM with posts held: A exits, hands its lease back, B takes over at once', async () => {
    const LEASE = 15_000; // heartbeat every 5 s: B's takeover must come from A's hand-back
    const w = (world = await startWorld());
    const [a, b] = await startBots(w, LEASE, ['A', 'B']);
    const registry = watchRegistry(w);
    const conv = 'mp-sigterm';
    const user = w.channel.user(conv, 'user-s3', 'Alan Turing');
    w.balancer.to(b!.url);
    const sentToTiledesk: string[] = [];
    const turn = async (text: string) => {
      const r = await user.say(a!.messagesUrl, text);
      expect(r.status, `turn "${text}" on A`).to.equal(200);
      sentToTiledesk.push(text, `Echo: ${text}`);
    };
    await turn('s3 hello');
    await until('the request created', 10_000, () => mirrored(w, conv).length >= 2);
    // B learns that A left by comparing the registry with what it saw at its previous heartbeat
    // (lib/core/instances.ts): wait until B has written a heartbeat while A was registered (a
    // compare-and-set write, so B read A's entry). An A that joins and leaves between two of B's
    // heartbeats is never noticed: its handed-back work waits for B's hourly full scan.
    const aSince = registry.changes.find((c) => 'A' in c.members)?.at ?? Date.now();
    await until('B to see A in tiledesk/instances', LEASE, () =>
      registry.changes.some(
        (c, i) =>
          c.at > aSince &&
          'A' in c.members &&
          c.members['B'] !== registry.changes[i - 1]?.members['B'],
      ),
    );

    const hold = w.standin.hold({ method: 'POST', path: /\/messages$/ });
    for (const text of ['s3 one', 's3 two', 's3 three']) await turn(text);
    const before = await until('A holding 6 posts', 10_000, async () => {
      const r = await recordOf(w, conv);
      return hold.pending >= 1 && r?.lease?.owner === 'A' && r.outbox.length === 6 && r;
    });
    a!.kill('SIGTERM');
    const termAt = Date.now();
    const exit = await Promise.race([a!.exited, pause(10_000).then(() => undefined)]);
    expect(exit, 'A exited within 10 s of SIGTERM').to.not.equal(undefined);
    const afterExit = await recordOf(w, conv);
    const membersAfterExit = await members(w);
    hold.release(); // A's held POST reaches Tiledesk after A left: B's check must see it

    let tookOverAt: number | undefined;
    const finished = await until('B to post what A handed back', LEASE, async () => {
      const r = await recordOf(w, conv);
      if (tookOverAt === undefined && (r?.lease?.owner === 'B' || r?.outbox.length === 0)) {
        tookOverAt = Date.now();
      }
      return mirrored(w, conv).length >= sentToTiledesk.length && r?.outbox.length === 0;
    }).catch(() => false);
    await pause(500);
    registry.stop();

    const rel = (t: number | undefined) => (t === undefined ? 'never' : `${t - termAt} ms`);
    const timeline = registry.changes
      .map((c) => `${rel(c.at)} {${Object.entries(c.members).map(([k, v]) => `${k}:${rel(v)}`)}}`)
      .join(' → ');
    console.log(`      [SIGTERM] tiledesk/instances (heartbeats after SIGTERM): ${timeline}`);
    console.log(
      `      [SIGTERM] A exited (code ${exit!.code}, signal ${exit!.signal}) at ${rel(exit!.at)}; ` +
        `lease after exit: ${JSON.stringify(afterExit?.lease ?? null)}; ` +
        `B took over at ${rel(tookOverAt)}; A's lease would have run to ${rel(before.lease?.until)} (after SIGTERM)`,
    );
    const counts = countDelivery(sentToTiledesk, mirrored(w, conv));
    report('SIGTERM', 'mirrored to Tiledesk', counts);

    expect(exit!.code, "A's exit code").to.equal(0);
    expect(exit!.at - termAt, 'A exits within its 5 s stop deadline (+1 s)').to.be.below(6_000);
    expect(afterExit?.lease?.owner, 'lease handed back').to.not.equal('A');
    expect(membersAfterExit, 'A left tiledesk/instances').to.not.have.property('A');
    expect(finished, 'B finished the posts').to.equal(true);
    expect(tookOverAt! - exit!.at, 'B took over within a heartbeat of A leaving').to.be.below(
      LEASE / 3 + 1_500,
    );
    expect(before.lease!.until - tookOverAt!, 'well before the lease would expire').to.be.above(
      2_000,
    );
    expect(mirrored(w, conv)).to.deep.equal(sentToTiledesk);
    expect(b!.alive).to.equal(true);
  });
});
