import { expect } from 'chai';
import { MIRROR_MARK, neutralize, toTiledeskMessages } from '../../lib/core/to-tiledesk';
import type { ChatActivity, ChatAttachment } from '../../lib/core/types';
import type { OutgoingMessage } from '../../lib/tiledesk/wire';

const LOOKALIKE = '\u29F5'; // ⧵ REVERSE SOLIDUS OPERATOR
const ZWSP = '\u200B';

/**
 * What Tiledesk's messageActionsInterceptor would run for a text (tiledesk-api.md §4.1):
 * everything after the FIRST backslash; only `agent` and `close` have handlers.
 */
function tiledeskCommandOf(text: string): string | undefined {
  const at = text.indexOf('\\');
  return at < 0 ? undefined : text.substring(at + 1);
}

describe('neutralize', () => {
  const cases: { name: string; input: string; expected: string }[] = [
    {
      name: 'trailing \\agent',
      input: 'please connect me \\agent',
      expected: `please connect me ${LOOKALIKE}agent`,
    },
    { name: 'bare \\agent', input: '\\agent', expected: `${LOOKALIKE}agent` },
    { name: '\\close', input: '\\close', expected: `${LOOKALIKE}close` },
    { name: 'upper case \\AGENT', input: 'hi \\AGENT', expected: `hi ${LOOKALIKE}AGENT` },
    { name: 'mixed case \\Close', input: '\\Close', expected: `${LOOKALIKE}Close` },
    // documented choice: whitespace between the backslash and the command is neutralised too
    {
      name: '"\\ agent" (space after the backslash)',
      input: '\\ agent',
      expected: `${LOOKALIKE} agent`,
    },
    {
      name: '"\\\\n close" (newline after the backslash)',
      input: 'bye \\\nclose',
      expected: `bye ${LOOKALIKE}\nclose`,
    },
    // a prefix match is enough (over-eager, harmless)
    {
      name: 'a Windows path with \\agents',
      input: 'C:\\agents\\x',
      expected: `C:${LOOKALIKE}agents\\x`,
    },
    {
      name: 'two backslashes: only the one before the command',
      input: 'x\\\\agent',
      expected: `x\\${LOOKALIKE}agent`,
    },
    { name: 'other backslashes are kept', input: 'a \\b \\n c', expected: 'a \\b \\n c' },
    {
      name: '${KEY} label placeholder',
      input: 'Hi ${WELCOME_MSG}!',
      expected: `Hi $${ZWSP}{WELCOME_MSG}!`,
    },
    { name: 'several placeholders', input: '${A}${B}', expected: `$${ZWSP}{A}$${ZWSP}{B}` },
    {
      name: 'a dollar without brace is kept',
      input: 'costs $5 {approx}',
      expected: 'costs $5 {approx}',
    },
    { name: 'plain text is unchanged', input: 'Hello, world', expected: 'Hello, world' },
    { name: 'empty text', input: '', expected: '' },
  ];
  for (const c of cases) {
    it(`${c.name}`, () => {
      const out = neutralize(c.input);
      expect(out).to.equal(c.expected);
      // Whatever the input, Tiledesk must not find a command in the output.
      const command = tiledeskCommandOf(out);
      expect(command?.trim().toLowerCase()).not.to.be.oneOf(['agent', 'close']);
      expect(out).not.to.match(/\$\{/);
    });
  }

  it('the inputs above would have run a command without it (the guard is meaningful)', () => {
    expect(tiledeskCommandOf('please connect me \\agent')).to.equal('agent');
    expect(tiledeskCommandOf('\\close')).to.equal('close');
  });
});

describe('toTiledeskMessages', () => {
  const msg = (fields: Partial<ChatActivity>): ChatActivity => ({ type: 'message', ...fields });

  it('maps plain text to one text message (no type, no attributes: the mirror adds them)', () => {
    expect(toTiledeskMessages(msg({ text: 'Hi, I need help with my order' }))).to.deep.equal([
      { text: 'Hi, I need help with my order' },
    ]);
  });

  it('neutralizes user text ending in \\agent and ${KEY}', () => {
    expect(toTiledeskMessages(msg({ text: 'now ${X} \\agent' }))).to.deep.equal([
      { text: `now $${ZWSP}{X} ${LOOKALIKE}agent` },
    ]);
  });

  it('does not add the mirror mark itself (the mirror does, see MIRROR_MARK)', () => {
    expect(MIRROR_MARK).to.equal('bf_mirror');
    const [first] = toTiledeskMessages(msg({ text: 'x' }));
    expect(first?.attributes).to.equal(undefined);
  });

  const media: { name: string; attachment: ChatAttachment; expected: OutgoingMessage }[] = [
    {
      name: 'image with a name',
      attachment: {
        contentType: 'image/png',
        contentUrl: 'https://cdn.example/u/1/photo.png',
        name: 'photo.png',
      },
      expected: {
        type: 'image',
        text: 'photo.png',
        metadata: {
          src: 'https://cdn.example/u/1/photo.png',
          name: 'photo.png',
          type: 'image/png',
        },
      },
    },
    {
      name: 'image without a name: caption "Image attached", name from the URL without the query',
      attachment: {
        contentType: 'image/jpeg',
        contentUrl: 'https://cdn.example/a/b/cat.jpg?sig=abc&x=1',
      },
      expected: {
        type: 'image',
        text: 'Image attached',
        metadata: {
          src: 'https://cdn.example/a/b/cat.jpg?sig=abc&x=1',
          name: 'cat.jpg',
          type: 'image/jpeg',
        },
      },
    },
    {
      name: 'PDF file: a markdown link as text',
      attachment: {
        contentType: 'application/pdf',
        contentUrl: 'https://files.example/invoice-42.pdf',
        name: 'Invoice 42.pdf',
      },
      expected: {
        type: 'file',
        text: '[Invoice 42.pdf](https://files.example/invoice-42.pdf)',
        metadata: {
          src: 'https://files.example/invoice-42.pdf',
          name: 'Invoice 42.pdf',
          type: 'application/pdf',
        },
      },
    },
    {
      name: 'audio file without a name',
      attachment: { contentType: 'audio/ogg', contentUrl: 'https://files.example/v/voice.ogg' },
      expected: {
        type: 'file',
        text: '[voice.ogg](https://files.example/v/voice.ogg)',
        metadata: {
          src: 'https://files.example/v/voice.ogg',
          name: 'voice.ogg',
          type: 'audio/ogg',
        },
      },
    },
  ];
  for (const c of media) {
    it(`media: ${c.name}`, () => {
      expect(toTiledeskMessages(msg({ attachments: [c.attachment] }))).to.deep.equal([c.expected]);
    });
  }

  it('puts the text message first, then one message per media attachment, in order', () => {
    const out = toTiledeskMessages(
      msg({
        text: 'Here are the documents',
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://cdn.example/1.png' },
          { contentType: 'application/pdf', contentUrl: 'https://cdn.example/2.pdf' },
        ],
      }),
    );
    expect(out.map((m) => [m.type, m.text])).to.deep.equal([
      [undefined, 'Here are the documents'],
      ['image', 'Image attached'],
      ['file', '[2.pdf](https://cdn.example/2.pdf)'],
    ]);
  });

  const dataUrls: { name: string; attachment: ChatAttachment; text: string }[] = [
    {
      name: 'named inline image',
      attachment: {
        contentType: 'image/png',
        contentUrl: 'data:image/png;base64,iVBORw0KGgo=',
        name: 'pasted.png',
      },
      text: '[pasted.png]',
    },
    {
      name: 'unnamed inline image',
      attachment: { contentType: 'image/gif', contentUrl: 'data:image/gif;base64,R0lGODlh' },
      text: '[image/gif]',
    },
    {
      name: 'attachment with neither URL nor card type',
      attachment: { contentType: 'application/vnd.acme.custom', content: { a: 1 } },
      text: '[application/vnd.acme.custom]',
    },
  ];
  for (const c of dataUrls) {
    it(`never uses a data: URL as src: ${c.name}`, () => {
      const out = toTiledeskMessages(msg({ attachments: [c.attachment] }));
      expect(out).to.deep.equal([{ text: c.text }]);
      expect(JSON.stringify(out)).not.to.include('base64');
    });
  }

  // Regression: URL schemes are case-insensitive (RFC 3986 §3.1),
  // but only a lower-case "data:" prefix is recognised.
  it('never uses a data: URL as src, whatever the case of the scheme', () => {
    const out = toTiledeskMessages(
      msg({
        attachments: [
          {
            contentType: 'image/png',
            contentUrl: 'DATA:image/png;base64,iVBORw0KGgo=',
            name: 'p.png',
          },
        ],
      }),
    );
    expect(out).to.deep.equal([{ text: '[p.png]' }]);
  });

  // Regression: `src.split('/').pop()` is '' (not undefined) for a
  // URL ending in "/", so the `?? 'file'` fallback never applies and the link label is empty.
  it('a file URL ending in "/" gets the fallback name "file"', () => {
    const out = toTiledeskMessages(
      msg({
        attachments: [
          { contentType: 'application/pdf', contentUrl: 'https://files.example/download/' },
        ],
      }),
    );
    expect(out).to.deep.equal([
      {
        type: 'file',
        text: '[file](https://files.example/download/)',
        metadata: { src: 'https://files.example/download/', name: 'file', type: 'application/pdf' },
      },
    ]);
  });

  it('hero card → readable text plus template buttons (imBack → text, openUrl → url)', () => {
    const hero: ChatAttachment = {
      contentType: 'application/vnd.microsoft.card.hero',
      content: {
        title: 'Pizza Margherita',
        subtitle: 'Large',
        text: 'Tomato, mozzarella',
        images: [{ url: 'https://img.example/p.png' }],
        buttons: [
          { type: 'imBack', title: 'Order', value: 'order margherita' },
          { type: 'openUrl', title: 'Menu', value: 'https://acme.example/menu' },
        ],
      },
    };
    expect(toTiledeskMessages(msg({ attachments: [hero] }))).to.deep.equal([
      {
        text: 'Pizza Margherita\nLarge\nTomato, mozzarella\n\n[Order] [Menu]',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'text', value: 'Order' },
              { type: 'url', value: 'Menu', link: 'https://acme.example/menu' },
            ],
          },
        },
      },
    ]);
  });

  it('adaptive card → text blocks, facts, columns; actions (also in an ActionSet) → buttons', () => {
    const adaptive: ChatAttachment = {
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [
          { type: 'TextBlock', text: 'Order A-1042', weight: 'bolder' },
          {
            type: 'FactSet',
            facts: [
              { title: 'Status', value: 'Shipped' },
              { title: 'ETA', value: 'Friday' },
            ],
          },
          {
            type: 'ColumnSet',
            columns: [
              { type: 'Column', items: [{ type: 'TextBlock', text: 'Left' }] },
              { type: 'Column', items: [{ type: 'TextBlock', text: 'Right' }] },
            ],
          },
          {
            type: 'ActionSet',
            actions: [{ type: 'Action.Submit', title: 'Cancel order', data: { a: 1 } }],
          },
        ],
        actions: [
          { type: 'Action.OpenUrl', title: 'Track', url: 'https://track.example/A-1042' },
          { type: 'Action.Submit', title: 'OK', data: { ok: true } },
        ],
      },
    };
    expect(toTiledeskMessages(msg({ text: 'Here:', attachments: [adaptive] }))).to.deep.equal([
      {
        text: 'Here:\n\nOrder A-1042\nStatus: Shipped\nETA: Friday\nLeft\nRight\n\n[Track] [OK] [Cancel order]',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'url', value: 'Track', link: 'https://track.example/A-1042' },
              { type: 'text', value: 'OK' },
              { type: 'text', value: 'Cancel order' },
            ],
          },
        },
      },
    ]);
  });

  it('a card with only buttons still gets a text (the button labels)', () => {
    const card: ChatAttachment = {
      contentType: 'application/vnd.microsoft.card.thumbnail',
      content: {
        buttons: [
          { type: 'imBack', title: 'Yes', value: 'yes' },
          { type: 'imBack', value: 'no' },
        ],
      },
    };
    expect(toTiledeskMessages(msg({ attachments: [card] }))).to.deep.equal([
      {
        text: '[Yes] [no]',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'text', value: 'Yes' },
              { type: 'text', value: 'no' },
            ],
          },
        },
      },
    ]);
  });

  it('suggested actions → buttons, appended to the text', () => {
    const out = toTiledeskMessages(
      msg({
        text: 'Pick a colour',
        suggestedActions: {
          to: ['user-1'],
          actions: [
            { type: 'imBack', title: 'Red', value: 'red' },
            { type: 'imBack', value: 'blue' },
            { type: 'openUrl', title: 'Docs', value: 'https://docs.example/colours' },
            { type: 'postBack', value: { id: 7 } },
          ],
        },
      }),
    );
    expect(out).to.deep.equal([
      {
        text: 'Pick a colour\n\n[Red] [blue] [Docs] [postBack]',
        attributes: {
          attachment: {
            type: 'template',
            buttons: [
              { type: 'text', value: 'Red' },
              { type: 'text', value: 'blue' },
              { type: 'url', value: 'Docs', link: 'https://docs.example/colours' },
              { type: 'text', value: 'postBack' },
            ],
          },
        },
      },
    ]);
  });

  it('an empty activity still yields ONE message with a non-empty text (Tiledesk requires text)', () => {
    const out = toTiledeskMessages(msg({}));
    expect(out).to.have.length(1);
    expect(out[0]?.text).to.be.a('string').and.not.equal('');
    expect(out).to.deep.equal([{ text: ' ' }]);
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

  it('every produced message has a non-empty text', () => {
    const inputs: ChatActivity[] = [
      msg({}),
      msg({ text: '' }),
      msg({ attachments: [{ contentType: 'image/png', contentUrl: 'https://c.example/' }] }),
      msg({ attachments: [{ contentType: 'application/vnd.microsoft.card.hero', content: {} }] }),
      msg({ suggestedActions: { actions: [] } }),
    ];
    for (const input of inputs) {
      for (const m of toTiledeskMessages(input))
        expect(m.text, JSON.stringify(input)).to.not.equal('');
    }
  });
});
