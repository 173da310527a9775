/**
 * The whole loop against a real Tiledesk, once per identity mode: the sample bot runs as its own
 * process (`samples/handoff-bot`, with the test-only triggers), a fake Bot Framework channel plays
 * the user, and a human agent acts through Tiledesk's REST API with its own token. Only public
 * surfaces are used: the channel's HTTP, Tiledesk's REST API and what the user receives.
 * Run by `npm run test:e2e` (./run.ts), which resolves the target.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { conversationKey, endUserId, requestIdFor } from '../../lib/core/ids';
import type { ReceivedActivity } from '../support/fake-channel';
import { eventually, type WireMessage, type WireRequest } from './agent';
import { e2eContext } from './context';
import { sampleEnv } from './sample-env';
import { sampleSuite } from './sample-suite';
import type { E2eTarget, IdentityMode } from './target';

const CONNECTING = 'Connecting you to a human agent…';
const QUEUED =
  'All our agents are busy right now. Stay here: an agent will answer as soon as one is free.';
const CLOSED = 'The agent has closed the chat. You are back with the bot.';
const LEFT = 'You have left the chat with the agent. I am here again: how can I help?';
const QUEUE_TIMEOUT =
  'Sorry, no agent was free to take your chat. You can keep chatting with me, or ask again later.';
const INACTIVITY =
  'The chat with the agent was closed because nobody wrote for a while. You are back with the bot.';
const END_CHAT = 'End chat';
const BACK = "I'm back. Anything else I can repeat for you?";
const BOT_NAME = 'Echo Bot';
const USER_NAME = 'Ada Lovelace';
/** What the user waits for at most, per step (Tiledesk, webhooks, the bot and the channel). */
const STEP_MS = 20_000;

const context = e2eContext();
if (!context) {
  describe('end to end against a real Tiledesk', () => {
    it('runs only through `npm run test:e2e` (see README, "Verified against")');
  });
} else {
  for (const mode of context.modes) suite(context.target, mode, context.timings);
  timeouts(context.target, context.modes[0]!, context.timings);
}

