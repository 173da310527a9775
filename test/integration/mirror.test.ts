import { expect } from 'chai';
import { BINDINGS } from '../support/bindings';
import { startHarness as startAny, type Harness, type HarnessOptions } from '../support/harness';

for (const binding of BINDINGS) {
  const startHarness = (options: HarnessOptions = {}) => startAny({ binding, ...options });

  describe(`mirroring (CloudAdapter + restify + fake channel + Tiledesk stand-in) [${binding}]`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());

    function mirrored(requestId: string) {
      return h.standin
        .messages(requestId)
        .filter((m) => m.sender !== 'system')
        .map((m) => ({ sender: m.sender, name: m.senderFullname, text: m.text }));
    }

    function onlyRequest() {
      const ids = [...h.standin.requests.keys()];
      expect(ids).to.have.length(1);
      return h.standin.request(ids[0]!)!;
    }

    it('mirrors a 3-turn conversation in order into one status-50 request', async () => {
      h = await startHarness();
      const ada = h.user('conv-1', 'user-1', 'Ada Lovelace');
      for (const text of ['hello', 'where is my order?', 'thanks']) await ada.sayAndWait(text);

      expect(h.channel.texts('conv-1')).to.deep.equal([
        'Echo: hello',
        'Echo: where is my order?',
        'Echo: thanks',
      ]);
      const request = onlyRequest();
      expect(request.request_id).to.match(
        new RegExp(`^support-group-${h.standin.projectId}-[0-9a-f]{32}$`),
      );
      expect(request.status).to.equal(50);
      expect(request.channel).to.deep.include({ name: 'botframework' });
      const messages = mirrored(request.request_id);
      const userId = messages[0]!.sender;
      expect(userId).to.match(new RegExp(`^${h.standin.projectId}_webchat_[0-9a-f]{24}$`));
      const botId = messages[1]!.sender;
      expect(botId).to.match(/^bot_[0-9a-f]{24}$/);
      expect(messages).to.deep.equal([
        { sender: userId, name: 'Ada Lovelace', text: 'hello' },
        { sender: botId, name: 'Echo Bot', text: 'Echo: hello' },
        { sender: userId, name: 'Ada Lovelace', text: 'where is my order?' },
        { sender: botId, name: 'Echo Bot', text: 'Echo: where is my order?' },
        { sender: userId, name: 'Ada Lovelace', text: 'thanks' },
        { sender: botId, name: 'Echo Bot', text: 'Echo: thanks' },
      ]);
      expect(request.attributes).to.deep.include({
        bf_channel: 'webchat',
        bf_conversation: 'conv-1',
      });
      expect(h.errors).to.deep.equal([]);
    });
  });

  describe(`mirroring: ordering, failures and content [${binding}]`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());

    const texts = (requestId: string) =>
      h.standin
        .messages(requestId)
        .filter((m) => m.sender !== 'system')
        .map((m) => m.text);
    const requestOf = (conversationId: string) =>
      [...h.standin.requests.values()].find(
        (r) => r.attributes['bf_conversation'] === conversationId,
      )!;

    it('keeps two interleaved conversations separate and ordered', async () => {
      h = await startHarness();
      const a = h.user('conv-a', 'user-a', 'Alice');
      const b = h.user('conv-b', 'user-b', 'Bob');
      const sends: Promise<unknown>[] = [];
      for (let i = 1; i <= 5; i++) {
        sends.push(a.say(h.bot.messagesUrl, `a${i}`), b.say(h.bot.messagesUrl, `b${i}`));
        await Promise.all(sends.splice(0));
      }
      await h.settle();
      expect(h.standin.requests.size).to.equal(2);
      const expected = (p: string) =>
        [1, 2, 3, 4, 5].flatMap((i) => [`${p}${i}`, `Echo: ${p}${i}`]);
      expect(texts(requestOf('conv-a').request_id)).to.deep.equal(expected('a'));
      expect(texts(requestOf('conv-b').request_id)).to.deep.equal(expected('b'));
    });

    it('mirrors what was sent before the bot threw, and the user message', async () => {
      h = await startHarness({
        logic: async (turn) => {
          if (turn.activity.type !== 'message') return;
          await turn.send('first part');
          throw new Error('bot bug');
        },
      });
      await h.user('conv-t').sayAndWait('trigger the bug');
      // onTurnError of the test server records the error; the sample's would apologise.
      expect(h.bot.errors.map((e) => e.message)).to.deep.equal(['bot bug']);
      expect(texts(requestOf('conv-t').request_id)).to.deep.equal([
        'trigger the bug',
        'first part',
      ]);
    });

    it('retries after Tiledesk answers 500 and 503: nothing lost, order kept, the bot unaffected', async () => {
      h = await startHarness();
      h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 500, times: 2 });
      h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 503, times: 1 });
      const u = h.user('conv-500');
      const reply = await u.say(h.bot.messagesUrl, 'one');
      expect(reply.status).to.equal(200);
      await u.sayAndWait('two');
      expect(h.channel.texts('conv-500')).to.deep.equal(['Echo: one', 'Echo: two']);
      expect(texts(requestOf('conv-500').request_id)).to.deep.equal([
        'one',
        'Echo: one',
        'two',
        'Echo: two',
      ]);
      expect(h.errors).to.deep.equal([]);
    });

    it('reports a message Tiledesk refuses for good (4xx) to onError, never to the turn', async () => {
      h = await startHarness();
      h.standin.injectFault({ method: 'POST', path: /\/messages$/, status: 400, times: 1 });
      const r = await h.user('conv-400').say(h.bot.messagesUrl, 'refused');
      expect(r.status).to.equal(200);
      await h.settle();
      expect(h.channel.texts('conv-400')).to.deep.equal(['Echo: refused']);
      expect(h.errors.map((e) => e.code)).to.deep.equal(['TILEDESK_MIRROR_GAVE_UP']);
      expect(h.errors[0]!.message).to.not.match(/eyJ|JWT /); // no token in errors
    });

    it('mirrors images and files as Tiledesk image/file messages and cards as text', async () => {
      h = await startHarness({
        logic: async (turn) => {
          if (turn.activity.type !== 'message') return;
          await turn.send({
            attachments: [
              {
                contentType: 'application/vnd.microsoft.card.hero',
                content: {
                  title: 'Your order',
                  text: 'Shipped today',
                  buttons: [{ type: 'imBack', title: 'Track it', value: 'track' }],
                },
              },
            ],
          });
        },
      });
      const u = h.user('conv-att');
      await u.send(h.bot.messagesUrl, {
        text: 'here is the photo',
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://cdn.example/p.png', name: 'p.png' },
          {
            contentType: 'application/pdf',
            contentUrl: 'https://cdn.example/invoice.pdf',
            name: 'invoice.pdf',
          },
        ],
      });
      await h.settle();
      const messages = h.standin
        .messages(requestOf('conv-att').request_id)
        .filter((m) => m.sender !== 'system');
      expect(messages.map((m) => [m.type, m.text])).to.deep.equal([
        ['text', 'here is the photo'],
        ['image', 'p.png'],
        ['file', '[invoice.pdf](https://cdn.example/invoice.pdf)'],
        ['text', 'Your order\nShipped today\n\n[Track it]'],
      ]);
      expect(messages[1]!.metadata).to.deep.include({
        src: 'https://cdn.example/p.png',
        type: 'image/png',
      });
      expect(messages[2]!.metadata).to.deep.include({
        src: 'https://cdn.example/invoice.pdf',
        name: 'invoice.pdf',
      });
      expect(messages[3]!.attributes?.['attachment']).to.deep.equal({
        type: 'template',
        buttons: [{ type: 'text', value: 'Track it' }],
      });
    });

    it('neutralises user text Tiledesk would execute (\\agent, \\close, ${label})', async () => {
      h = await startHarness({
        standin: { labels: { PROMO: 'replaced!' } },
        settings: { TiledeskHandoffKeywords: 'nobodysaysthis' },
      });
      const u = h.user('conv-n');
      await u.sayAndWait('please \\agent');
      await u.sayAndWait('bye \\close');
      await u.sayAndWait('code ${PROMO}');
      const request = requestOf('conv-n');
      expect(request.status).to.equal(50); // neither routed nor closed
      expect(texts(request.request_id).filter((_t, i) => i % 2 === 0)).to.deep.equal([
        'please \u29F5agent',
        'bye \u29F5close',
        'code $\u200B{PROMO}',
      ]);
    });

    it('never makes the user wait for Tiledesk: the reply goes out while the mirror post is held', async () => {
      h = await startHarness();
      const gate = h.standin.hold({ method: 'POST', path: /\/messages$/ });
      const u = h.user('conv-gate');
      const reply = await u.say(h.bot.messagesUrl, 'quick?');
      expect(reply.status).to.equal(200);
      expect(h.channel.texts('conv-gate')).to.deep.equal(['Echo: quick?']);
      await gate.waitForPending(1);
      expect(gate.pending).to.equal(1); // the mirror post is still waiting at the gate
      expect(h.standin.requests.size).to.equal(0);
      gate.release();
      await h.settle();
      expect(texts(requestOf('conv-gate').request_id)).to.deep.equal(['quick?', 'Echo: quick?']);
    });

    it('does not mirror typing, events or conversationUpdate, only the bot messages they cause', async () => {
      h = await startHarness();
      const u = h.user('conv-types');
      await u.send(h.bot.messagesUrl, { type: 'typing' });
      await u.send(h.bot.messagesUrl, { type: 'event', name: 'custom' });
      await u.send(h.bot.messagesUrl, {
        type: 'conversationUpdate',
        membersAdded: [{ id: 'user-1', name: 'Ada' }],
      });
      await h.settle();
      expect(h.standin.requests.size).to.equal(0);
    });
  });
}
