import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import { BINDINGS } from '../support/bindings';
import { FakeChannel } from '../support/fake-channel';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';
import type { TestLogic } from '../support/bindings';
import { type StandInAgent, TiledeskStandIn } from '../support/tiledesk-standin';

/**
 * Issue 15 on both bindings, against the stand-in modelling the real server (§10):
 * `TiledeskMirrorVisibility=bot` creates each request served by a Tiledesk bot standing for ours
 * (so owners and admins watch it live), accepts and drops the notifications Tiledesk sends that
 * bot, hands off by replacing the bot with an agent, and lets a person who joins take over.
 */

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';
const MARCO = '65a1b2c3d4e5f6a7b8c9d0ab';
const AGENTS: StandInAgent[] = [
  { id: ANNA, firstname: 'Anna', lastname: 'Rossi', email: 'anna@x.example', available: true },
  // A supervisor who is not routed to: he joins from the monitor.
  {
    id: MARCO,
    firstname: 'Marco',
    lastname: 'Bianchi',
    email: 'marco@x.example',
    available: false,
  },
];
const VISIBLE = { TiledeskMirrorVisibility: 'bot' };

for (const binding of BINDINGS)
  describe(`conversations served by a Tiledesk bot, live in the monitor [${binding}]`, () => {
    let h: Harness;
    const others: Harness[] = [];
    afterEach(async () => {
      events.length = 0;
      for (const o of others.splice(0)) await o.stop();
      await h?.stop();
    });
    const start = (options: HarnessOptions = {}) =>
      startHarness({
        binding,
        logic: echo,
        ...options,
        settings: { ...VISIBLE, ...options.settings },
        standin: { agents: AGENTS, ...options.standin },
      });
    const lastRequest = () => [...h.standin.requests.values()].at(-1)!;
    /** The echo bot, remembering each conversation's reference (for statusOf). */
    const refs = new Map<string, Record<string, unknown>>();
    const events: { name: string | undefined; value: unknown }[] = [];
    const echo: TestLogic = async (turn) => {
      if (turn.activity.type === 'event')
        events.push({ name: turn.activity.name, value: turn.activity.value });
      if (turn.activity.type === 'message') {
        const ref = turn.reference();
        refs.set(String((ref['conversation'] as { id: string }).id), ref);
        await turn.send(`Echo: ${turn.activity.text ?? ''}`);
      }
    };
    const stateOf = async (conversationId: string) =>
      (await h.tiledesk.statusOf(refs.get(conversationId)!)).state;

    it('start() creates one Tiledesk bot named TiledeskBotName with the webhook as its URL; another instance adopts it', async () => {
      h = await start();
      const bots = h.standin.bots;
      expect(bots.map((b) => [b.name, b.type, b.url])).to.deep.equal([
        ['Echo Bot', 'external', h.settings.TiledeskWebhookUrl],
      ]);
      const second = await startHarness({
        binding,
        shared: { standin: h.standin, channel: h.channel },
        storage: h.storage,
        // Instances behind one load balancer share the webhook URL.
        settings: {
          ...VISIBLE,
          TiledeskWebhookUrl: h.settings.TiledeskWebhookUrl!,
          TiledeskWebhookProbe: 'false',
        },
      });
      others.push(second);
      expect(h.standin.bots.map((b) => b._id)).to.deep.equal([bots[0]!._id]);
      expect(second.tiledesk.health().tiledeskBot).to.include({ state: 'found', id: bots[0]!._id });
      expect((await h.tiledesk.start()).tiledeskBot).to.equal(true);
    });

    it('a conversation only the bot answered is served by that bot: open, assigned to it, its messages as the bot', async () => {
      h = await start();
      const botId = h.standin.bots[0]!._id;
      const user = h.user('conv-live', 'u-live', 'Ada');
      await user.sayAndWait('hello');
      await user.sayAndWait('where is my order?');
      const request = lastRequest();
      expect(request).to.include({ status: 200, hasBot: true });
      expect(request.participants).to.deep.equal([`bot_${botId}`]);
      const messages = h.standin
        .messages(request.request_id)
        .filter((m) => m.text !== 'Conversation started');
      expect(
        messages.map((m) => [m.text, m.sender === `bot_${botId}` ? 'bot' : 'user']),
      ).to.deep.equal([
        ['hello', 'user'],
        ['Echo: hello', 'bot'],
        ['where is my order?', 'user'],
        ['Echo: where is my order?', 'bot'],
      ]);
      expect(
        messages.filter((m) => m.sender === `bot_${botId}`).map((m) => m.senderFullname),
      ).to.deep.equal(['Echo Bot', 'Echo Bot']);
      // Tiledesk told its bot of each end-user message: accepted, never shown to anyone.
      await h.standin.waitFor(() => h.standin.botNotifications.length >= 2);
      expect(h.standin.botNotifications.every((n) => n.status === 200)).to.equal(true);
      expect(h.tiledesk.health().webhook.ignored['bot_notification']).to.be.greaterThanOrEqual(2);
      expect(h.tiledesk.health().webhook.refused).to.deep.equal({});
      expect(h.channel.texts('conv-live')).to.deep.equal([
        'Echo: hello',
        'Echo: where is my order?',
      ]);
      expect(h.errors).to.deep.equal([]);
    });

    it('a handoff replaces the bot with an agent; the history is already there', async () => {
      h = await start();
      const user = h.user('conv-handoff', 'u-h', 'Ada');
      await user.sayAndWait('hello');
      await user.sayAndWait('human');
      const request = lastRequest();
      expect(h.standin.request(request.request_id)!.participants).to.deep.equal([ANNA]);
      h.standin.agentReply(request.request_id, 'Hi Ada, Anna here.');
      await h.settle();
      expect(h.channel.texts('conv-handoff')).to.deep.equal([
        'Echo: hello',
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
        'Anna Rossi: Hi Ada, Anna here.',
      ]);
      const texts = h.standin.messages(request.request_id).map((m) => m.text);
      expect(texts.indexOf('hello')).to.be.lessThan(texts.indexOf('Hi Ada, Anna here.'));
      expect(h.errors).to.deep.equal([]);
    });

    it('nobody available: the bot leaves the request, which waits queued; an agent who frees up joins', async () => {
      h = await start();
      h.standin.setAgentAvailable(ANNA, false);
      const user = h.user('conv-queued', 'u-q', 'Ada');
      await user.sayAndWait('hello');
      await user.sayAndWait('human');
      const request = lastRequest();
      expect(h.standin.request(request.request_id)).to.include({ status: 100, hasBot: false });
      expect(h.standin.request(request.request_id)!.participants).to.deep.equal([]);
      await user.sayAndWait('hello?'); // the bot stays silent while queued
      h.standin.setAgentAvailable(ANNA, true);
      h.standin.routeQueued(request.request_id);
      await h.settle();
      expect(h.channel.texts('conv-queued')).to.deep.equal([
        'Echo: hello',
        'Connecting you to a human agent…',
        'All our agents are busy right now. Stay here: an agent will answer as soon as one is free.',
        'Anna Rossi has joined the chat.',
      ]);
      expect(h.errors).to.deep.equal([]);
    });

    it('JOIN TO CHAT takes over: the user is told who joined, the bot goes silent and gets handoff.status accepted; the close hands it back', async () => {
      // Without chat21 (as the real server here): no "joined" info message, only request.update.
      h = await start({ standin: { agents: AGENTS, chat21: false } });
      const user = h.user('conv-join', 'u-j', 'Ada');
      await user.sayAndWait('hello');
      const request = lastRequest();
      h.standin.joinToChat(request.request_id, MARCO);
      await h.settle();
      await h.standin.waitFor(
        () => h.standin.request(request.request_id)!.participants.length === 1,
      );
      expect(h.standin.request(request.request_id)!.participants).to.deep.equal([MARCO]);
      expect(h.channel.texts('conv-join')).to.deep.equal([
        'Echo: hello',
        'Marco Bianchi has joined the chat.',
      ]);
      expect(events).to.deep.include({
        name: 'handoff.status',
        value: { state: 'accepted', message: 'Marco Bianchi' },
      });
      expect(await stateOf('conv-join')).to.equal('assigned');
      await user.sayAndWait('are you a person?'); // the bot stays silent: Marco answers
      h.standin.agentReply(request.request_id, 'Yes, Marco here.', { agentId: MARCO });
      await h.settle();
      h.standin.agentClose(request.request_id, { agentId: MARCO });
      await h.settle();
      await user.sayAndWait('thanks');
      expect(h.channel.texts('conv-join').slice(1)).to.deep.equal([
        'Marco Bianchi has joined the chat.',
        'Marco Bianchi: Yes, Marco here.',
        'The agent has closed the chat. You are back with the bot.',
        'Echo: thanks',
      ]);
      expect(h.standin.messages(request.request_id).map((m) => m.text)).to.include(
        'are you a person?',
      );
      expect(h.errors).to.deep.equal([]);
    });

    it('is no takeover when a bot of Tiledesk, not a person, writes in the conversation', async () => {
      h = await start();
      const user = h.user('conv-other-bot', 'u-o', 'Ada');
      await user.sayAndWait('hello');
      const request = lastRequest();
      h.standin.postAs(request.request_id, {
        sender: 'bot_65a1b2c3d4e5f6a7b8c9d0cc',
        senderFullname: 'Other bot',
        text: 'I am another bot',
      });
      await h.settle();
      await user.sayAndWait('still there?');
      expect(h.channel.texts('conv-other-bot')).to.deep.equal([
        'Echo: hello',
        'Echo: still there?',
      ]);
      expect(await stateOf('conv-other-bot')).to.equal('bot');
      expect(h.errors).to.deep.equal([]);
    });

    it('hidden (the default) keeps requests unrouted at status 50 and creates no Tiledesk bot', async () => {
      h = await startHarness({ binding, standin: { agents: AGENTS } });
      await h.user('conv-hidden', 'u-x', 'Ada').sayAndWait('hello');
      expect(lastRequest().status).to.equal(50);
      expect(h.standin.bots).to.deep.equal([]);
      expect(h.tiledesk.health().tiledeskBot).to.equal(null);
    });

    it('two instances starting at once end with one Tiledesk bot, known to both', async () => {
      const standin = new TiledeskStandIn({
        agents: AGENTS,
        commandDelayMs: 5,
        webhookRetryDelaysMs: [20, 40],
      });
      await standin.start();
      const channel = new FakeChannel();
      await channel.start();
      const storage = new MemoryStorage();
      try {
        const both = await Promise.all(
          [0, 1].map(() =>
            startHarness({ binding, shared: { standin, channel }, storage, settings: VISIBLE }),
          ),
        );
        others.push(...both);
        const ids = both.map((x) => x.tiledesk.health().tiledeskBot?.id);
        expect(standin.bots.map((b) => b._id)).to.deep.equal([ids[0]]);
        expect(ids[1]).to.equal(ids[0]);
      } finally {
        for (const o of others.splice(0)) await o.stop();
        await channel.stop();
        await standin.stop();
      }
      h = undefined as unknown as Harness;
    });
  });