function suite(target: E2eTarget, mode: IdentityMode, timings: Map<string, number>): void {
  describe(`end to end against ${target.apiUrl}, ${mode} identities`, function () {
    this.timeout(90_000);
    let agentName = '';
    let started = 0;
    before(() => void (started = Date.now()));
    const run = sampleSuite(target, {
      name: `sample-${mode}`,
      env: (port, webhookUrl) => sampleEnv(target, mode, port, webhookUrl, BOT_NAME),
      // start() subscribed (or keeps retrying): both subscriptions point at this bot.
      ready: async ({ admin, agent, webhookUrl }) => {
        await eventually('the webhook subscriptions', async () => {
          const events = (await admin.subscriptions())
            .filter((s) => s.target === webhookUrl)
            .map((s) => s.event);
          const wanted = ['message.create.request.channel.botframework', 'request.close'];
          return wanted.every((e) => events.includes(e)) ? true : undefined;
        });
        agentName = agent.name;
      },
    });
    after(() => void timings.set(mode, Date.now() - started));
    const { admin, agent, channel } = run;

    /** One Bot Framework conversation of a fresh user. */
    const conversation = (name: string) => {
      const id = `e2e-${mode}-${name}-${randomBytes(4).toString('hex')}`;
      const userId = `user-${id}`;
      const user = channel.user(id, userId, USER_NAME);
      const convKey = conversationKey('webchat', id);
      return {
        id,
        userId,
        requestId: (generation = 0) => requestIdFor(target.projectId, convKey, generation),
        say: async (text: string) => {
          const res = await user.say(run.sample.messagesUrl, text);
          expect(res.status, `the bot answered "${text}" with HTTP ${res.status}`).to.be.below(300);
        },
        /** The user opens the chat (Web Chat's conversationUpdate): the bot greets first. */
        join: () =>
          user.send(run.sample.messagesUrl, {
            type: 'conversationUpdate',
            membersAdded: [{ id: userId, name: USER_NAME }],
          }),
        /**
         * Says `text` and waits until Tiledesk has it and the bot's answer: the pace of a person,
         * who reads the answer before typing again. (A message sent within a few milliseconds of
         * the previous turn's answer can be mirrored before it when it starts a handoff: a
         * package defect reported with issue 14, not what this suite is about.)
         */
        sayMirrored: async (text: string, answer: string) => {
          const res = await user.say(run.sample.messagesUrl, text);
          expect(res.status).to.be.below(300);
          await eventually(`"${text}" and "${answer}" in Tiledesk`, async () => {
            const texts = (await admin.messages(requestIdFor(target.projectId, convKey, 0))).map(
              (m) => m.text,
            );
            return texts.includes(text) && texts.includes(answer) ? true : undefined;
          });
        },
        texts: () => channel.texts(id),
        /** Waits until the user has received `n` texts in all; returns them. */
        received: (n: number) => channel.waitForTexts(id, n, STEP_MS),
        activities: () => channel.activities(id).filter((a) => a.type === 'message'),
      };
    };
    type Conversation = ReturnType<typeof conversation>;

    /** The request once `check` accepts it (polled through the admin's token). */
    const requestWhen = (id: string, what: string, check: (r: WireRequest) => boolean) =>
      eventually(`request ${what}`, async () => {
        const r = await admin.request(id);
        return r && check(r) ? r : undefined;
      });

    /** The request's visible messages (not info/system) once there are at least `n`. */
    const visibleMessages = (id: string, n: number) =>
      eventually(`${n} visible message(s) in Tiledesk`, async () => {
        const list = (await admin.messages(id)).filter(isVisible);
        return list.length >= n ? list : undefined;
      });

    /** A handoff that an agent takes at once: the user hears "connecting" (unless the bot spoke). */
    const handedOff = async (c: Conversation, before: string[], announced = true) => {
      const expected = [...before, ...(announced ? [CONNECTING] : []), joined(agentName)];
      expect(await c.received(expected.length)).to.deep.equal(expected);
      return requestWhen(c.requestId(), 'assigned to the agent', (r) => r.status === 200);
    };

    /** The agent closes; the user is told, the bot takes over and the next message is mirrored anew. */
    const closesAndBotIsBack = async (c: Conversation) => {
      const n = c.texts().length;
      await agent.close(c.requestId());
      expect((await c.received(n + 2)).slice(n)).to.deep.equal([CLOSED, BACK]);
      await c.say('hello again');
      expect((await c.received(n + 3)).slice(n + 2)).to.deep.equal(['Echo: hello again']);
      await requestWhen(c.requestId(1), 'the new one, unrouted', (r) => r.status === 50);
      // The bot's "I'm back" opens it, then the user's message and the echo follow.
      const mirrored = await eventually('the new request mirrored', async () => {
        const texts = (await admin.messages(c.requestId(1))).filter(isVisible).map((m) => m.text);
        return texts.length >= 3 ? texts : undefined;
      });
      expect(mirrored).to.deep.equal([BACK, 'hello again', 'Echo: hello again']);
      expect((await admin.request(c.requestId()))?.status).to.equal(1000);
    };

    it('mirrors the conversation into one unrouted request (status 50), senders and order kept', async () => {
      const c = conversation('mirror');
      const said = ['hello', 'how are you?', 'tell me a joke'];
      for (const [i, text] of said.entries()) {
        await c.say(text);
        await c.received(i + 1);
      }
      expect(c.texts()).to.deep.equal(said.map((t) => `Echo: ${t}`));
      const messages = await visibleMessages(c.requestId(), 6);
      expect(messages.map((m) => m.text)).to.deep.equal(said.flatMap((t) => [t, `Echo: ${t}`]));
      const users = messages.filter((_, i) => i % 2 === 0);
      const bots = messages.filter((_, i) => i % 2 === 1);
      const userSender = users[0]!.sender;
      expect(new Set(users.map((m) => m.sender))).to.deep.equal(new Set([userSender]));
      expect(users.map((m) => m.senderFullname)).to.deep.equal(said.map(() => USER_NAME));
      expect(new Set(bots.map((m) => m.sender)).size).to.equal(1);
      expect(bots[0]!.sender).to.match(/^bot_[0-9a-f]{24}$/);
      expect(bots.map((m) => m.senderFullname)).to.deep.equal(said.map(() => BOT_NAME));
      if (mode === 'secret') {
        expect(userSender).to.equal(endUserId(target.projectId, 'webchat', c.userId));
      } else {
        expect(userSender).to.match(
          /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
      }
      const createdAt = messages.map((m) => m.createdAt);
      expect(createdAt).to.deep.equal([...createdAt].sort());
      const request = await requestWhen(c.requestId(), 'unrouted', () => true);
      expect(request.status).to.equal(50);
      expect(request.participants).to.deep.equal([]);
      expect(request.channel?.name).to.equal('botframework');
      expect(request.requester?.uuid_user).to.equal(userSender);
      if (target.departmentId) expect(request.department?._id).to.equal(target.departmentId);
    });

    it('a bot greeting before the first user message opens the request and is mirrored first', async () => {
      const c = conversation('greeting');
      await c.join();
      await c.received(1);
      await c.say('hi');
      const texts = await c.received(2);
      expect(texts[1]).to.equal('Echo: hi');
      const messages = await visibleMessages(c.requestId(), 3);
      expect(messages.map((m) => [m.senderFullname, m.text])).to.deep.equal([
        [BOT_NAME, texts[0]],
        [USER_NAME, 'hi'],
        [BOT_NAME, 'Echo: hi'],
      ]);
      const request = await requestWhen(c.requestId(), 'unrouted', (r) => r.status === 50);
      expect(request.requester?.uuid_user).to.equal(messages[1]!.sender);
    });

    it('hands off by keyword; relays agent text, image and buttons, not a private note; the user talks to the agent; close; the bot is back with a new request', async () => {
      const c = conversation('keyword');
      await c.sayMirrored('hi', 'Echo: hi');
      await c.say('I want to talk to a human');
      const request = await handedOff(c, ['Echo: hi']);
      expect(request.participants).to.deep.equal([agent.userId]);
      const why = request.attributes?.['bf_handoff'] as { trigger?: string; keyword?: string };
      expect(why.trigger).to.equal('keyword');
      // The phrase (or keyword) that matched, as the settings' table spells it.
      expect('i want to talk to a human').to.include(String(why.keyword).toLowerCase());
      // Titled with the user's first words before routing; the agent sees what the user was told
      // ("connecting" as the bot's line, the joined notice as an info line); the notices offer
      // the user the End chat button.
      expect(request.first_text).to.equal('hi');
      const lines = await eventually('the notices in the transcript', async () => {
        const all = await admin.messages(c.requestId());
        return all.some((m) => m.text === joined(agentName)) ? all : undefined;
      });
      const kind = (text: string) => {
        const m = lines.find((l) => l.text === text);
        return m && (m.attributes?.['subtype'] === 'info' ? 'info' : m.senderFullname);
      };
      expect([kind(CONNECTING), kind(joined(agentName))]).to.deep.equal([BOT_NAME, 'info']);
      expect(c.activities().slice(1).map(buttonTitles)).to.deep.equal([[END_CHAT], [END_CHAT]]);

      const rid = c.requestId();
      // The agent types (what the console's chat engine reports): the user sees them typing.
      await agent.typing(rid);
      await eventually('a typing indicator at the user', () =>
        channel.activities(c.id).some((a) => a.type === 'typing') ? true : undefined,
      );
      const image = `http://127.0.0.1:9/e2e/label-${c.id}.png`;
      await agent.say(rid, `Hello, I'm ${agentName}.`);
      await agent.note(rid, 'Private: check the VIP list first');
      await agent.send(rid, {
        type: 'image',
        text: 'Your shipping label',
        metadata: { src: image, width: 320, height: 200 },
      });
      await agent.send(rid, {
        text: 'Did that help?',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'text', value: 'Yes' },
              {
                type: 'url',
                value: 'Tracking',
                link: 'https://example.com/track',
                target: 'blank',
              },
            ],
          },
        },
      });
      await eventually('the buttons message at the user', () =>
        c.activities().some((a) => a.text === 'Did that help?') ? true : undefined,
      );
      const fromAgent = c.activities().slice(3); // Echo: hi, connecting, joined
      // The agent's name opens their turn (TiledeskAgentPrefix); their Tiledesk photo, when
      // they have one (--bootstrap uploads one), is on each message.
      expect(fromAgent.map((a) => a.text)).to.deep.equal([
        `${agentName}: Hello, I'm ${agentName}.`,
        'Your shipping label',
        'Did that help?',
      ]);
      const photo = await agent.photoUrl();
      for (const a of fromAgent) {
        expect(nameOf(a)).to.equal(agentName);
        expect(avatarOf(a)).to.equal(photo);
      }
      if (photo) expect((await fetch(photo)).headers.get('content-type')).to.match(/^image\//);
      expect(fromAgent[1]!.activity['attachments']).to.deep.equal([
        { contentType: 'image/png', contentUrl: image },
      ]);
      expect(fromAgent[2]!.activity['suggestedActions']).to.deep.include({
        actions: [
          { type: 'imBack', title: 'Yes', value: 'Yes' },
          { type: 'openUrl', title: 'Tracking', value: 'https://example.com/track' },
        ],
      });

      // The user answers the agent: mirrored as theirs, and the bot stays silent.
      await c.say('Yes, thanks! One more thing');
      const messages = await eventually('the user answer in Tiledesk', async () => {
        const list = await admin.messages(rid);
        return list.some((m) => m.text === 'Yes, thanks! One more thing') ? list : undefined;
      });
      const answer = messages.find((m) => m.text === 'Yes, thanks! One more thing')!;
      expect(answer.sender).to.equal(messages.find((m) => m.text === 'hi')!.sender);
      expect(answer.senderFullname).to.equal(USER_NAME);
      await closesAndBotIsBack(c);
      expect(c.texts().filter((t) => /Private|Echo: Yes/.test(t))).to.deep.equal([]);
    });

    it('hands off on a recognizer intent', async () => {
      const c = conversation('intent');
      await c.say('[intent] can I speak with someone?');
      const request = await handedOff(c, []);
      expect(request.attributes?.['bf_handoff']).to.include({
        trigger: 'intent',
        intent: 'Handoff',
        score: 0.9,
      });
      await agent.say(c.requestId(), 'Anna here, how can I help?');
      await c.received(3);
      await closesAndBotIsBack(c);
    });

    it('hands off on the handoff.initiate event the bot sends', async () => {
      const c = conversation('event');
      await c.sayMirrored('hi', 'Echo: hi');
      await c.say('[event] a billing question');
      const request = await handedOff(c, ['Echo: hi', 'Let me find a person for you.'], false);
      expect(request.attributes?.['bf_handoff']).to.deep.include({
        trigger: 'event',
        context: { why: '[event] a billing question' },
      });
      expect(c.activities().some((a) => a.name === 'handoff.initiate')).to.equal(false);
      await closesAndBotIsBack(c);
    });

    it('hands off through the code API (handoff())', async () => {
      const c = conversation('api');
      await c.say('[api] VIP customer');
      const request = await handedOff(c, []);
      expect(request.attributes?.['bf_handoff']).to.deep.include({
        trigger: 'api',
        context: { why: '[api] VIP customer' },
      });
      await closesAndBotIsBack(c);
    });

    it('queues the user when no agent is available; an agent who joins later takes over', async () => {
      const c = conversation('queued');
      await agent.setAvailable(false);
      try {
        // The agent named its sender in the earlier tests, so Tiledesk knows an average wait.
        const wait = await agent.averageWaitMs();
        await c.say('operator please');
        expect(await c.received(2)).to.deep.equal([CONNECTING, queuedText(wait)]);
        const queued = await requestWhen(c.requestId(), 'queued', (r) => r.status === 100);
        expect(queued.participants).to.deep.equal([]);
        await c.say('still waiting');
        await eventually('the user still waiting, in Tiledesk', async () =>
          (await admin.messages(c.requestId())).some((m) => m.text === 'still waiting')
            ? true
            : undefined,
        );
        expect(c.texts()).to.have.length(2); // the bot stays silent while queued
      } finally {
        await agent.setAvailable(true);
      }
      const joinedRequest = await agent.join(c.requestId());
      expect(joinedRequest.status).to.equal(200);
      await agent.say(c.requestId(), 'Sorry for the wait!');
      expect((await c.received(4)).slice(2)).to.deep.equal([
        joined(agentName),
        `${agentName}: Sorry for the wait!`,
      ]);
      await closesAndBotIsBack(c);
    });

    it('the user leaves, by phrase or with the End chat button: told, the request closed, the bot back; a late agent message never reaches them', async () => {
      for (const [name, leave] of [
        ['leave-phrase', 'End chat!'],
        ['leave-button', END_CHAT], // what the button sends (imBack)
      ] as const) {
        const c = conversation(name);
        await c.sayMirrored('hi', 'Echo: hi');
        await c.say('I want to talk to a human please');
        await handedOff(c, ['Echo: hi']);
        await c.say(leave);
        expect((await c.received(5)).slice(3)).to.deep.equal([LEFT, BACK]);
        await requestWhen(c.requestId(), 'closed', (r) => r.status === 1000);
        const transcript = (await admin.messages(c.requestId())).map((m) => m.text);
        expect(transcript).to.include.members([leave, LEFT]);
        await agent.say(c.requestId(), 'Are you still there?');
        await c.say('hello again');
        expect((await c.received(6)).slice(5)).to.deep.equal(['Echo: hello again']);
        expect(c.texts()).to.not.include('Are you still there?');
      }
    });
  });
}

