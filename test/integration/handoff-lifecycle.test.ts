import { expect } from 'chai';
import type { Clock } from '../../lib';
import { BINDINGS, type TestTurn } from '../support/bindings';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';

/**
 * The handoff as the customer lives it (issue 9): a way out (a phrase, the End chat button),
 * the queue and inactivity timeouts, endHandoff/statusOf, the bot's own proactive messages held
 * during a handoff, and the notices in the agent's transcript. Time moves with a clock whose
 * `now()` a test can push forward (short waits run at once).
 */

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';
const MIN = 60_000;

function steppingClock() {
  let offset = 0;
  const clock: Clock = {
    now: () => Date.now() + offset,
    setTimeout: (fn, ms) => setTimeout(fn, ms >= 30_000 ? ms : Math.min(ms, 5)),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
  return { clock, advance: (ms: number) => void (offset += ms) };
}

for (const binding of BINDINGS) {
  describe(`handoff lifecycle [${binding}]`, function () {
    this.timeout(20_000);
    let h: Harness;
    afterEach(async () => h?.stop());
    const time = steppingClock();
    const start = (options: HarnessOptions = {}) =>
      startHarness({
        binding,
        ...options,
        tiledesk: { clock: time.clock, ...options.tiledesk },
        settings: { TiledeskCatchUpIntervalMs: '1000', ...options.settings },
      });
    const texts = (conv: string) => h.channel.texts(conv);
    const onlyRequest = () => [...h.standin.requests.values()][0]!;
    const until = (check: () => boolean) => h.standin.waitFor(check, 10_000);
    const transcript = (requestId: string) =>
      h.standin.messages(requestId).map((m) => ({
        text: m.text,
        info: (m.attributes as { subtype?: string } | undefined)?.subtype === 'info',
      }));

    it('leave by phrase: the user is told, the request closed, the bot answers again', async () => {
      h = await start();
      const ada = h.user('conv-leave');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('I want to talk to a human please');
      const request = onlyRequest();
      await ada.sayAndWait('End chat!');
      await until(() => h.standin.request(request.request_id)!.status === 1000);
      await h.settle();
      expect(texts('conv-leave')).to.deep.equal([
        'Echo: hi',
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
        'You have left the chat with the agent. I am here again: how can I help?',
      ]);
      expect(h.events.map((e) => e.value)).to.deep.equal([
        { state: 'accepted', message: 'Anna Rossi' },
        { state: 'completed', message: 'user left' },
      ]);
      // The agent sees what the user wrote and what they were told, in order.
      const seen = transcript(request.request_id).filter((m) => m.text !== 'Conversation started');
      const expected = [
        'I want to talk to a human please',
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
        'End chat!',
        'You have left the chat with the agent. I am here again: how can I help?',
      ];
      expect(seen.map((m) => m.text).filter((t) => expected.includes(t!))).to.deep.equal(expected);
      expect(seen.find((m) => m.text === 'Anna Rossi has joined the chat.')!.info).to.equal(true);
      // An agent message written after the user left never reaches them.
      h.standin.agentReply(request.request_id, 'Are you still there?');
      await h.settle();
      expect(texts('conv-leave')).to.not.include('Are you still there?');
      await ada.sayAndWait('hello again');
      expect(texts('conv-leave').at(-1)).to.equal('Echo: hello again');
      expect(h.standin.requests.size).to.equal(2);
      expect(h.channel.strayReplies()).to.deep.equal([]);
      expect(h.errors).to.deep.equal([]);
    });

    it('leave by button: the End chat button comes with the notices and works', async () => {
      h = await start();
      const ada = h.user('conv-button');
      await ada.sayAndWait('agent');
      const activities = h.channel.activities('conv-button');
      const buttons = activities.map(
        (a) =>
          (
            a.activity['suggestedActions'] as { actions?: { title?: string }[] } | undefined
          )?.actions?.map((b) => b.title) ?? [],
      );
      expect(buttons).to.deep.equal([['End chat'], ['End chat']]); // connecting, joined
      await ada.sayAndWait('End chat'); // what the button sends (imBack)
      await until(() => onlyRequest().status === 1000);
      expect(texts('conv-button').at(-1)).to.equal(
        'You have left the chat with the agent. I am here again: how can I help?',
      );
    });

    it('queue timeout: nobody took it, the user is told, the bot answers again', async () => {
      h = await start({
        standin: {
          agents: [
            {
              id: ANNA,
              firstname: 'Anna',
              lastname: 'Rossi',
              email: 'a@x.example',
              available: false,
            },
          ],
        },
      });
      h.standin.setWaitingTime(3 * MIN);
      const ada = h.user('conv-queue');
      await ada.sayAndWait('human');
      expect(texts('conv-queue')).to.deep.equal([
        'Connecting you to a human agent…',
        'All our agents are busy right now. Stay here: an agent will answer as soon as one is free. The current wait is about 3 min.',
      ]);
      time.advance(9 * MIN);
      await new Promise((r) => setTimeout(r, 1200)); // a periodic pass: not yet
      expect(texts('conv-queue')).to.have.length(2);
      time.advance(2 * MIN);
      await until(() => texts('conv-queue').length === 3);
      expect(texts('conv-queue')[2]).to.equal(
        'Sorry, no agent was free to take your chat. You can keep chatting with me, or ask again later.',
      );
      await until(() => onlyRequest().status === 1000);
      expect(h.events.map((e) => e.value)).to.deep.equal([
        { state: 'completed', message: 'queue timeout' },
      ]);
      await ada.sayAndWait('ok');
      expect(texts('conv-queue').at(-1)).to.equal('Echo: ok');
    });

    it('inactivity timeout: an assigned chat where nobody wrote is closed, both sides told', async () => {
      h = await start();
      const ada = h.user('conv-idle');
      await ada.sayAndWait('human');
      const request = onlyRequest();
      time.advance(20 * MIN);
      await ada.sayAndWait('are you there?'); // the user wrote: the 30 minutes start again
      time.advance(20 * MIN);
      await new Promise((r) => setTimeout(r, 1200));
      expect(texts('conv-idle')).to.have.length(2);
      time.advance(11 * MIN);
      const told =
        'The chat with the agent was closed because nobody wrote for a while. You are back with the bot.';
      await until(() => texts('conv-idle').includes(told));
      await until(() => h.standin.request(request.request_id)!.status === 1000);
      expect(transcript(request.request_id)).to.deep.include({ text: told, info: true });
      expect(h.events.at(-1)!.value).to.deep.equal({ state: 'completed', message: 'inactivity' });
    });

    it('statusOf and endHandoff from bot code, with a turn or a stored reference', async () => {
      const statuses: unknown[] = [];
      let reference: Record<string, unknown> | undefined;
      h = await start({
        logic: async (turn: TestTurn) => {
          if (turn.activity.type !== 'message') return;
          reference = turn.reference();
          statuses.push(await turn.statusOf());
          if (turn.activity.text === 'help me') await turn.handoff();
          else await turn.send(`Echo: ${turn.activity.text ?? ''}`);
        },
      });
      const ada = h.user('conv-api');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('help me');
      expect(statuses).to.deep.equal([{ state: 'bot' }, { state: 'bot' }]);
      const status = await h.tiledesk.statusOf(reference!);
      expect(status).to.deep.include({ state: 'assigned', agent: 'Anna Rossi' });
      expect(await h.tiledesk.endHandoff(reference!, 'resolved by FAQ')).to.equal(true);
      expect(await h.tiledesk.endHandoff(reference!)).to.equal(false); // not with a human now
      await until(() => onlyRequest().status === 1000);
      await h.settle();
      expect(texts('conv-api').at(-1)).to.equal(
        'The chat with the agent has ended. You are back with the bot.',
      );
      expect(await h.tiledesk.statusOf(reference!)).to.deep.equal({ state: 'bot' });
    });

    it("the bot's own proactive messages during a handoff are held, then sent when it is back", async () => {
      let reference: Record<string, unknown> | undefined;
      h = await start({
        logic: async (turn: TestTurn) => {
          if (turn.activity.type !== 'message') return;
          reference = turn.reference();
          await turn.send(`Echo: ${turn.activity.text ?? ''}`);
        },
      });
      const ada = h.user('conv-hold');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('human');
      const request = onlyRequest();
      await h.proactive(reference!, 'Your parcel has shipped!');
      await h.settle();
      expect(texts('conv-hold')).to.not.include('Your parcel has shipped!');
      expect(transcript(request.request_id).map((m) => m.text)).to.not.include(
        'Your parcel has shipped!',
      );
      h.standin.agentClose(request.request_id);
      await until(() => texts('conv-hold').includes('Your parcel has shipped!'));
      expect(texts('conv-hold').slice(-2)).to.deep.equal([
        'The agent has closed the chat. You are back with the bot.',
        'Your parcel has shipped!',
      ]);
      await h.settle();
      const next = [...h.standin.requests.values()].find(
        (r) => r.request_id !== request.request_id,
      );
      expect(h.standin.messages(next!.request_id).map((m) => m.text)).to.include(
        'Your parcel has shipped!',
      );
      // With the bot, its proactive messages go straight out.
      await h.proactive(reference!, 'One more thing.');
      await until(() => texts('conv-hold').at(-1) === 'One more thing.');
      // (That last one is the bot's own send: its reply id is its SDK's business, not ours.)
      const ours = h.channel.strayReplies().filter((a) => a.text !== 'One more thing.');
      expect(ours).to.deep.equal([]);
    });

    it("the request's title is the user's first words, not the bot's greeting", async () => {
      h = await start({
        logic: async (turn: TestTurn) => {
          if (turn.activity.type === 'conversationUpdate')
            await turn.send('Welcome! How can I help?');
          else if (turn.activity.type === 'message') await turn.send(`Echo: ${turn.activity.text}`);
        },
      });
      const ada = h.user('conv-title');
      await ada.send(h.bot.messagesUrl, {
        type: 'conversationUpdate',
        membersAdded: [{ id: 'user-1', name: 'Ada' }],
      });
      await h.settle();
      await ada.sayAndWait('my invoice is wrong');
      await ada.sayAndWait('human');
      expect(onlyRequest().first_text).to.equal('my invoice is wrong');
    });
  });
}
