/**
 * `TiledeskMirrorVisibility=bot` against a real Tiledesk (issue 15): the sample bot runs as its
 * own process, a fake channel plays the user, the admin and the agent act through the REST API
 * as the dashboard does. What the dashboard shows is what these calls answer: its lists and
 * monitor ask `GET /{p}/requests` with the signed-in user's token.
 * Run by `npm run test:e2e` (./run.ts).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { conversationKey, requestIdFor } from '../../lib/core/ids';
import { eventually, TiledeskActor, type WireRequest } from './agent';
import { e2eContext } from './context';
import { sampleEnv } from './sample-env';
import { sampleSuite } from './sample-suite';

const CONNECTING = 'Connecting you to a human agent…';
const CLOSED = 'The agent has closed the chat. You are back with the bot.';
const BACK = "I'm back. Anything else I can repeat for you?";
const BOT_NAME = 'Echo Bot';
const STEP_MS = 20_000;

const context = e2eContext();
if (context) {
  const target = context.target;
  const mode = context.modes[0]!;
  describe(`conversations served by a Tiledesk bot (TiledeskMirrorVisibility=bot) against ${target.apiUrl}`, function () {
    this.timeout(90_000);
    let botId = '';
    const suite = sampleSuite(target, {
      name: 'sample-visible',
      env: (port, webhookUrl) => ({
        ...sampleEnv(target, mode, port, webhookUrl, BOT_NAME),
        TiledeskMirrorVisibility: 'bot',
      }),
      ready: async ({ admin, webhookUrl }) => {
        const bot = await eventually('the Tiledesk bot standing for ours', async () =>
          (await admin.bots()).find((b) => b.url === webhookUrl),
        );
        expect(bot).to.include({ name: BOT_NAME, type: 'external' });
        botId = bot._id;
      },
      cleanup: async ({ admin }) => {
        if (botId) await admin.deleteBot(botId);
      },
    });
    const { admin, agent, channel } = suite;

    const conversation = (name: string) => {
      const id = `e2e-visible-${name}-${randomBytes(4).toString('hex')}`;
      const user = channel.user(id, `user-${id}`, 'Ada Lovelace');
      const requestId = requestIdFor(target.projectId, conversationKey('webchat', id), 0);
      return {
        requestId,
        say: async (text: string) => {
          const res = await user.say(suite.sample.messagesUrl, text);
          expect(res.status).to.be.below(300);
        },
        received: (n: number) => channel.waitForTexts(id, n, STEP_MS),
        texts: () => channel.texts(id),
      };
    };
    const requestWhen = (id: string, what: string, check: (r: WireRequest) => boolean) =>
      eventually(`request ${what}`, async () => {
        const r = await admin.request(id);
        return r && check(r) ? r : undefined;
      });

    it('a conversation only the bot answered is open, served by the bot, and listed for the admin (the monitor)', async () => {
      const c = conversation('live');
      await c.say('hello');
      await c.say('where is my order?');
      expect(await c.received(2)).to.deep.equal(['Echo: hello', 'Echo: where is my order?']);
      const request = await requestWhen(c.requestId, 'served by the bot', (r) => r.status === 200);
      expect(request.participants).to.deep.equal([`bot_${botId}`]);
      const listed = await eventually('the request in the admin’s list', async () =>
        (await admin.listedRequests()).some((r) => r.request_id === c.requestId) ? true : undefined,
      );
      expect(listed).to.equal(true);
      // A teammate whose custom role has request_read_all watches it too (bootstrapped targets).
      if (target.watcher) {
        const watcher = await new TiledeskActor(target, target.watcher).signIn();
        const listed = await watcher.listedRequests();
        expect(listed.some((r) => r.request_id === c.requestId)).to.equal(true);
      }
      // Agents see the requests they take part in (routes/request.js, role agent): not this one.
      expect((await agent.listedRequests()).some((r) => r.request_id === c.requestId)).to.equal(
        false,
      );
      const messages = await eventually('the four messages mirrored', async () => {
        const list = (await admin.messages(c.requestId)).filter(
          (m) => m.attributes?.['subtype'] !== 'info',
        );
        return list.length >= 4 ? list : undefined;
      });
      expect(messages.map((m) => m.text)).to.deep.equal([
        'hello',
        'Echo: hello',
        'where is my order?',
        'Echo: where is my order?',
      ]);
      expect(
        messages.filter((m) => m.text?.startsWith('Echo:')).map((m) => m.sender),
      ).to.deep.equal([`bot_${botId}`, `bot_${botId}`]);
    });

    it('a handoff replaces the bot with the agent; the agent’s words reach the user; the close hands back', async () => {
      const c = conversation('handoff');
      await c.say('hello');
      await c.received(1);
      await requestWhen(c.requestId, 'served by the bot', (r) => r.status === 200);
      await c.say('human');
      expect(await c.received(3)).to.deep.equal([
        'Echo: hello',
        CONNECTING,
        `${agent.name} has joined the chat.`,
      ]);
      const routed = await requestWhen(c.requestId, 'with the agent', (r) =>
        r.participants.includes(agent.userId),
      );
      expect(routed.participants).to.deep.equal([agent.userId]);
      await agent.say(c.requestId, 'Hi Ada, how can I help?');
      expect((await c.received(4))[3]).to.equal(`${agent.name}: Hi Ada, how can I help?`);
      await agent.close(c.requestId);
      expect((await c.received(6)).slice(4)).to.deep.equal([CLOSED, BACK]);
    });

    it('JOIN TO CHAT: the admin takes over from the monitor; the bot goes silent; the close hands back', async () => {
      const c = conversation('join');
      await c.say('hello');
      await c.received(1);
      await requestWhen(c.requestId, 'served by the bot', (r) => r.status === 200);
      await admin.join(c.requestId);
      // The server removes the bot by itself (conciergeBot).
      await requestWhen(
        c.requestId,
        'with the admin only',
        (r) => r.participants.join() === admin.userId,
      );
      expect(await c.received(2)).to.deep.equal([
        'Echo: hello',
        `${admin.name} has joined the chat.`,
      ]);
      await c.say('are you a person?');
      await eventually('the user’s question in Tiledesk', async () =>
        (await admin.messages(c.requestId)).some((m) => m.text === 'are you a person?')
          ? true
          : undefined,
      );
      await admin.say(c.requestId, 'Yes, I read your chat.');
      expect((await c.received(3))[2]).to.equal(`${admin.name}: Yes, I read your chat.`);
      expect(c.texts()).to.not.include('Echo: are you a person?');
      await admin.close(c.requestId);
      expect((await c.received(5)).slice(3)).to.deep.equal([CLOSED, BACK]);
      await c.say('thanks');
      expect((await c.received(6))[5]).to.equal('Echo: thanks');
    });
  });
}
