import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import { TiledeskHandoff, type TiledeskApi } from '../../lib';
import { apiWith } from '../support/api-with';
import { withoutAgentPrefix } from '../support/agent-prefix';
import { countDelivery, sumCounts, type DeliveryCounts } from '../support/delivery-counts';
import { fastClock } from '../support/fast-clock';
import { startHarness, type Harness } from '../support/harness';

/** Fault injection; each test reports sent / arrived / duplicated / reordered counts. */
describe('reliability: never lose, duplicate or reorder a message', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  const report = (label: string, counts: DeliveryCounts) =>
    console.log(`      ${label}: ${JSON.stringify(counts)}`);
  const perfect = (sent: number) => ({
    sent,
    arrived: sent,
    duplicated: 0,
    missing: 0,
    reordered: 0,
  });

  const requestOf = (conversationId: string) =>
    [...h.standin.requests.values()].find(
      (r) => r.attributes['bf_conversation'] === conversationId,
    )!;
  const mirroredTexts = (conversationId: string) =>
    h.standin.messages(requestOf(conversationId).request_id).map((m) => m.text ?? '');

  it('503 for a window while 5 conversations send 50 messages: all arrive, in order, once', async () => {
    const { clock } = fastClock();
    h = await startHarness({ tiledesk: { clock }, settings: { TiledeskCatchUpIntervalMs: '0' } });
    h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 503, times: Infinity });
    const conversations = [1, 2, 3, 4, 5].map((c) => h.user(`conv-503-${c}`, `user-${c}`));
    const sent = new Map<string, string[]>();
    for (let i = 1; i <= 10; i++) {
      if (i === 6) h.standin.clearFaults(); // the outage ends halfway
      await Promise.all(
        conversations.map(async (u) => {
          const text = `${u.conversationId} message ${i}`;
          const r = await u.say(h.bot.messagesUrl, text);
          expect(r.status).to.equal(200); // the bot is unaffected by the outage
          const list = sent.get(u.conversationId) ?? [];
          list.push(text, `Echo: ${text}`);
          sent.set(u.conversationId, list);
        }),
      );
    }
    await h.settle();
    const counts = sumCounts(
      [...sent].map(([conv, texts]) => countDelivery(texts, mirroredTexts(conv))),
    );
    report('503 window', counts);
    expect(counts).to.deep.equal(perfect(100));
    expect(h.errors).to.deep.equal([]);
  });

  it('429 with Retry-After: the wait asked for is honoured, the message arrives once', async () => {
    const { clock, waits } = fastClock();
    h = await startHarness({ tiledesk: { clock }, settings: { TiledeskCatchUpIntervalMs: '0' } });
    h.standin.injectFault({
      method: 'POST',
      path: /\/messages$/,
      status: 429,
      retryAfterSeconds: 3,
      times: 1,
    });
    await h.user('conv-429').sayAndWait('rate limited');
    const counts = countDelivery(['rate limited', 'Echo: rate limited'], mirroredTexts('conv-429'));
    report('429', counts);
    expect(counts).to.deep.equal(perfect(2));
    expect(waits.some((ms) => ms >= 3000 && ms < 30_000)).to.equal(true);
  });

  it('a response lost after a successful POST does not create a duplicate', async () => {
    const { clock } = fastClock();
    h = await startHarness({ tiledesk: { clock }, settings: { TiledeskCatchUpIntervalMs: '0' } });
    h.standin.injectFault({ method: 'POST', path: /\/messages$/, mode: 'drop-response', times: 2 });
    const u = h.user('conv-drop');
    await u.sayAndWait('first');
    await u.sayAndWait('second');
    const sent = ['first', 'Echo: first', 'second', 'Echo: second'];
    const counts = countDelivery(sent, mirroredTexts('conv-drop'));
    report('dropped responses', counts);
    expect(counts).to.deep.equal(perfect(4));
  });

  it('a restart: a new instance over the same storage delivers what the old one left', async () => {
    const storage = new MemoryStorage();
    const { clock } = fastClock();
    h = await startHarness({
      storage,
      tiledesk: { clock },
      settings: { TiledeskCatchUpIntervalMs: '0' },
    });
    h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 503, times: Infinity });
    const u = h.user('conv-restart');
    const sent: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      await u.say(h.bot.messagesUrl, text);
      sent.push(text, `Echo: ${text}`);
    }
    await h.tiledesk.stop(50); // Tiledesk is still down: the posts stay in storage
    expect(h.standin.requests.size).to.equal(0);
    h.standin.clearFaults();

    const next = new TiledeskHandoff({
      adapter: h.adapter,
      storage,
      appSettings: h.settings,
      clock,
    });
    await next.start();
    await next.whenIdle();
    const counts = countDelivery(sent, mirroredTexts('conv-restart'));
    report('restart', counts);
    expect(counts).to.deep.equal(perfect(6));
    await next.stop();
  });

  it('a crash: the lease of the dead instance runs out and another instance takes over', async () => {
    const storage = new MemoryStorage();
    const { clock } = fastClock();
    // The first instance "dies" mid-post: its message posts never complete.
    let hung = 0;
    const dying = (settings: Record<string, string | undefined>): TiledeskApi =>
      apiWith(settings, () => ({
        sendMessage: () => {
          hung++;
          return new Promise<never>(() => undefined);
        },
      }));
    h = await startHarness({
      storage,
      makeApi: dying,
      tiledesk: { clock },
      settings: { TiledeskCatchUpIntervalMs: '0' },
    });
    await h.user('conv-crash').say(h.bot.messagesUrl, 'before the crash');
    await new Promise((r) => setTimeout(r, 50)); // persisted; the post hangs: the process is gone
    expect(h.standin.requests.size).to.equal(0);

    const twoMinutesLater = fastClock({ offsetMs: 120_000 }); // the 60 s lease has run out
    const survivor = new TiledeskHandoff({
      adapter: h.adapter,
      storage,
      appSettings: h.settings,
      clock: twoMinutesLater.clock,
    });
    await survivor.start();
    await survivor.whenIdle();
    const counts = countDelivery(
      ['before the crash', 'Echo: before the crash'],
      mirroredTexts('conv-crash'),
    );
    report('crash', counts);
    expect(counts).to.deep.equal(perfect(2));
    expect(hung).to.equal(1); // the dead instance's post never completed
    await survivor.stop();
  });

  it('a live instance keeps its lease: another instance does not take its items', async () => {
    const storage = new MemoryStorage();
    h = await startHarness({ storage, settings: { TiledeskCatchUpIntervalMs: '0' } });
    const gate = h.standin.hold({ method: 'POST', path: /\/messages$/ });
    await h.user('conv-live').say(h.bot.messagesUrl, 'in flight');
    await gate.waitForPending(1);
    const other = new TiledeskHandoff({ adapter: h.adapter, storage, appSettings: h.settings });
    await other.start(); // recovery runs: the items are leased to the first instance
    gate.release();
    await h.settle();
    await other.whenIdle();
    const counts = countDelivery(['in flight', 'Echo: in flight'], mirroredTexts('conv-live'));
    report('live lease', counts);
    expect(counts).to.deep.equal(perfect(2));
    await other.stop();
  });

  it('our webhook endpoint down for all 3 Tiledesk attempts: catch-up delivers the agent messages once', async () => {
    h = await startHarness({ settings: { TiledeskCatchUpIntervalMs: '0' } });
    const u = h.user('conv-down');
    await u.sayAndWait('human');
    const requestId = requestOf('conv-down').request_id;
    h.setWebhookDown(true);
    h.standin.agentReply(requestId, 'agent says 1');
    h.standin.agentReply(requestId, 'agent says 2');
    await h.settle();
    const attempts = h.standin.deliveries.filter((d) => d.status === 503);
    expect(attempts.length).to.be.at.least(6); // 3 attempts for each message, then dropped
    expect(h.channel.texts('conv-down')).to.not.include('agent says 1');
    h.setWebhookDown(false);

    await u.sayAndWait('hello? anyone?'); // the next user message triggers a catch-up
    await h.tiledesk.start(); // and so do a restart and the periodic timer: still once
    await h.settle();
    const counts = countDelivery(
      ['agent says 1', 'agent says 2'],
      withoutAgentPrefix(h.channel.texts('conv-down')),
    );
    report('webhook down', counts);
    expect(counts).to.deep.equal(perfect(2));
  });
});

