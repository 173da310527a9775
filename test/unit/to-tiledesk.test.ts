import { expect } from 'chai';
import { THUMBNAIL } from '../../lib/core/content/cards';
import { MIRROR_MARK, toTiledeskMessages } from '../../lib/core/to-tiledesk';
import type { ChatActivity, ChatAttachment } from '../../lib/core/types';
import type { OutgoingMessage } from '../../lib/tiledesk/wire';
import { readmeRows } from '../support/readme-table';

const LOOKALIKE = '\u29F5'; // ⧵ REVERSE SOLIDUS OPERATOR
const ZWSP = '\u200B';

const HERO = 'application/vnd.microsoft.card.hero';
const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';
const msg = (fields: Partial<ChatActivity>): ChatActivity => ({ type: 'message', ...fields });
const template = (buttons: unknown[]) => ({ attachment: { type: 'template', buttons } });

const pizza = (name: string, image?: string): ChatAttachment => ({
  contentType: HERO,
  content: {
    title: `Pizza ${name}`,
    subtitle: 'Large',
    ...(image && { images: [{ url: image }] }),
    buttons: [
      { type: 'imBack', title: 'Order', value: `order ${name}` },
      { type: 'openUrl', title: 'Menu', value: 'https://acme.example/menu' },
    ],
  },
});
const ORDER_MENU = [
  { type: 'text', value: 'Order' },
  { type: 'url', value: 'Menu', link: 'https://acme.example/menu', target: 'blank' },
];