/**
 * Timeouts, once (they do not depend on the identity mode): a second sample with limits of
 * seconds and a short periodic pass (TILEDESK_TEST_LEASE_MS), against the same Tiledesk.
 */
function timeouts(target: E2eTarget, mode: IdentityMode, timings: Map<string, number>): void {
  describe(`handoff timeouts against ${target.apiUrl} (short limits)`, function () {
    this.timeout(90_000);
    let started = 0;
    before(() => void (started = Date.now()));
    const run = sampleSuite(target, {
      name: 'sample-timeouts',
      env: (port, webhookUrl) => ({
        ...sampleEnv(target, mode, port, webhookUrl, BOT_NAME),
        TiledeskQueueTimeoutMs: '2000',
        TiledeskInactivityTimeoutMs: '3000',
        TiledeskCatchUpIntervalMs: '500',
        TILEDESK_TEST_LEASE_MS: '1500', // the periodic pass runs every 0.5 s
      }),
    });
    after(() => void timings.set('timeouts', Date.now() - started));
    const { admin, agent, channel } = run;

    const user = (name: string) => {
      const id = `e2e-timeouts-${name}-${randomBytes(4).toString('hex')}`;
      const u = channel.user(id, `user-${id}`, USER_NAME);
      const requestId = requestIdFor(target.projectId, conversationKey('webchat', id), 0);
      return {
        requestId,
        say: (text: string) => u.say(run.sample.messagesUrl, text),
        received: (n: number) => channel.waitForTexts(id, n, STEP_MS),
      };
    };
    const closed = (requestId: string) =>
      eventually('the request closed in Tiledesk', async () =>
        (await admin.request(requestId))?.status === 1000 ? true : undefined,
      );

    it('queue timeout: nobody takes the chat; the user is told, the request closed, the bot back', async () => {
      const u = user('queue');
      await agent.setAvailable(false);
      try {
        const wait = await agent.averageWaitMs();
        await u.say('human');
        expect(await u.received(2)).to.deep.equal([CONNECTING, queuedText(wait)]);
        expect((await u.received(4)).slice(2)).to.deep.equal([QUEUE_TIMEOUT, BACK]);
        await closed(u.requestId);
      } finally {
        await agent.setAvailable(true);
      }
      await u.say('ok');
      expect((await u.received(5))[4]).to.equal('Echo: ok');
    });

    it('inactivity: an assigned chat where nobody writes is closed; both sides told', async () => {
      const u = user('idle');
      await u.say('human');
      expect(await u.received(4)).to.deep.equal([CONNECTING, joined(agent.name), INACTIVITY, BACK]);
      await closed(u.requestId);
      const transcript = await admin.messages(u.requestId);
      const told = transcript.find((m) => m.text === INACTIVITY);
      expect(told?.attributes?.['subtype']).to.equal('info');
    });
  });
}

function queuedText(waitMs: number | undefined): string {
  if (waitMs === undefined || waitMs <= 0) return QUEUED;
  return `${QUEUED} The current wait is about ${Math.max(1, Math.round(waitMs / 60_000))} min.`;
}

function buttonTitles(a: ReceivedActivity): (string | undefined)[] {
  const actions = (a.activity['suggestedActions'] as { actions?: { title?: string }[] } | undefined)
    ?.actions;
  return actions?.map((b) => b.title) ?? [];
}

function joined(agentName: string): string {
  return `${agentName} has joined the chat.`;
}

/** Not an info/system line: what a person wrote (user, bot, agent). */
function isVisible(m: WireMessage): boolean {
  const subtype = m.attributes?.['subtype'];
  return m.sender !== 'system' && subtype !== 'info' && subtype !== 'info/support';
}

function avatarOf(a: ReceivedActivity): string | undefined {
  const from = a.activity['from'] as { properties?: { avatarUrl?: string } } | undefined;
  return from?.properties?.avatarUrl;
}

function nameOf(a: ReceivedActivity): string | undefined {
  return (a.activity['from'] as { name?: string } | undefined)?.name;
}
