import { expect } from 'chai';
import { toUserActivity } from '../../lib/core/to-activity';
import type { ChatActivity } from '../../lib/core/types';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';
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
      name: 'template buttons → suggested actions (url → openUrl, text/action → imBack)',
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
            { type: 'imBack', title: 'Talk to sales', value: 'Talk to sales' },
            { type: 'imBack', title: 'No link', value: 'No link' },
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
