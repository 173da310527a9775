import { expect } from 'chai';
import { BINDINGS, type TestLogic } from '../support/bindings';
import { startHarness, type Harness } from '../support/harness';

/** Rich content both ways, end to end (README "What each message becomes"). */

const hero = (title: string, image: string) => ({
  contentType: 'application/vnd.microsoft.card.hero',
  content: {
    title,
    images: [{ url: image }],
    buttons: [{ type: 'imBack', title: 'Choose', value: `choose ${title}` }],
  },
});

/** An echo bot that answers "menu" with a carousel of two hero cards. */
const carouselBot: TestLogic = async (turn) => {
  if (turn.activity.type !== 'message') return;
  if (turn.activity.text !== 'menu') return turn.send(`Echo: ${turn.activity.text ?? ''}`);
  await turn.send({
    text: 'Our plans',
    attachmentLayout: 'carousel',
    attachments: [
      hero('Basic', 'https://img.example/b.png'),
      hero('Pro', 'https://img.example/p.png'),
    ],
  });
};

for (const binding of BINDINGS)
  describe(`rich content [${binding}] (CloudAdapter + restify + fake channel + Tiledesk stand-in)`, () => {
    let h: Harness;
    afterEach(async () => h?.stop());

    const onlyRequestId = () => {
      const ids = [...h.standin.requests.keys()];
      expect(ids).to.have.length(1);
      return ids[0]!;
    };

    it("the bot's hero card carousel reaches Tiledesk as a gallery", async () => {
      h = await startHarness({ binding, logic: carouselBot });
      const ada = h.user('conv-c', 'user-1', 'Ada Lovelace');
      await ada.sayAndWait('menu');

      const sent = h.channel.activities('conv-c').at(-1)!.activity;
      expect(sent['attachmentLayout']).to.equal('carousel');
      const messages = h.standin.messages(onlyRequestId());
      const gallery = messages.find((m) => m.type === 'gallery');
      expect(gallery, JSON.stringify(messages)).to.not.equal(undefined);
      expect(gallery!.attributes?.['attachment']).to.deep.equal({
        type: 'gallery',
        gallery: ['Basic', 'Pro'].map((title) => ({
          preview: { src: `https://img.example/${title[0]!.toLowerCase()}.png` },
          title,
          description: '',
          buttons: [{ type: 'text', value: 'Choose' }],
        })),
      });
      expect(gallery!.text).to.equal('Basic\n[Choose]\n\nPro\n[Choose]');
      // The activity's own text comes first, as its own message.
      expect(messages.map((m) => m.text)).to.include.ordered.members(['menu', 'Our plans']);
      expect(h.errors).to.deep.equal([]);
    });

    it("an agent's gallery reaches the user as a carousel; its action button comes back with attributes.action", async () => {
      h = await startHarness({ binding, logic: carouselBot });
      const ada = h.user('conv-g', 'user-1', 'Ada Lovelace');
      await ada.sayAndWait('I want to talk to a human please');
      const requestId = onlyRequestId();
      expect(h.standin.request(requestId)!.status).to.equal(200);

      h.standin.agentReply(requestId, 'Which plan?', {
        type: 'gallery',
        attributes: {
          attachment: {
            type: 'gallery',
            gallery: [
              {
                preview: { src: 'https://img.example/b.png' },
                title: 'Basic',
                description: '9 € a month',
                buttons: [
                  { type: 'action', value: 'Talk to sales', action: '#sales', show_echo: true },
                ],
              },
              { preview: { src: '' }, title: 'Pro', description: '19 € a month', buttons: [] },
            ],
          },
        },
      });
      await h.settle();
      const received = h.channel.activities('conv-g').at(-1)!.activity;
      expect(received['attachmentLayout']).to.equal('carousel');
      const cards = received['attachments'] as {
        contentType: string;
        content: Record<string, unknown>;
      }[];
      expect(
        cards.map((c) => [c.contentType, c.content['title'], c.content['text']]),
      ).to.deep.equal([
        ['application/vnd.microsoft.card.hero', 'Basic', '9 € a month'],
        ['application/vnd.microsoft.card.hero', 'Pro', '19 € a month'],
      ]);
      const [button] = cards[0]!.content['buttons'] as {
        type: string;
        text: string;
        value: unknown;
      }[];
      expect(button!.type).to.equal('messageBack');

      // The user clicks it: the channel sends the messageBack's text and value.
      const r = await ada.say(h.bot.messagesUrl, button!.text, { value: button!.value });
      expect(r.status).to.equal(200);
      await h.settle();
      const click = h.standin.messages(requestId).at(-1)!;
      expect(click.text).to.equal('Talk to sales');
      expect(click.attributes).to.deep.include({ action: '#sales' });
      expect(click.attributes).to.not.have.property('subtype'); // show_echo: the agent sees it
      expect(click.sender).to.not.equal('system');
      // With the agent, the bot stayed silent.
      expect(h.channel.texts('conv-g').filter((t) => t.startsWith('Echo'))).to.deep.equal([]);
      expect(h.errors).to.deep.equal([]);
    });

    it("a Tiledesk bot's commands reach the user in order; a hidden action click stays hidden", async () => {
      h = await startHarness({ binding, logic: carouselBot });
      const ada = h.user('conv-x', 'user-1', 'Ada Lovelace');
      await ada.sayAndWait('I want to talk to a human please');
      const requestId = onlyRequestId();
      const before = h.channel.activities('conv-x').length;

      h.standin.agentReply(requestId, 'Hello! Ready?', {
        attributes: {
          commands: [
            { type: 'message', message: { type: 'text', text: 'Hello!' } },
            { type: 'wait', time: 500 },
            {
              type: 'message',
              message: {
                type: 'text',
                text: 'Ready?',
                attributes: {
                  attachment: {
                    type: 'template',
                    buttons: [
                      { type: 'action', value: 'Go', action: '#go', show_echo: false },
                      { type: 'url', value: 'Terms', link: 'https://acme.example/terms' },
                    ],
                  },
                },
              },
            },
          ],
        },
      });
      await h.settle();
      const received = h.channel.activities('conv-x').slice(before);
      expect(received.map((a) => a.activity['text'])).to.deep.equal([
        'Anna Rossi: Hello!',
        'Ready?',
      ]);
      const actions = (received[1]!.activity['suggestedActions'] as { actions: unknown[] }).actions;
      expect(actions).to.deep.equal([
        {
          type: 'messageBack',
          title: 'Go',
          text: 'Go',
          value: { tiledesk: { action: '#go', show_echo: false } },
        },
        { type: 'openUrl', title: 'Terms', value: 'https://acme.example/terms' },
      ]);

      await ada.say(h.bot.messagesUrl, 'Go', {
        value: { tiledesk: { action: '#go', show_echo: false } },
      });
      await h.settle();
      const click = h.standin.messages(requestId).at(-1)!;
      expect([
        click.text,
        click.attributes?.['action'],
        click.attributes?.['subtype'],
      ]).to.deep.equal(['Go', '#go', 'info']);
      expect(h.errors).to.deep.equal([]);
    });
  });