describe('reliability: auth renewal', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('a 401 on an admin call signs in again once and retries', async () => {
    h = await startHarness();
    h.standin.injectFault({ method: 'PUT', path: /\/agent$/, status: 401, times: 1 });
    await h.user('conv-401').sayAndWait('human');
    expect(h.channel.texts('conv-401')).to.deep.equal([
      'Connecting you to a human agent…',
      'Anna Rossi has joined the chat.',
    ]);
    const signIns = h.standin.calls.filter((c) => c.path === '/auth/signin');
    expect(signIns.map((c) => c.status)).to.deep.equal([200, 200]);
    expect(h.errors).to.deep.equal([]);
  });

  it('a 401 on an end-user post forgets the token, registers again and retries', async () => {
    h = await startHarness();
    h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 401, times: 1 });
    await h.user('conv-u401').sayAndWait('hello');
    const request = [...h.standin.requests.values()][0]!;
    expect(h.standin.messages(request.request_id).map((m) => m.text)).to.deep.equal([
      'hello',
      'Echo: hello',
    ]);
    expect(h.errors).to.deep.equal([]);
  });
});

describe('reliability: Tiledesk down when the bot starts', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('start() resolves, reports the failure, and subscribes on a later pass; the bot answers meanwhile', async () => {
    const { clock } = fastClock({ keepAboveMs: Number.POSITIVE_INFINITY, capMs: 20 });
    h = await startHarness({
      noStart: true,
      tiledesk: { clock },
      settings: { TiledeskCatchUpIntervalMs: '100' },
    });
    h.standin.injectFault({ path: /\/subscriptions$/, status: 503, times: 1 });
    const started = await h.tiledesk.start(); // must not throw
    expect(h.errors.map((e) => e.code)).to.deep.equal(['TILEDESK_UNREACHABLE']);
    expect(started).to.deep.include({ ok: false, signedIn: true, subscribed: false });
    expect(started.problems.map((p) => p.code)).to.deep.equal(['TILEDESK_UNREACHABLE']);
    expect(h.standin.subscriptions()).to.have.length(0);
    await h.user('conv-start').sayAndWait('hello');
    expect(h.channel.texts('conv-start')).to.deep.equal(['Echo: hello']);
    // Messages, closes and agents typing.
    await h.standin.waitFor(() => h.standin.subscriptions().length === 3);
  });
});
