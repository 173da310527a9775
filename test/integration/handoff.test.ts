import { expect } from 'chai';
import { BINDINGS } from '../support/bindings';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';

for (const binding of BINDINGS)
  describe(`handoff [${binding}] (CloudAdapter + restify + fake channel + Tiledesk stand-in)`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());
    const start = (options: HarnessOptions = {}) => startHarness({ binding, ...options });

    const requestIds = () => [...h.standin.requests.keys()];

    it('keyword: connects an agent, suppresses the bot, relays the agent, hands back on close', async () => {
      h = await start();
      const bot = h;
      const ada = h.user('conv-k', 'user-1', 'Ada Lovelace');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('I want to talk to a human please');

      expect(h.channel.texts('conv-k')).to.deep.equal([
        'Echo: hi',
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
      ]);
      const [requestId] = requestIds();
      const request = h.standin.request(requestId!)!;
      expect(request.status).to.equal(200);
      expect(request.participants).to.deep.equal([ANNA]);
      expect(request.attributes['bf_handoff']).to.deep.include({
        trigger: 'keyword',
        keyword: 'talk to a human',
      });
      expect(bot.events).to.deep.equal([
        { name: 'handoff.status', value: { state: 'accepted', message: 'Anna Rossi' } },
      ]);

      await ada.sayAndWait('my order A-1042 is late');
      expect(h.channel.texts('conv-k')).to.have.length(3); // the bot stayed silent
      expect(h.standin.messages(requestId!).map((m) => m.text)).to.include(
        'my order A-1042 is late',
      );

      h.standin.agentReply(requestId!, "Hi Ada, I'm Anna. Let me check.");
      h.standin.agentNote(requestId!, 'customer seems upset');
      await h.settle();
      const relayed = h.channel.activities('conv-k').at(-1)!;
      // The first message of the agent's turn carries the name (TiledeskAgentPrefix).
      expect(relayed.text).to.equal("Anna Rossi: Hi Ada, I'm Anna. Let me check.");
      expect((relayed.activity['from'] as { name?: string }).name).to.equal('Anna Rossi');
      expect(relayed.replyToId).to.equal(undefined); // no stray replyToId (Web Chat would wait 5 s)
      expect(h.channel.texts('conv-k')).to.have.length(4); // the private note was not delivered

      h.standin.agentClose(requestId!);
      await h.settle();
      expect(h.channel.texts('conv-k').slice(4)).to.deep.equal([
        'The agent has closed the chat. You are back with the bot.',
      ]);
      expect(bot.events.at(-1)).to.deep.equal({
        name: 'handoff.status',
        value: { state: 'completed', message: 'agent closed' },
      });

      await ada.sayAndWait('thanks!');
      expect(h.channel.texts('conv-k').at(-1)).to.equal('Echo: thanks!');
      const ids = requestIds();
      expect(ids).to.have.length(2);
      expect(ids[1]).to.not.equal(requestId);
      expect(h.standin.request(ids[1]!)!.status).to.equal(50);
      // agent messages never went back into Tiledesk as bot messages
      const echoes = h.standin
        .messages(requestId!)
        .filter((m) => m.text === "Hi Ada, I'm Anna. Let me check.");
      expect(echoes).to.have.length(1);
      expect(h.errors).to.deep.equal([]);
    });

    it('queued: tells the user when nobody is available, accepts when an agent joins later', async () => {
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
      const ada = h.user('conv-q');
      await ada.sayAndWait('agent');
      expect(h.channel.texts('conv-q')).to.deep.equal([
        'Connecting you to a human agent…',
        'All our agents are busy right now. Stay here: an agent will answer as soon as one is free.',
      ]);
      const [requestId] = requestIds();
      expect(h.standin.request(requestId!)!.status).to.equal(100);
      await ada.sayAndWait('hello?');
      expect(h.channel.texts('conv-q')).to.have.length(2); // suppressed while queued

      h.standin.setAgentAvailable(ANNA, true);
      h.standin.routeQueued(requestId!);
      await h.settle();
      expect(h.channel.texts('conv-q').slice(2)).to.deep.equal(['Anna Rossi has joined the chat.']);
    });

    it('routing refused for good: the user is told, the bot gets handoff.status failed and answers again', async () => {
      h = await start();
      const bot = h;
      h.standin.injectFault({ method: 'PUT', path: /\/agent$/, status: 403, times: 5 });
      const ada = h.user('conv-f');
      await ada.sayAndWait('human');
      expect(h.channel.texts('conv-f')).to.deep.equal([
        'Connecting you to a human agent…',
        "Sorry, I couldn't reach a human agent right now. You can keep chatting with me.",
      ]);
      expect(bot.events.map((e) => (e.value as { state: string }).state)).to.deep.equal(['failed']);
      expect((bot.events[0]!.value as { message: string }).message).to.match(
        /PUT .*\/agent failed \(403\)/,
      );
      expect(h.errors.map((e) => e.code)).to.deep.equal(['TILEDESK_HTTP']);
      await ada.sayAndWait('still there?');
      expect(h.channel.texts('conv-f').at(-1)).to.equal('Echo: still there?');
    });

    it('recognizer intent at or above the minimum score starts a handoff; below does not', async () => {
      let score = 0.4;
      h = await start({
        recognize: async () => ({ Handoff: { score }, None: { score: 0.1 } }),
      });
      const ada = h.user('conv-r');
      await ada.sayAndWait('can someone call me');
      expect(h.channel.texts('conv-r')).to.deep.equal(['Echo: can someone call me']);
      score = 0.8;
      await ada.sayAndWait('can someone call me');
      expect(h.channel.texts('conv-r').slice(1, 3)).to.deep.equal([
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
      ]);
      const request = h.standin.request(requestIds()[0]!)!;
      expect(request.attributes['bf_handoff']).to.deep.include({
        trigger: 'intent',
        intent: 'Handoff',
        score: 0.8,
      });
    });

    it('handoff.initiate sent by the bot starts a handoff and is not forwarded to the channel', async () => {
      h = await start({
        logic: async (turn) => {
          if (turn.activity.type !== 'message') return;
          await turn.send('Let me get you someone from billing.');
          await turn.initiateHandoff({ skill: 'billing' });
        },
      });
      const ada = h.user('conv-e');
      await ada.sayAndWait('my invoice is wrong');
      expect(h.channel.activities('conv-e').map((a) => a.type)).to.not.include('event');
      expect(h.channel.texts('conv-e')).to.deep.equal([
        'Let me get you someone from billing.',
        'Anna Rossi has joined the chat.',
      ]);
      const request = h.standin.request(requestIds()[0]!)!;
      expect(request.attributes['bf_handoff']).to.deep.include({
        trigger: 'event',
        context: { skill: 'billing' },
      });
    });

    it('the programmatic handoff() starts a handoff', async () => {
      h = await start({
        logic: async (turn) => {
          if (turn.activity.type === 'message') await turn.handoff({ reason: 'vip' });
        },
      });
      await h.user('conv-a').sayAndWait('hello');
      expect(h.channel.texts('conv-a')).to.deep.equal([
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
      ]);
      const mirrored = h.standin.messages(requestIds()[0]!).map((m) => m.text);
      expect(mirrored.filter((t) => t === 'Connecting you to a human agent…')).to.have.length(1);
      expect(h.standin.request(requestIds()[0]!)!.attributes['bf_handoff']).to.deep.include({
        trigger: 'api',
        context: { reason: 'vip' },
      });
    });

    it('TiledeskHandoffMethod=command posts the hidden \\agent and accepts when the agent joins', async () => {
      h = await start({ settings: { TiledeskHandoffMethod: 'command' } });
      await h.user('conv-c').sayAndWait('human');
      await h.settle();
      const [requestId] = requestIds();
      const command = h.standin.messages(requestId!).find((m) => m.text === '\\agent');
      expect(command?.attributes).to.deep.include({ subtype: 'info' });
      expect(h.standin.request(requestId!)!.status).to.equal(200);
      expect(h.channel.texts('conv-c')).to.deep.equal([
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
      ]);
    });
  });
