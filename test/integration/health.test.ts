import { expect } from 'chai';
import axios from 'axios';
import { MemoryStorage } from 'botbuilder';
import { TiledeskHandoff, type TiledeskError } from '../../lib';
import { startHarness, type Harness } from '../support/harness';
import { signedDelivery } from '../support/signed-delivery';

/**
 * start() says what it could not do (and tells onError, with a code); health() is a snapshot a
 * bot can serve on its own health route. Each broken setting is one case.
 */
describe('start() result and health()', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  const codes = () => h.errors.map((e) => e.code);

  it('a good setup: ok, signed in, subscribed, webhook reachable; the probe is not a refusal', async () => {
    h = await startHarness({ noStart: true });
    const started = await h.tiledesk.start();
    expect(started).to.deep.equal({
      ok: true,
      signedIn: true,
      subscribed: true,
      webhookReachable: true,
      tiledeskBot: null,
      problems: [],
    });
    const health = h.tiledesk.health();
    expect(health.ok).to.equal(true);
    expect(health.start).to.deep.equal(started);
    expect(health.signIn).to.include({ ok: true });
    expect(health.subscriptions.events.map((e) => e.state)).to.deep.equal([
      'created',
      'created',
      'created',
    ]);
    expect(health.webhook.probe).to.include({ ok: true, status: 401 });
    expect(health.webhook.refused).to.deep.equal({});
    expect(health.outbox).to.deep.equal({ conversations: 0, backlog: 0, oldestAgeMs: null });
    expect(health.deliveries).to.deep.equal({ pending: 0 });
    expect(JSON.parse(JSON.stringify(health))).to.deep.equal(health); // serves as JSON as is
    expect(codes()).to.deep.equal([]);
    // A restart (same storage) finds the subscriptions made before.
    const again = new TiledeskHandoff({
      adapter: h.adapter,
      storage: h.storage,
      appSettings: h.settings,
      onError: (e) => h.errors.push(e),
    });
    expect((await again.start()).ok).to.equal(true);
    await again.stop(100);
    expect(again.health().subscriptions.events.map((e) => e.state)).to.deep.equal([
      'found',
      'found',
      'found',
    ]);
    expect(codes()).to.deep.equal([]);
  });

  it('wrong password: TILEDESK_SIGN_IN_FAILED (reason), not resolved like a success', async () => {
    h = await startHarness({ noStart: true, settings: { TiledeskPassword: 'wrong' } });
    const started = await h.tiledesk.start();
    expect(started).to.deep.include({ ok: false, signedIn: false, subscribed: false });
    expect(started.problems.map((p) => p.code)).to.deep.equal(['TILEDESK_SIGN_IN_FAILED']);
    expect(started.problems[0]!.message).to.include('wrong password');
    expect(codes()).to.deep.equal(['TILEDESK_SIGN_IN_FAILED']);
    expect(h.errors[0]!.context).to.include({ reason: 'wrong password', status: 401 });
    const health = h.tiledesk.health();
    expect(health.ok).to.equal(false);
    expect(health.signIn).to.include({ ok: false, code: 'TILEDESK_SIGN_IN_FAILED' });
    expect(JSON.stringify(health)).to.not.include('wrong"'); // the password is never shown
    // The bot still answers.
    await h.user('conv-pw').sayAndWait('hello');
    expect(h.channel.texts('conv-pw')).to.deep.equal(['Echo: hello']);
  });

  it('Tiledesk unreachable: TILEDESK_UNREACHABLE', async () => {
    h = await startHarness({ noStart: true, settings: { TiledeskApiUrl: 'http://127.0.0.1:9' } });
    const started = await h.tiledesk.start();
    expect(started.ok).to.equal(false);
    expect(codes()).to.deep.equal(['TILEDESK_UNREACHABLE']);
    expect(h.errors[0]!.context).to.include({ step: 'sign in' });
  });

  it('a wrong webhook path: TILEDESK_WEBHOOK_UNREACHABLE with the fix', async () => {
    h = await startHarness({ noStart: true });
    // The harness mounts the handler at /api/tiledesk; this bot's setting says otherwise.
    const errors: TiledeskError[] = [];
    const tiledesk = new TiledeskHandoff({
      adapter: h.adapter,
      storage: new MemoryStorage(),
      appSettings: { ...h.settings, TiledeskWebhookUrl: `${h.bot.url}/api/tiledesk-wrong` },
      onError: (e) => errors.push(e),
    });
    const started = await tiledesk.start();
    await tiledesk.stop(100);
    expect(started).to.deep.include({ ok: false, webhookReachable: false });
    expect(errors.map((e) => e.code)).to.deep.equal(['TILEDESK_WEBHOOK_UNREACHABLE']);
    expect(errors[0]!.context).to.include({ reason: 'not found', status: 404 });
    expect(String(errors[0]!.context['fix'])).to.include('mount tiledesk.webhookHandler');
    expect(tiledesk.health().webhook.probe).to.include({ ok: false, reason: 'not found' });
    expect(tiledesk.health().ok).to.equal(false);
  });

  it('subscription missing (Tiledesk answers another target’s): TILEDESK_SUBSCRIPTION_MISSING', async () => {
    h = await startHarness({ noStart: true });
    // Another bot subscribed the event first; ours exists too, but its secret was lost
    // (storage wiped): creating it again answers the project's FIRST subscription (§5.1).
    const signIn = await axios.post(`${h.standin.url}/auth/signin`, h.standin.admin);
    const auth = { headers: { Authorization: String(signIn.data.token) } };
    const subs = `${h.standin.url}/${h.standin.projectId}/subscriptions`;
    const event = 'message.create.request.channel.botframework';
    await axios.post(subs, { event, target: 'https://other-bot.example.com/hook' }, auth);
    await axios.post(subs, { event, target: h.settings.TiledeskWebhookUrl }, auth);
    const started = await h.tiledesk.start();
    expect(started).to.deep.include({ ok: false, signedIn: true, subscribed: false });
    expect(codes()).to.deep.equal(['TILEDESK_SUBSCRIPTION_MISSING']);
    const events = h.tiledesk.health().subscriptions.events;
    expect(events).to.deep.equal([
      { event, state: 'missing' },
      { event: 'request.close', state: 'created', id: events[1]!.id },
      { event: 'event.emit.typing.start', state: 'created', id: events[2]!.id },
    ]);
  });

  it('outbox backlog and its oldest age while Tiledesk holds the posts', async () => {
    h = await startHarness();
    const gate = h.standin.hold({ method: 'POST', path: /\/messages$/ });
    const r = await h.user('conv-backlog').say(h.bot.messagesUrl, 'hello');
    expect(r.status).to.equal(200);
    await gate.waitForPending(1);
    const during = h.tiledesk.health().outbox;
    expect(during.conversations).to.equal(1);
    expect(during.backlog).to.equal(2); // the user's message and the bot's echo
    expect(during.oldestAgeMs).to.be.a('number').and.to.be.at.least(0);
    gate.release();
    await h.settle();
    expect(h.tiledesk.health().outbox).to.deep.equal({
      conversations: 0,
      backlog: 0,
      oldestAgeMs: null,
    });
  });

  it('webhook counters: accepted deliveries and refusals by reason', async () => {
    h = await startHarness();
    const u = h.user('conv-counters');
    await u.sayAndWait('human');
    const requestId = [...h.standin.requests.keys()][0]!;
    h.standin.agentReply(requestId, 'Hi, Anna here');
    await h.settle();
    const sub = h.standin
      .subscriptions()
      .find((s) => s.event === 'message.create.request.channel.botframework')!;
    const forged = signedDelivery(
      sub,
      {
        _id: 'x1',
        sender: 'a',
        recipient: requestId,
        text: 'forged',
        id_project: h.standin.projectId,
      },
      { secret: 'guessed' },
    );
    const post = await axios.post(`${h.bot.url}/api/tiledesk`, forged, {
      headers: { 'x-hook-secret': sub.secret },
      validateStatus: () => true,
    });
    expect(post.status).to.equal(403);
    const webhook = h.tiledesk.health().webhook;
    expect(webhook.accepted).to.be.at.least(1);
    expect(webhook.lastAcceptedAt).to.be.a('string');
    expect(webhook.refused).to.deep.equal({ token: 1 });
    expect(h.channel.texts('conv-counters')).to.not.include('forged');
  });
});
