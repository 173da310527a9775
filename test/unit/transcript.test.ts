import { expect } from 'chai';
import { transcriptEntries } from '../../lib/core/record-history';
import type { ChatAttachment } from '../../lib/core/types';

const REF = { channelId: 'webchat', conversation: { id: 'c1' }, user: { id: 'u1' } };
const LIMITS = { maxMessages: 3 };

describe("transcriptEntries: botbuilder's handoff.initiate transcript", () => {
  const attachment = (activities: unknown[]): ChatAttachment[] => [
    { contentType: 'application/json', name: 'Transcript', content: { activities } },
  ];
  const t = (ms: number) => new Date(Date.UTC(2026, 10, 29) + ms).toISOString();

  it('messages only, roles from `from`, in the order given, never after the turn', () => {
    const cap = Date.UTC(2026, 10, 29) + 1000;
    const out = transcriptEntries(
      attachment([
        { type: 'conversationUpdate', id: 'x' },
        { type: 'message', id: 'a', text: 'hi', from: { id: 'u1' }, timestamp: t(10) },
        {
          type: 'message',
          id: 'b',
          text: 'hello',
          from: { id: 'bot', role: 'bot' },
          timestamp: t(5),
        },
        {
          type: 'message',
          id: 'c',
          text: 'later',
          from: { id: 'u1', role: 'user' },
          timestamp: t(5000),
        },
        { type: 'typing', id: 'd' },
      ]),
      REF,
      'H',
      cap,
      { maxMessages: 10 },
      new Set(),
    )!;
    expect(out.map((e) => [e.activity?.text, e.kind])).to.deep.equal([
      ['hi', 'user'],
      ['hello', 'bot'],
      ['later', 'user'],
    ]);
    const ats = out.map((e) => e.at);
    expect(ats).to.deep.equal([...ats].sort((a, b) => a - b));
    expect(Math.max(...ats)).to.be.at.most(cap);
  });

  it('skips what goes live with the turn (by activity id), and duplicates', () => {
    const out = transcriptEntries(
      attachment([
        { type: 'message', id: 'a', text: 'one' },
        { type: 'message', id: 'a', text: 'one again' },
        { type: 'message', id: 'now', text: 'the trigger' },
      ]),
      REF,
      'H',
      100,
      { maxMessages: 10 },
      new Set(['now']),
    )!;
    expect(out.map((e) => e.activity?.text)).to.deep.equal(['one']);
    expect(out[0]!.key).to.equal('H:t0'); // stable across re-runs of the write
  });

  it('a malformed transcript never throws (it must not stop the handoff)', () => {
    const out = transcriptEntries(
      attachment([
        null,
        7,
        { type: 'message', text: 'ok', attachments: [null, { contentType: 3 }], timestamp: {} },
        { type: 'message', text: 'buttons', suggestedActions: { actions: 'nope' } },
        { type: 'message', attachments: 'x' },
      ]),
      REF,
      'H',
      100,
      { maxMessages: 10 },
      new Set(),
    )!;
    expect(out.map((e) => e.activity)).to.deep.equal([
      {
        type: 'message',
        text: 'ok',
        attachments: [{ contentType: 'application/octet-stream' }],
      },
      { type: 'message', text: 'buttons' },
    ]);
  });

  it('keeps the newest maxMessages; none without a transcript', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ type: 'message', text: `m${i}` }));
    const out = transcriptEntries(attachment(many), REF, 'H', 100, LIMITS, new Set())!;
    expect(out.map((e) => e.activity?.text)).to.deep.equal(['m2', 'm3', 'm4']);
    expect(transcriptEntries([], REF, 'H', 100, LIMITS, new Set())).to.equal(undefined);
    expect(
      transcriptEntries(
        [{ contentType: 'image/png', contentUrl: 'https://x' }],
        REF,
        'H',
        1,
        LIMITS,
        new Set(),
      ),
    ).to.equal(undefined);
  });
});
