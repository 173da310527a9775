import { expect } from 'chai';
import { toUserActivities, toUserActivity } from '../../lib/core/to-activity';
import type { ChatActivity } from '../../lib/core/types';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';
import { readmeRows } from '../support/readme-table';
import { messagePayload, SCENARIO } from '../support/tiledesk-fixtures';

const AGENT_FIXTURE = 'message.create.request.channel.botframework--agent-message';

/** An agent message shaped like the fixture, with the given fields replaced. */
function agentMessage(fields: Partial<TiledeskMessage>): TiledeskMessage {
  return { ...messagePayload(AGENT_FIXTURE), ...fields };
}

const ANNA = { id: SCENARIO.agentId, name: 'Anna Rossi', role: 'agent' };

describe('toUserActivity', () => {
  it('maps the agent-message fixture to a text activity from the agent', () => {
    expect(toUserActivity(messagePayload(AGENT_FIXTURE))).to.deep.equal({
      type: 'message',
      from: ANNA,
      text: "Hi John, I'm Anna. Let me check order A-1042 for you.",
    });
  });

  const senderNames: { name: string; fields: Partial<TiledeskMessage>; expected: string }[] = [
    {
      name: 'senderFullname is the from.name',
      fields: { senderFullname: 'Marco Bianchi' },
      expected: 'Marco Bianchi',
    },
    {
      name: 'no senderFullname → "Agent"',
      fields: { senderFullname: undefined },
      expected: 'Agent',
    },
  ];
  for (const c of senderNames) {
    it(c.name, () => {
      expect(toUserActivity(agentMessage(c.fields)).from).to.deep.equal({
        ...ANNA,
        name: c.expected,
      });
    });
  }

  const cases: {
    name: string;
    fields: Partial<TiledeskMessage>;
    expected: Omit<ChatActivity, 'type' | 'from'>;
  }[] = [
    {
      name: 'image with the default caption → attachment only',
      fields: {
        type: 'image',
        text: 'Image attached',
        metadata: {
          src: 'https://cdn.example/a.png',
          type: 'image/png',
          name: 'a.png',
          width: 200,
        },
      },
      expected: {
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://cdn.example/a.png', name: 'a.png' },
        ],
      },
    },
    {
      name: 'image with a caption → attachment and text',
      fields: {
        type: 'image',
        text: 'The label',
        metadata: { src: 'https://cdn.example/b.jpg', type: 'image/jpeg' },
      },
      expected: {
        text: 'The label',
        attachments: [{ contentType: 'image/jpeg', contentUrl: 'https://cdn.example/b.jpg' }],
      },
    },
    {
      name: 'image without a mime type → image/png',
      fields: { type: 'image', text: '', metadata: { src: 'https://cdn.example/c' } },
      expected: {
        attachments: [{ contentType: 'image/png', contentUrl: 'https://cdn.example/c' }],
      },
    },
    {
      name: 'file with the markdown-link text → attachment only',
      fields: {
        type: 'file',
        text: '[invoice.pdf](https://files.example/invoice.pdf)',
        metadata: {
          src: 'https://files.example/invoice.pdf',
          name: 'invoice.pdf',
          type: 'application/pdf',
        },
      },
      expected: {
        attachments: [
          {
            contentType: 'application/pdf',
            contentUrl: 'https://files.example/invoice.pdf',
            name: 'invoice.pdf',
          },
        ],
      },
    },
    {
      name: 'file without a mime type → application/octet-stream, text kept',
      fields: { type: 'file', text: 'Your contract', metadata: { src: 'https://files.example/x' } },
      expected: {
        text: 'Your contract',
        attachments: [
          { contentType: 'application/octet-stream', contentUrl: 'https://files.example/x' },
        ],
      },
    },
    {
      name: 'image without metadata.src → text only',
      fields: { type: 'image', text: 'broken image', metadata: {} },
      expected: { text: 'broken image' },
    },
    {
      name: 'frame with text → text and link',
      fields: { type: 'frame', text: 'Book a slot', metadata: { src: 'https://cal.example/anna' } },
      expected: { text: 'Book a slot\n\nhttps://cal.example/anna' },
    },
    {
      name: 'frame without text → the link',
      fields: { type: 'frame', text: null, metadata: { src: 'https://cal.example/anna' } },
      expected: { text: 'https://cal.example/anna' },
    },
    {
      name: 'text type with a metadata.src → no attachment',
      fields: { type: 'text', text: 'just text', metadata: { src: 'https://cdn.example/a.png' } },
      expected: { text: 'just text' },
    },
    {
      name: 'metadata as the empty string (as in the fixture) → ignored',
      fields: { text: 'ok', metadata: '' },
      expected: { text: 'ok' },
    },
    {
      name: 'template buttons → suggested actions, in order; invalid buttons skipped',
      fields: {
        text: 'How can I help?',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'text', value: 'Track my order' },
              { type: 'url', value: 'FAQ', link: 'https://acme.example/faq', target: 'blank' },
              { type: 'action', value: 'Talk to sales', action: 'sales' },
              { type: 'text' },
              { type: 'url', value: 'No link' },
              { type: 'url', value: 'Script', link: 'javascript:alert(1)' },
              'not a button',
            ],
          },
        },
      },
      expected: {
        text: 'How can I help?',
        suggestedActions: {
          actions: [
            { type: 'imBack', title: 'Track my order', value: 'Track my order' },
            { type: 'openUrl', title: 'FAQ', value: 'https://acme.example/faq' },
            {
              type: 'messageBack',
              title: 'Talk to sales',
              text: 'Talk to sales',
              displayText: 'Talk to sales',
              value: { tiledesk: { action: 'sales' } },
            },
            { type: 'imBack', title: 'No link', value: 'No link' },
            { type: 'imBack', title: 'Script', value: 'Script' },
          ],
        },
      },
    },
    {
      name: 'attachment without buttons → no suggested actions',
      fields: { text: 'hi', attributes: { attachment: { type: 'template' } } },
      expected: { text: 'hi' },
    },
    {
      name: 'null attributes',
      fields: { text: 'hi', attributes: null },
      expected: { text: 'hi' },
    },
    {
      name: 'null text and no media → no text field',
      fields: { text: null },
      expected: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(toUserActivity(agentMessage(c.fields))).to.deep.equal({
        type: 'message',
        from: ANNA,
        ...c.expected,
      });
    });
  }
});