/** The README's "User or bot → Tiledesk" table, row by row (same order, same names). */
const ROWS: { form: string; input: Partial<ChatActivity>; expected: OutgoingMessage[] }[] = [
  {
    form: 'text',
    input: { text: 'Hi, I need help with my order' },
    expected: [{ text: 'Hi, I need help with my order' }],
  },
  {
    form: 'text with `\\agent` or `${KEY}`',
    input: { text: 'now ${X} \\agent' },
    expected: [{ text: `now $${ZWSP}{X} ${LOOKALIKE}agent` }],
  },
  {
    form: 'image attachment (URL)',
    input: {
      attachments: [
        {
          contentType: 'image/png',
          contentUrl: 'https://cdn.example/u/1/photo.png',
          name: 'photo.png',
        },
      ],
    },
    expected: [
      {
        type: 'image',
        text: 'photo.png',
        metadata: {
          src: 'https://cdn.example/u/1/photo.png',
          name: 'photo.png',
          type: 'image/png',
        },
      },
    ],
  },
  {
    form: 'file, audio or video attachment (URL)',
    input: {
      attachments: [
        {
          contentType: 'application/pdf',
          contentUrl: 'https://files.example/invoice-42.pdf',
          name: 'Invoice 42.pdf',
          content: { size: 52_340 },
        },
        { contentType: 'audio/ogg', contentUrl: 'https://files.example/v/voice.ogg' },
      ],
    },
    expected: [
      {
        type: 'file',
        text: '[Invoice 42.pdf](https://files.example/invoice-42.pdf)',
        metadata: {
          src: 'https://files.example/invoice-42.pdf',
          name: 'Invoice 42.pdf',
          type: 'application/pdf',
          size: 52_340,
        },
      },
      {
        type: 'file',
        text: '[voice.ogg](https://files.example/v/voice.ogg)',
        metadata: {
          src: 'https://files.example/v/voice.ogg',
          name: 'voice.ogg',
          type: 'audio/ogg',
        },
      },
    ],
  },
  {
    form: 'attachment without URL (inline `data:`)',
    input: {
      attachments: [
        {
          contentType: 'image/png',
          contentUrl: 'DATA:image/png;base64,iVBORw0KGgo=',
          name: 'p.png',
        },
        { contentType: 'application/vnd.acme.custom', content: { a: 1 } },
      ],
    },
    expected: [{ text: '[p.png]\n\n[application/vnd.acme.custom]' }],
  },
  {
    form: 'hero/thumbnail card with an image',
    input: { text: 'Today:', attachments: [pizza('Margherita', 'https://img.example/m.png')] },
    expected: [
      { text: 'Today:' },
      {
        type: 'image',
        text: 'Pizza Margherita\nLarge\n\n[Order] [Menu]',
        metadata: { src: 'https://img.example/m.png' },
        attributes: template(ORDER_MENU),
      },
    ],
  },
  {
    form: 'hero/thumbnail card without image',
    input: { attachments: [{ ...pizza('Diavola'), contentType: THUMBNAIL }] },
    expected: [
      { text: 'Pizza Diavola\nLarge\n\n[Order] [Menu]', attributes: template(ORDER_MENU) },
    ],
  },
  {
    form: 'carousel of hero/thumbnail cards',
    input: {
      text: 'Our pizzas',
      attachmentLayout: 'carousel',
      attachments: [pizza('Margherita', 'https://img.example/m.png'), pizza('${X} Diavola')],
    },
    expected: [
      { text: 'Our pizzas' },
      {
        type: 'gallery',
        text:
          'Pizza Margherita\nLarge\n[Order] [Menu]\n\n' +
          `Pizza $${ZWSP}{X} Diavola\nLarge\n[Order] [Menu]`,
        attributes: {
          attachment: {
            type: 'gallery',
            gallery: [
              {
                preview: { src: 'https://img.example/m.png' },
                title: 'Pizza Margherita',
                description: 'Large',
                buttons: ORDER_MENU,
              },
              {
                preview: { src: '' },
                title: `Pizza $${ZWSP}{X} Diavola`,
                description: 'Large',
                buttons: ORDER_MENU,
              },
            ],
          },
        },
      },
    ],
  },
  {
    form: 'button imBack/postBack/messageBack',
    input: {
      attachments: [
        {
          contentType: HERO,
          content: {
            buttons: [
              { type: 'imBack', value: 'yes' },
              { type: 'postBack', title: 'Later \\agent', value: { id: 7 } },
              { type: 'messageBack', text: 'no', displayText: 'No thanks', value: { no: 1 } },
              { type: 'postBack', value: { id: 8 } },
            ],
          },
        },
      ],
    },
    expected: [
      {
        text: `[yes] [Later ${LOOKALIKE}agent] [No thanks] [postBack]`,
        attributes: template([
          { type: 'text', value: 'yes' },
          { type: 'text', value: `Later ${LOOKALIKE}agent` },
          { type: 'text', value: 'No thanks' },
          { type: 'text', value: 'postBack' },
        ]),
      },
    ],
  },
  {
    form: 'button openUrl/signin/downloadFile',
    input: {
      suggestedActions: {
        actions: [
          { type: 'openUrl', title: 'Docs', value: 'https://docs.example/' },
          { type: 'signin', title: 'Sign in', value: 'https://login.example/' },
          { type: 'downloadFile', value: 'https://files.example/a.pdf' },
        ],
      },
    },
    expected: [
      {
        text: '[Docs] [Sign in] [https://files.example/a.pdf]',
        attributes: template([
          { type: 'url', value: 'Docs', link: 'https://docs.example/', target: 'blank' },
          { type: 'url', value: 'Sign in', link: 'https://login.example/', target: 'blank' },
          {
            type: 'url',
            value: 'https://files.example/a.pdf',
            link: 'https://files.example/a.pdf',
            target: 'blank',
          },
        ]),
      },
    ],
  },
  {
    form: 'Adaptive Card',
    input: {
      text: 'Here:',
      attachments: [
        {
          contentType: ADAPTIVE,
          content: {
            type: 'AdaptiveCard',
            body: [
              { type: 'Image', url: 'https://img.example/logo.png' },
              { type: 'TextBlock', text: 'Order A-1042', weight: 'bolder' },
              { type: 'TextBlock', text: 'hidden', isVisible: false },
              {
                type: 'FactSet',
                facts: [
                  { title: 'Status', value: 'Shipped' },
                  { title: 'ETA', value: 'Friday' },
                ],
              },
              {
                type: 'RichTextBlock',
                inlines: ['Call ', { type: 'TextRun', text: 'us', weight: 'bolder' }],
              },
              {
                type: 'Container',
                items: [
                  {
                    type: 'ColumnSet',
                    columns: [
                      { type: 'Column', items: [{ type: 'TextBlock', text: 'Left' }] },
                      { type: 'Column', items: [{ type: 'TextBlock', text: 'Right' }] },
                    ],
                  },
                ],
              },
              { type: 'Input.Text', id: 'note', label: 'Your note' },
              {
                type: 'ActionSet',
                actions: [{ type: 'Action.Submit', title: 'Cancel order', data: { a: 1 } }],
              },
            ],
            actions: [
              { type: 'Action.OpenUrl', title: 'Track', url: 'https://track.example/A-1042' },
              { type: 'Action.ShowCard', title: 'More', card: { type: 'AdaptiveCard' } },
              { type: 'Action.ToggleVisibility', title: 'Toggle' },
            ],
          },
        },
      ],
    },
    expected: [
      {
        text:
          'Here:\n\nOrder A-1042\nStatus: Shipped\nETA: Friday\nCall us\nLeft\nRight\nYour note' +
          '\n\n[Cancel order] [Track] [More]',
        attributes: template([
          { type: 'text', value: 'Cancel order' },
          { type: 'url', value: 'Track', link: 'https://track.example/A-1042', target: 'blank' },
          { type: 'text', value: 'More' },
        ]),
      },
    ],
  },
  {
    form: 'Adaptive Card that is only an image',
    input: {
      attachments: [
        {
          contentType: ADAPTIVE,
          content: {
            body: [{ type: 'Image', url: 'https://img.example/map.png', altText: 'Map' }],
          },
        },
      ],
    },
    expected: [{ type: 'image', text: 'Map', metadata: { src: 'https://img.example/map.png' } }],
  },
  {
    form: 'Adaptive Card with nothing readable',
    input: {
      attachments: [
        { contentType: ADAPTIVE, content: { body: [], speak: '<s>Your order <b>shipped</b></s>' } },
        {
          contentType: ADAPTIVE,
          content: { body: [{ type: 'Unknown' }], fallbackText: 'Old client' },
        },
      ],
    },
    expected: [{ text: 'Your order shipped\n\nOld client' }],
  },
  {
    form: 'receipt card',
    input: {
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.receipt',
          content: {
            title: 'John Smith',
            facts: [{ key: 'Order', value: 'A-1042' }],
            items: [
              { title: 'Margherita', price: '€9', quantity: 2 },
              { title: 'Delivery', price: '€2' },
            ],
            tax: '€1',
            total: '€21',
            buttons: [{ type: 'openUrl', title: 'Invoice', value: 'https://acme.example/i/1' }],
          },
        },
      ],
    },
    expected: [
      {
        text: 'John Smith\nOrder: A-1042\n2 × Margherita: €9\nDelivery: €2\nTax: €1\nTotal: €21\n\n[Invoice]',
        attributes: template([
          { type: 'url', value: 'Invoice', link: 'https://acme.example/i/1', target: 'blank' },
        ]),
      },
    ],
  },
  {
    form: 'sign-in / OAuth card',
    input: {
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.oauth',
          content: {
            text: 'Please sign in',
            connectionName: 'aad',
            buttons: [{ type: 'signin', title: 'Sign in', value: 'https://login.example/x' }],
          },
        },
      ],
    },
    expected: [
      {
        text: 'Please sign in\n\n[Sign in]',
        attributes: template([
          { type: 'url', value: 'Sign in', link: 'https://login.example/x', target: 'blank' },
        ]),
      },
    ],
  },
  {
    form: 'animation/audio/video card',
    input: {
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.video',
          content: { title: 'How to order', media: [{ url: 'https://video.example/o.mp4' }] },
        },
        { contentType: 'application/vnd.microsoft.card.audio', content: {} },
      ],
    },
    expected: [{ text: 'How to order\nhttps://video.example/o.mp4\n\n[audio]' }],
  },
  {
    form: 'suggested actions',
    input: {
      text: 'Pick a colour',
      suggestedActions: {
        to: ['user-1'],
        actions: [
          { type: 'imBack', title: 'Red', value: 'red' },
          { type: 'imBack', value: 'blue' },
        ],
      },
    },
    expected: [
      {
        text: 'Pick a colour\n\n[Red] [blue]',
        attributes: template([
          { type: 'text', value: 'Red' },
          { type: 'text', value: 'blue' },
        ]),
      },
    ],
  },
  {
    form: 'Adaptive Card submit (value, no text)',
    input: { value: { email: 'ada@example.com', newsletter: true, nested: { x: 1 } } },
    expected: [{ text: 'email: ada@example.com\nnewsletter: true' }],
  },
  {
    form: "click on an agent's action button",
    input: { text: 'Talk to sales', value: { tiledesk: { action: '#sales' } } },
    expected: [{ text: 'Talk to sales', attributes: { action: '#sales' } }],
  },
  {
    form: 'same, button with `show_echo: false`',
    input: { text: 'Next', value: { tiledesk: { action: '#next', show_echo: false } } },
    expected: [{ text: 'Next', attributes: { action: '#next', subtype: 'info' } }],
  },
  {
    form: 'nothing readable',
    input: {},
    expected: [{ text: ' ' }],
  },
];

