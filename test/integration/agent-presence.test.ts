import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import type { Clock } from '../../lib';
import { BINDINGS } from '../support/bindings';
import { FakeChannel, type ReceivedActivity } from '../support/fake-channel';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';
import { type StandInAgent, TiledeskStandIn } from '../support/tiledesk-standin';

/**
 * Issue 9, items 2 and 6, on both bindings: a user in a stock Web Chat can tell an agent from the
 * bot (the agent's name in `from` and before the first message of each agent turn, the agent's
 * Tiledesk photo when there is one), and sees the agent typing.
 */

/**
 * botbuilder 4.15's connector serializer drops `ChannelAccount.properties` (seen in CI's
 * oldest-botbuilder run): the avatar does not reach the channel there; the name does.
 */
const BOTBUILDER = (require('botbuilder/package.json') as { version: string }).version;
const sendsFromProperties = (binding: string) =>
  binding !== 'botbuilder' || !BOTBUILDER.startsWith('4.15.');

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';
const MARCO = '65a1b2c3d4e5f6a7b8c9d0ab';
const AGENTS: StandInAgent[] = [
  { id: ANNA, firstname: 'Anna', lastname: 'Rossi', email: 'anna@x.example', available: true },
  // Never routed to: he writes when a test says so (a colleague taking over).
  {
    id: MARCO,
    firstname: 'Marco',
    lastname: 'Bianchi',
    email: 'marco@x.example',
    available: false,
  },
];

const photoUrl = (h: Harness, userId: string) =>
  `${h.standin.url}/files?path=${encodeURIComponent(`uploads/users/${userId}/images/thumbnails_200_200-photo.jpg`)}`;

