import { expect } from 'chai';
import type { StandInMessage } from '../support/tiledesk-standin/types';
import { BINDINGS } from '../support/bindings';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';

const CONNECTING = 'Connecting you to a human agent…';
const CLOSED = 'The agent has closed the chat. You are back with the bot.';

/** What agents read: the request's messages without our hidden info lines. */
const said = (list: StandInMessage[]) =>
  list.filter((m) => m.attributes?.['subtype'] !== 'info').map((m) => m.text);
const marked = (list: StandInMessage[]) =>
  list
    .filter((m) => m.attributes?.['subtype'] !== 'info')
    .map((m) => m.attributes?.['bf_history'] === true);

for (const binding of BINDINGS)
  describe(`TiledeskMirrorMode=handoff [${binding}] (CloudAdapter + restify + fake channel + Tiledesk stand-in)`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());
    const start = (options: HarnessOptions = {}, settings: Record<string, string> = {}) =>
      startHarness({
        binding,
        ...options,
        settings: {
          TiledeskMirrorMode: 'handoff',
          TiledeskTranscriptMaxMessages: '4',
          ...settings,
        },
      });
    const requestIds = () => [...h.standin.requests.keys()];

    it('nothing reaches Tiledesk before the handoff; then the bounded history in order, then live messages; buffering again after the close', async () => {
      h = await start();
      const ada = h.user('conv-m', 'user-1', 'Ada Lovelace');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('what are your hours?');
      await ada.sayAndWait('thanks');
      expect(h.channel.texts('conv-m')).to.have.length(3); // the bot answered all along
      expect(requestIds()).to.deep.equal([]); // no request, no message: nothing in Tiledesk

      await ada.sayAndWait('I want to talk to a human please');
      const [first] = requestIds();
      expect(requestIds()).to.have.length(1);
      const messages = h.standin.messages(first!);
      expect(said(messages)).to.deep.equal([
        // the oldest two (hi, Echo: hi) are beyond TiledeskTranscriptMaxMessages=4
        'what are your hours?',
        'Echo: what are your hours?',
        'thanks',
        'Echo: thanks',
        'I want to talk to a human please',
        CONNECTING,
      ]);
      expect(marked(messages)).to.deep.equal([true, true, true, true, false, false]);
      const dropped = messages.find((m) => m.text === '(2 earlier messages are not kept)');
      expect(dropped?.attributes).to.deep.include({ subtype: 'info', bf_history: true });
      const history = messages.filter((m) => m.attributes?.['bf_history'] === true);
      const sentAt = history.map((m) => Date.parse(String(m.attributes?.['bf_sent_at'])));
      expect(sentAt.every((t) => Number.isFinite(t))).to.equal(true);
      expect(sentAt).to.deep.equal([...sentAt].sort((a, b) => a - b));
      // The title agents see: the user's first words in the request.
      expect(h.standin.request(first!)!.first_text).to.equal('what are your hours?');
      expect(h.standin.request(first!)!.status).to.equal(200); // routed to the agent

      await ada.sayAndWait('my order A-1042 is late');
      expect(said(h.standin.messages(first!)).at(-1)).to.equal('my order A-1042 is late');
      h.standin.agentClose(first!);
      await h.settle();
      expect(h.channel.texts('conv-m').at(-1)).to.equal(CLOSED);

      await ada.sayAndWait('ok bye');
      expect(h.channel.texts('conv-m').at(-1)).to.equal('Echo: ok bye');
      expect(requestIds()).to.have.length(1); // with the bot again: kept, not posted
      expect(said(h.standin.messages(first!))).to.not.include('ok bye');

      await ada.sayAndWait('agent');
      const second = requestIds()[1]!;
      expect(said(h.standin.messages(second))).to.deep.equal([
        'ok bye',
        'Echo: ok bye',
        'agent',
        CONNECTING,
      ]);
      expect(h.errors).to.deep.equal([]);
    });

    const transcriptBot = (): HarnessOptions['logic'] => async (turn) => {
      if (turn.activity.type !== 'message') return;
      if (turn.activity.text !== 'billing please') {
        await turn.send(`Echo: ${turn.activity.text}`);
        return;
      }
      await turn.send('Let me get you someone from billing.');
      const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
      await turn.initiateHandoff(
        { skill: 'billing' },
        {
          activities: [
            { type: 'conversationUpdate', id: 'cu-1' },
            {
              type: 'message',
              id: 'old-1',
              from: { id: 'user-1', role: 'user' },
              text: 'my invoice is wrong',
              timestamp: at(1),
            },
            {
              type: 'message',
              id: 'old-2',
              from: { id: 'bot', role: 'bot' },
              text: 'Which invoice?',
              timestamp: at(2),
            },
            // The turn itself: it goes live with the handoff, not twice.
            {
              type: 'message',
              id: turn.activity.id,
              from: { id: 'user-1', role: 'user' },
              text: 'billing please',
              timestamp: at(3),
            },
          ],
        },
      );
    };

    it("handoff.initiate with botbuilder's transcript: the bot's view is the history", async () => {
      h = await start({ logic: transcriptBot() });
      const ada = h.user('conv-t', 'user-1', 'Ada');
      await ada.sayAndWait('hello');
      expect(requestIds()).to.deep.equal([]);
      await ada.sayAndWait('billing please');
      const messages = h.standin.messages(requestIds()[0]!);
      expect(said(messages)).to.deep.equal([
        'my invoice is wrong',
        'Which invoice?',
        'billing please',
        'Let me get you someone from billing.',
      ]);
      expect(marked(messages)).to.deep.equal([true, true, false, false]);
      const sender = (text: string) => messages.find((m) => m.text === text)!.senderFullname;
      expect(sender('my invoice is wrong')).to.equal('Ada');
      expect(sender('Which invoice?')).to.not.equal('Ada');
      expect(h.standin.request(requestIds()[0]!)!.attributes['bf_handoff']).to.deep.include({
        trigger: 'event',
        context: { skill: 'billing' },
      });
    });

    it('a transcript that cannot be read is reported, and the handoff goes on with what was kept', async () => {
      const card: Record<string, unknown> = { type: 'AdaptiveCard' };
      card['self'] = card; // circular: cannot be stored
      const activities = [
        {
          type: 'message',
          text: 'a card',
          attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }],
        },
      ];
      h = await start({
        logic: async (turn) => {
          if (turn.activity.type !== 'message') return;
          if (turn.activity.text === 'help') await turn.initiateHandoff({}, { activities });
          else await turn.send(`Echo: ${turn.activity.text}`);
        },
      });
      const ada = h.user('conv-x', 'user-1', 'Ada');
      await ada.sayAndWait('hello');
      await ada.sayAndWait('help');
      expect(said(h.standin.messages(requestIds()[0]!))).to.deep.equal([
        'hello',
        'Echo: hello',
        'help',
      ]);
      expect(h.errors.map((e) => e.code)).to.deep.equal(['TILEDESK_RECOGNIZER']);
    });

    it('TiledeskMirrorMode=all ignores the transcript: the conversation is in Tiledesk already', async () => {
      h = await start({ logic: transcriptBot() }, { TiledeskMirrorMode: 'all' });
      const ada = h.user('conv-a', 'user-1', 'Ada');
      await ada.sayAndWait('hello');
      expect(requestIds()).to.have.length(1);
      await ada.sayAndWait('billing please');
      const messages = h.standin.messages(requestIds()[0]!);
      expect(said(messages)).to.deep.equal([
        'hello',
        'Echo: hello',
        'billing please',
        'Let me get you someone from billing.',
      ]);
      expect(marked(messages)).to.deep.equal([false, false, false, false]);
    });
  });