const img = (url: string) => ({ contentType: 'image/png', contentUrl: url });
const hero = (content: Record<string, unknown>) => ({
  contentType: 'application/vnd.microsoft.card.hero',
  content,
});
const SALES = { type: 'action', value: 'Talk to sales', action: '#sales', show_echo: true };
const SALES_CLICK = {
  type: 'messageBack',
  title: 'Talk to sales',
  text: 'Talk to sales',
  displayText: 'Talk to sales',
  value: { tiledesk: { action: '#sales' } },
};

/** The README's "Tiledesk → user" table, row by row (same order, same names). */
const ROWS: {
  form: string;
  fields: Partial<TiledeskMessage>;
  expected: Omit<ChatActivity, 'type' | 'from'>[];
}[] = [
  { form: '`text`', fields: { text: 'Hello' }, expected: [{ text: 'Hello' }] },
  {
    form: '`image` (+ caption)',
    fields: {
      type: 'image',
      text: 'Your parcel',
      metadata: { src: 'https://cdn.example/p.png', type: 'image/png', width: 20 },
    },
    expected: [{ text: 'Your parcel', attachments: [img('https://cdn.example/p.png')] }],
  },
  {
    form: '`file`',
    fields: {
      type: 'file',
      text: '[invoice.pdf](https://files.example/invoice.pdf)',
      metadata: {
        src: 'https://files.example/invoice.pdf',
        name: 'invoice.pdf',
        type: 'application/pdf',
      },
    },
    expected: [
      {
        attachments: [
          {
            contentType: 'application/pdf',
            contentUrl: 'https://files.example/invoice.pdf',
            name: 'invoice.pdf',
          },
        ],
      },
    ],
  },
  {
    form: '`frame`',
    fields: { type: 'frame', text: 'Book a slot', metadata: { src: 'https://cal.example/anna' } },
    expected: [{ text: 'Book a slot\n\nhttps://cal.example/anna' }],
  },
  {
    form: '`gallery`',
    fields: {
      type: 'gallery',
      text: 'Our plans',
      attributes: {
        attachment: {
          type: 'gallery',
          gallery: [
            {
              preview: { src: 'https://img.example/basic.png', uid: 'x1' },
              title: 'Basic',
              description: '9 € a month',
              buttons: [SALES, { type: 'text', value: 'Basic' }],
            },
            { preview: { src: '' }, title: 'Pro', description: '', buttons: [] },
            { preview: { src: '' }, title: '', description: '' },
          ],
        },
      },
    },
    expected: [
      {
        text: 'Our plans',
        attachmentLayout: 'carousel',
        attachments: [
          hero({
            title: 'Basic',
            text: '9 € a month',
            images: [{ url: 'https://img.example/basic.png' }],
            buttons: [SALES_CLICK, { type: 'imBack', title: 'Basic', value: 'Basic' }],
          }),
          hero({ title: 'Pro' }),
        ],
      },
    ],
  },
  {
    form: 'button `text`',
    fields: {
      text: 'Pick one',
      attributes: { attachment: { type: 'template', buttons: [{ type: 'text', value: 'Yes' }] } },
    },
    expected: [
      {
        text: 'Pick one',
        suggestedActions: { actions: [{ type: 'imBack', title: 'Yes', value: 'Yes' }] },
      },
    ],
  },
  {
    form: 'button `url`',
    fields: {
      text: 'See',
      attributes: {
        attachment: {
          buttons: [
            { type: 'url', value: 'FAQ', link: 'https://acme.example/faq', target: 'blank' },
          ],
        },
      },
    },
    expected: [
      {
        text: 'See',
        suggestedActions: {
          actions: [{ type: 'openUrl', title: 'FAQ', value: 'https://acme.example/faq' }],
        },
      },
    ],
  },
  {
    form: 'button `url` next to an image or gallery',
    fields: {
      type: 'image',
      text: 'Image attached',
      metadata: { src: 'https://cdn.example/m.png' },
      attributes: {
        attachment: {
          buttons: [
            { type: 'url', value: 'Open map', link: 'https://maps.example/x' },
            { type: 'text', value: 'Thanks' },
          ],
        },
      },
    },
    expected: [
      {
        attachments: [
          img('https://cdn.example/m.png'),
          hero({
            buttons: [{ type: 'openUrl', title: 'Open map', value: 'https://maps.example/x' }],
          }),
        ],
        suggestedActions: { actions: [{ type: 'imBack', title: 'Thanks', value: 'Thanks' }] },
      },
    ],
  },
  {
    form: 'button `action`',
    fields: { text: 'Anything else?', attributes: { attachment: { buttons: [SALES] } } },
    expected: [{ text: 'Anything else?', suggestedActions: { actions: [SALES_CLICK] } }],
  },
  {
    form: 'button `action`, `show_echo: false`',
    fields: {
      text: 'Ready?',
      attributes: {
        attachment: { buttons: [{ type: 'action', value: 'Go', action: '#go', show_echo: false }] },
      },
    },
    expected: [
      {
        text: 'Ready?',
        suggestedActions: {
          actions: [
            {
              type: 'messageBack',
              title: 'Go',
              text: 'Go',
              value: { tiledesk: { action: '#go', show_echo: false } },
            },
          ],
        },
      },
    ],
  },
  {
    form: '`attributes.commands`',
    fields: {
      text: 'Welcome! Pick a plan',
      attributes: {
        commands: [
          { type: 'message', message: { text: 'Welcome!', type: 'text' } },
          { type: 'wait', time: 500 },
          {
            type: 'message',
            message: { type: 'image', text: '', metadata: { src: 'https://img.example/w.png' } },
          },
          { type: 'message', message: { text: '' } },
          {
            type: 'message',
            message: { text: 'Pick a plan', attributes: { attachment: { buttons: [SALES] } } },
          },
        ],
      },
    },
    expected: [
      { text: 'Welcome!' },
      { attachments: [img('https://img.example/w.png')] },
      { text: 'Pick a plan', suggestedActions: { actions: [SALES_CLICK] } },
    ],
  },
];

describe('toUserActivities: the README table', () => {
  for (const row of ROWS) {
    it(row.form, () => {
      expect(toUserActivities(agentMessage(row.fields))).to.deep.equal(
        row.expected.map((a) => ({ type: 'message', from: ANNA, ...a })),
      );
    });
  }

  it('has a case for every README row, and a README row for every case', () => {
    expect(ROWS.map((r) => r.form)).to.deep.equal(readmeRows('Tiledesk → user'));
  });

  it('the agent prefix goes on the first activity of a multi-message reply only', () => {
    const commands = ROWS.find((r) => r.form === '`attributes.commands`')!;
    const out = toUserActivities(agentMessage(commands.fields), { prefix: 'Anna: ' });
    expect(out.map((a) => a.text)).to.deep.equal(['Anna: Welcome!', undefined, 'Pick a plan']);
  });

  it('commands with no content: the message itself', () => {
    const out = toUserActivities(
      agentMessage({ text: 'Hi', attributes: { commands: [{ type: 'wait', time: 1 }] } }),
    );
    expect(out).to.deep.equal([{ type: 'message', from: ANNA, text: 'Hi' }]);
  });
});