/** Real time, plus an offset a test moves forward (the typing rate limit reads `now()`). */
function offsetClock(): { clock: Clock; advance(ms: number): void } {
  let offset = 0;
  return {
    clock: {
      now: () => Date.now() + offset,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    advance: (ms) => void (offset += ms),
  };
}

const fromOf = (a: ReceivedActivity) =>
  a.activity['from'] as { id: string; name?: string; properties?: Record<string, unknown> };

for (const binding of BINDINGS)
  describe(`a visible person and typing [${binding}]`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());
    const start = (options: HarnessOptions = {}) =>
      startHarness({ binding, ...options, standin: { agents: AGENTS, ...options.standin } });

    /** A user in a handoff with Anna; remembers the ids of the activities the channel sent. */
    async function withAnna(conversationId: string) {
      const user = h.user(conversationId);
      const sentIds = new Set<string>();
      const say = async (text: string) => {
        const r = await user.say(h.bot.messagesUrl, text);
        expect(r.status).to.equal(200);
        sentIds.add(String(r.activity['id']));
        await h.settle();
      };
      await say('human');
      const requestId = [...h.standin.requests.keys()].at(-1)!;
      expect(h.standin.request(requestId)!.participants).to.deep.equal([ANNA]);
      const base = h.channel.texts(conversationId).length;
      return {
        say,
        requestId,
        sentIds,
        /** What the user got since the agent joined. */
        texts: () => h.channel.texts(conversationId).slice(base),
        typing: () => h.channel.activities(conversationId).filter((a) => a.type === 'typing'),
        agent: async (text: string, opts: Parameters<Harness['standin']['agentReply']>[2] = {}) => {
          h.standin.agentReply(requestId, text, opts);
          await h.settle();
        },
      };
    }

    describe('the agent name prefix (TiledeskAgentPrefix)', () => {
      it('opens each agent turn: not on the turn’s next messages, again after the user writes, and for another agent', async () => {
        h = await start();
        const c = await withAnna('conv-prefix');
        await c.agent('Hi Ada.');
        h.standin.agentNote(c.requestId, 'VIP customer'); // private: the user never sees it
        await c.agent('How can I help?');
        await c.say('My order is late');
        await c.agent('Let me check.');
        await c.agent('I am Marco, I take over from Anna.', { agentId: MARCO });
        await c.agent('Found it.', { agentId: MARCO });
        expect(c.texts()).to.deep.equal([
          'Anna Rossi: Hi Ada.',
          'How can I help?',
          'Anna Rossi: Let me check.',
          'Marco Bianchi: I am Marco, I take over from Anna.',
          'Found it.',
        ]);
        // The prefix is for the user only: Tiledesk keeps what the agents wrote.
        const inTiledesk = h.standin.messages(c.requestId).map((m) => m.text);
        expect(inTiledesk).to.include('Hi Ada.').and.not.include('Anna Rossi: Hi Ada.');
        expect(h.errors).to.deep.equal([]);
      });

      it('is decided from the request’s transcript: another instance with no memory continues the turn', async () => {
        const standin = new TiledeskStandIn({
          agents: AGENTS,
          commandDelayMs: 5,
          webhookRetryDelaysMs: [20, 40],
        });
        const channel = new FakeChannel();
        await standin.start();
        await channel.start();
        const storage = new MemoryStorage();
        const shared = { standin, channel };
        try {
          h = await startHarness({ binding, storage, shared });
          const c = await withAnna('conv-restart');
          await c.agent('Hi Ada.');
          await h.stop();
          h = await startHarness({ binding, storage, shared });
          await c.agent('Still there?');
          expect(c.texts()).to.deep.equal(['Anna Rossi: Hi Ada.', 'Still there?']);
        } finally {
          await h.stop();
          h = undefined as unknown as Harness;
          await channel.stop();
          await standin.stop();
        }
      });

      it('an image alone opens the turn with the prefix alone as its text', async () => {
        h = await start();
        const c = await withAnna('conv-image');
        const src = 'https://files.example/receipt.png';
        await c.agent('Image attached', { type: 'image', metadata: { src } });
        await c.agent('That is your receipt.');
        const [image, text] = h.channel
          .activities('conv-image')
          .filter((a) => a.type === 'message')
          .slice(-2);
        expect(image!.text).to.equal('Anna Rossi:');
        expect(image!.activity['attachments']).to.deep.equal([
          { contentType: 'image/png', contentUrl: src },
        ]);
        expect(text!.text).to.equal('That is your receipt.');
      });

      it("is a template ({agent}), and '' turns it off", async () => {
        h = await start({ tiledesk: { settings: { agentPrefix: '[{agent}] ' } } });
        let c = await withAnna('conv-template');
        await c.agent('Hi.');
        expect(c.texts()).to.deep.equal(['[Anna Rossi] Hi.']);
        await h.stop();

        h = await start({ tiledesk: { settings: { agentPrefix: '' } } });
        c = await withAnna('conv-off');
        await c.agent('Hi.');
        await c.say('hello');
        await c.agent('Hello again.');
        expect(c.texts()).to.deep.equal(['Hi.', 'Hello again.']);
      });
    });

    describe('the agent in `from`', () => {
      it('has the agent’s name and, when Tiledesk has one, photo (looked up once per agent); the id stays the bot’s', async () => {
        h = await start();
        h.standin.setUserPhoto(ANNA, true); // uploaded on 2.19.16: served at /files only
        const c = await withAnna('conv-from');
        await c.agent('Hi Ada.');
        await c.agent('One moment.');
        await c.agent('Marco here.', { agentId: MARCO }); // no photo
        const [first, second, marco] = h.channel
          .activities('conv-from')
          .filter((a) => a.type === 'message')
          .slice(-3)
          .map(fromOf);
        const avatar = sendsFromProperties(binding)
          ? { properties: { avatarUrl: photoUrl(h, ANNA) } }
          : {};
        expect(first).to.deep.include({ id: 'bot', name: 'Anna Rossi', ...avatar });
        expect(second).to.deep.include({ id: 'bot', name: 'Anna Rossi', ...avatar });
        expect(marco).to.deep.include({ id: 'bot', name: 'Marco Bianchi' });
        expect(marco).to.not.have.property('properties');
        const lookups = (route: string) =>
          h.standin.calls.filter((call) => call.path.startsWith(route)).map((call) => call.status);
        expect([lookups('/files?'), lookups('/images?')]).to.deep.equal([[200, 404], [404]]);
      });
    });

    describe('typing (TiledeskAgentTyping)', () => {
      it('shows the agent typing, at most once every 3 s, never mirrored, with no stray replyToId', async () => {
        const time = offsetClock();
        h = await start({ tiledesk: { clock: time.clock } });
        const c = await withAnna('conv-typing');
        const mirrored = h.standin.messages(c.requestId).length;
        const events = h.events.length;

        h.standin.agentTyping(c.requestId, { draft: 'Hi Ada, let me' });
        await h.settle();
        expect(c.typing()).to.have.length(1);
        expect(fromOf(c.typing()[0]!)).to.deep.include({ id: 'bot', name: 'Anna Rossi' });
        expect(c.typing()[0]!.activity).to.not.have.property('text'); // never the draft

        h.standin.agentTyping(c.requestId);
        h.standin.agentTyping(c.requestId);
        await h.settle();
        expect(c.typing()).to.have.length(1); // within 3 s of the first

        time.advance(3000);
        h.standin.agentTyping(c.requestId);
        await h.settle();
        expect(c.typing()).to.have.length(2);

        await c.agent('Hi Ada, let me check.');
        time.advance(3000);
        // The console reports typing up to 500 ms after the last keystroke: after the message.
        h.standin.agentTyping(c.requestId);
        await h.settle();
        expect(c.typing()).to.have.length(2);
        time.advance(3000);
        // Typing the next message, a few seconds later.
        h.standin.agentTyping(c.requestId, { at: new Date(Date.now() + 5000).toISOString() });
        await h.settle();
        expect(c.typing()).to.have.length(3);

        const activities = h.channel.activities('conv-typing');
        expect(activities.map((a) => a.type).slice(-4)).to.deep.equal([
          'typing',
          'typing',
          'message',
          'typing',
        ]);
        // Never mirrored: Tiledesk got nothing but the agent's own message, the bot saw no turn.
        expect(h.standin.messages(c.requestId)).to.have.length(mirrored + 1);
        expect(h.events).to.have.length(events);
        for (const a of activities) {
          if (a.replyToId !== undefined) expect(c.sentIds).to.include(a.replyToId);
        }
        const deliveries = h.standin.deliveries.filter(
          (d) => d.event === 'event.emit.typing.start',
        );
        expect(deliveries.map((d) => d.status)).to.deep.equal([200, 200, 200, 200, 200, 200]);
        expect(h.errors).to.deep.equal([]);
      });

      it('none while an agent message is on its way: it never trails the message', async () => {
        h = await start();
        const c = await withAnna('conv-busy');
        const reading = h.standin.hold({ method: 'GET', path: /\/messages$/ });
        h.standin.agentReply(c.requestId, 'Here I am.');
        await reading.waitForPending(1); // delivery is reading the request: the message is coming
        h.standin.agentTyping(c.requestId);
        await h.standin.waitFor(() =>
          h.standin.deliveries.some((d) => d.event === 'event.emit.typing.start'),
        );
        reading.release();
        await h.settle();
        expect(c.texts()).to.deep.equal(['Anna Rossi: Here I am.']);
        expect(c.typing()).to.deep.equal([]);
      });

      it('none once the conversation is back with the bot (typing in its closed request)', async () => {
        h = await start();
        const c = await withAnna('conv-closed');
        h.standin.agentClose(c.requestId);
        await h.settle();
        h.standin.agentTyping(c.requestId);
        await h.settle();
        expect(c.typing()).to.deep.equal([]);
        expect(h.standin.deliveries.map((d) => d.event)).to.include('event.emit.typing.start');
      });

      it('TiledeskAgentTyping=false: no subscription, no indicator', async () => {
        h = await start({ settings: { TiledeskAgentTyping: 'false' } });
        expect(h.standin.subscriptions().map((s) => s.event)).to.not.include(
          'event.emit.typing.start',
        );
        const c = await withAnna('conv-no-typing');
        h.standin.agentTyping(c.requestId);
        await h.settle();
        expect(c.typing()).to.deep.equal([]);
      });
    });
  });