describe('toTiledeskMessages: the README table', () => {
  for (const row of ROWS) {
    it(row.form, () => {
      expect(toTiledeskMessages(msg(row.input))).to.deep.equal(row.expected);
    });
  }

  it('has a case for every README row, and a README row for every case', () => {
    expect(ROWS.map((r) => r.form)).to.deep.equal(readmeRows('User or bot → Tiledesk'));
  });
});

describe('toTiledeskMessages: invariants', () => {
  it('does not add the mirror mark itself (the mirror does, see MIRROR_MARK)', () => {
    expect(MIRROR_MARK).to.equal('bf_mirror');
    const [first] = toTiledeskMessages(msg({ text: 'x' }));
    expect(first?.attributes).to.equal(undefined);
  });

  it('puts the text message first, then the other messages in attachment order', () => {
    const out = toTiledeskMessages(
      msg({
        text: 'Here are the documents',
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://cdn.example/1.png' },
          pizza('A', 'https://img.example/a.png'),
          { contentType: 'application/pdf', contentUrl: 'https://cdn.example/2.pdf' },
        ],
      }),
    );
    expect(out.map((m) => [m.type, m.text])).to.deep.equal([
      [undefined, 'Here are the documents'],
      ['image', 'Image attached'],
      ['image', 'Pizza A\nLarge\n\n[Order] [Menu]'],
      ['file', '[2.pdf](https://cdn.example/2.pdf)'],
    ]);
  });

  it('a single hero card is no carousel; a carousel keeps other cards out of the gallery', () => {
    const one = toTiledeskMessages(
      msg({ attachmentLayout: 'carousel', attachments: [pizza('A', 'https://i.example/a')] }),
    );
    expect(one.map((m) => m.type)).to.deep.equal(['image']);
    const mixed = toTiledeskMessages(
      msg({
        attachmentLayout: 'carousel',
        attachments: [
          { contentType: ADAPTIVE, content: { body: [{ type: 'TextBlock', text: 'Menu' }] } },
          pizza('A'),
          pizza('B'),
        ],
      }),
    );
    expect(mixed.map((m) => [m.type, m.text.split('\n')[0]])).to.deep.equal([
      [undefined, 'Menu'],
      ['gallery', 'Pizza A'],
    ]);
  });

  it('a file URL ending in "/" gets the fallback name "file"', () => {
    const [file] = toTiledeskMessages(
      msg({
        attachments: [{ contentType: 'application/pdf', contentUrl: 'https://f.example/dl/' }],
      }),
    );
    expect(file?.metadata).to.deep.equal({
      src: 'https://f.example/dl/',
      name: 'file',
      type: 'application/pdf',
    });
  });

  it('whitespace-only text with an image yields only the image message', () => {
    const out = toTiledeskMessages(
      msg({
        text: '   ',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://cdn.example/z.png' }],
      }),
    );
    expect(out.map((m) => m.type)).to.deep.equal(['image']);
  });

  it('never an empty text, never a data: URL, never a live command, whatever the input', () => {
    const inputs: Partial<ChatActivity>[] = [
      ...ROWS.map((r) => r.input),
      { text: '' },
      { attachments: [{ contentType: 'image/png', contentUrl: 'https://c.example/' }] },
      { attachments: [{ contentType: HERO, content: {} }] },
      {
        attachments: [
          { contentType: HERO, content: { images: [{ url: 'data:image/png;base64,AA' }] } },
        ],
      },
      { attachments: [{ contentType: ADAPTIVE, content: null }] },
      { attachments: [{ contentType: 'application/vnd.microsoft.card.signin', content: 'x' }] },
      { suggestedActions: { actions: [] } },
      { value: { tiledesk: { action: '' } } },
    ];
    for (const input of inputs) {
      for (const m of toTiledeskMessages(msg(input))) {
        const json = JSON.stringify(m);
        expect(m.text.trim() || m.text, json).to.not.equal('');
        expect(json).not.to.match(/base64|\$\{/);
        expect(json).not.to.match(/\\\\(agent|close)/i);
      }
    }
  });
});
