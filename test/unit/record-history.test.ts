import { expect } from 'chai';
import {
  type ConversationRecord,
  newRecord,
  type OutboxEntry,
  parseRecord,
} from '../../lib/core/record';
import { acceptHandoff, beginHandoff, failHandoff } from '../../lib/core/record-handoff';
import {
  forHistory,
  ITEM_MAX_BYTES,
  keepHistory,
  takeHistory,
  TOTAL_MAX_BYTES,
} from '../../lib/core/record-history';
import { append } from '../../lib/core/record-outbox';
import type { ChatAttachment } from '../../lib/core/types';

const REF = { channelId: 'webchat', conversation: { id: 'c1' }, user: { id: 'u1' } };
const LEASE = 60_000;
const LIMITS = { maxMessages: 3 };

function entry(key: string, kind: OutboxEntry['kind'] = 'user', at = 0): OutboxEntry {
  return { key, kind, at, activity: { type: 'message', id: `id-${key}`, text: key } };
}

function handoffEntry(key: string, at = 0) {
  return { key, kind: 'handoff' as const, at, trigger: { trigger: 'keyword' as const } };
}

function rec(patch: Partial<ConversationRecord> = {}): ConversationRecord {
  return { ...newRecord(REF, 0), ...patch };
}

const keys = (list: readonly OutboxEntry[] | undefined) => (list ?? []).map((e) => e.key);
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe('mirror mode handoff: the kept history (pure)', () => {
  describe('keepHistory', () => {
    it('mode all (no limits): everything is posted, nothing kept', () => {
      const { next, live } = keepHistory(rec(), [entry('a'), entry('b', 'bot')], undefined);
      expect(keys(live)).to.deep.equal(['a', 'b']);
      expect(next.history).to.equal(undefined);
    });

    it('with the bot: user and bot messages are kept, in the order said, not posted', () => {
      const base = rec({ history: [entry('b', 'bot', 20)] });
      const { next, live } = keepHistory(base, [entry('c', 'user', 30), entry('a', 'user', 10)], {
        maxMessages: 10,
      });
      expect(live).to.deep.equal([]);
      expect(keys(next.history)).to.deep.equal(['a', 'b', 'c']);
    });

    it('with an agent: posted live as in mode all', () => {
      const { next, live } = keepHistory(rec({ mode: 'handoff' }), [entry('a')], LIMITS);
      expect(keys(live)).to.deep.equal(['a']);
      expect(next.history).to.equal(undefined);
    });

    it('entries for a given request (a leave, a close notice) and closes are never kept', () => {
      const leave = { ...entry('leave'), gen: 0 };
      const close: OutboxEntry = { key: 'close', kind: 'close', at: 1, gen: 0 };
      const { next, live } = keepHistory(rec(), [leave, entry('x'), close], LIMITS);
      expect(keys(live)).to.deep.equal(['leave', 'close']);
      expect(keys(next.history)).to.deep.equal(['x']);
    });

    it('drops the oldest beyond the count and says how many went', () => {
      const first = keepHistory(
        rec(),
        [1, 2, 3].map((i) => entry(`m${i}`, 'user', i)),
        LIMITS,
      );
      const { next } = keepHistory(
        first.next,
        [entry('m4', 'bot', 4), entry('m5', 'user', 5)],
        LIMITS,
      );
      expect(keys(next.history)).to.deep.equal(['m3', 'm4', 'm5']);
      expect(next.historyDropped).to.equal(2);
    });

    it('is idempotent: a write retried after a lost answer keeps each entry once', () => {
      const once = keepHistory(rec(), [entry('a', 'user', 1)], LIMITS).next;
      const twice = keepHistory(once, [entry('a', 'user', 1)], LIMITS).next;
      expect(keys(twice.history)).to.deep.equal(['a']);
    });

    it('an entry the outbox holds already (a lost answer, written again) is not kept twice', () => {
      const leave = { ...entry('leave'), gen: 0 };
      const base = rec({ outbox: [leave] });
      const { next, live } = keepHistory(base, [entry('leave')], LIMITS);
      expect(next.history).to.equal(undefined);
      expect(keys(append(next, live, 'i1', 1, LEASE).next.outbox)).to.deep.equal(['leave']);
    });

    it('bounds the whole history in bytes (a record is one storage item)', () => {
      const big = (i: number): OutboxEntry => ({
        key: `b${i}`,
        kind: 'user',
        at: i,
        activity: { type: 'message', text: 'x'.repeat(10_000) },
      });
      const many = Array.from({ length: 80 }, (_, i) => big(i));
      const { next } = keepHistory(rec(), many, { maxMessages: 1000 });
      expect(bytes(next.history)).to.be.at.most(TOTAL_MAX_BYTES);
      expect(next.history!.at(-1)!.key).to.equal('b79'); // the newest stay
      expect(next.historyDropped).to.equal(80 - next.history!.length);
    });

    it('a record with a history round-trips through storage validation', () => {
      const { next } = keepHistory(rec(), [entry('a')], LIMITS);
      const parsed = parseRecord(JSON.parse(JSON.stringify(next)));
      expect(parsed.record?.history).to.deep.equal(next.history);
    });
  });

  describe('forHistory: only what mirroring needs, each at most 16 KB', () => {
    it('keeps text, attachments and buttons; drops everything else', () => {
      const kept = forHistory({
        type: 'message',
        id: 'a1',
        text: 'hi',
        from: { id: 'u1' },
        channelId: 'webchat',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://x/y.png', name: 'y' }],
        suggestedActions: { actions: [{ type: 'imBack', title: 'Yes' }], to: ['u1'] },
      });
      expect(kept).to.deep.equal({
        type: 'message',
        id: 'a1',
        text: 'hi',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://x/y.png', name: 'y' }],
        suggestedActions: { actions: [{ type: 'imBack', title: 'Yes' }] },
      });
    });

    const cases: { what: string; attachments?: ChatAttachment[]; text?: string; expect: RegExp }[] =
      [
        {
          what: 'an inline file becomes a placeholder that says so',
          attachments: [
            {
              contentType: 'image/png',
              contentUrl: `data:image/png;base64,${'A'.repeat(40_000)}`,
              name: 'shot.png',
            },
          ],
          expect: /shot\.png \(too large to keep\)/,
        },
        {
          what: 'a huge card becomes a placeholder',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              content: { body: 'x'.repeat(40_000) },
            },
          ],
          expect: /card\.adaptive \(too large to keep\)/,
        },
        {
          what: 'a huge text is cut, visibly',
          text: 'é'.repeat(40_000),
          expect: /\[cut: too long/,
        },
      ];
    for (const c of cases) {
      it(c.what, () => {
        const kept = forHistory({
          type: 'message',
          ...(c.text ? { text: c.text } : {}),
          ...(c.attachments ? { attachments: c.attachments } : {}),
        });
        expect(bytes(kept)).to.be.at.most(ITEM_MAX_BYTES);
        expect(JSON.stringify(kept)).to.match(c.expect);
      });
    }
  });

  describe('the handoff moves the history into the outbox, in one write', () => {
    it('history first (marked, said at its own time), then the turn, then the routing', () => {
      const kept = keepHistory(rec(), [entry('h1', 'user', 10), entry('h2', 'bot', 11)], LIMITS);
      const begun = beginHandoff(
        kept.next,
        handoffEntry('H', 101),
        [entry('t', 'user', 100)],
        'i1',
        200,
        LEASE,
      )!;
      const o = begun.next.outbox;
      expect(keys(o)).to.deep.equal(['h1', 'h2', 't', 'H']);
      expect(o.map((e) => e.history ?? false)).to.deep.equal([true, true, false, false]);
      expect(o.map((e) => e.sentAt)).to.deep.equal([10, 11, undefined, undefined]);
      // Their age (retries, Tiledesk max age) counts from the handoff, not from when said.
      expect(o[0]!.at).to.equal(200);
      expect(begun.next.history).to.equal(undefined);
      expect(begun.next.mode).to.equal('handoff');
      expect(begun.ownsLease).to.equal(true);
    });

    it('a turn written late (another instance) still goes by when it was said, after the history', () => {
      const kept = keepHistory(rec(), [entry('h1', 'user', 10)], LIMITS);
      const begun = beginHandoff(
        kept.next,
        handoffEntry('H', 101),
        [entry('t', 'user', 100)],
        'i1',
        200,
        LEASE,
      )!;
      const late = append(begun.next, [entry('late', 'bot', 50)], 'i2', 210, LEASE).next;
      expect(keys(late.outbox)).to.deep.equal(['h1', 'late', 't', 'H']);
    });

    it('how many were dropped is posted first, as an info line', () => {
      const kept = keepHistory(
        rec(),
        [1, 2, 3, 4].map((i) => entry(`m${i}`, 'user', i)),
        LIMITS,
      );
      const { entries } = takeHistory(kept.next, 500);
      expect(entries[0]).to.include({ info: true, history: true, sentAt: 2 });
      expect(entries[0]!.activity?.text).to.equal('(1 earlier messages are not kept)');
      expect(keys(entries.slice(1))).to.deep.equal(['m2', 'm3', 'm4']);
    });

    it("the bot's transcript replaces what was kept", () => {
      const kept = keepHistory(rec(), [entry('mine', 'user', 1)], LIMITS);
      const transcript: OutboxEntry[] = [entry('theirs', 'user', 5)];
      const begun = beginHandoff(kept.next, handoffEntry('H', 9), [], 'i1', 10, LEASE, transcript)!;
      expect(keys(begun.next.outbox)).to.deep.equal(['theirs', 'H']);
      expect(begun.next.history).to.equal(undefined);
    });

    it('after the handoff fails the bot has it back: the next messages are kept again', () => {
      const begun = beginHandoff(rec(), handoffEntry('H'), [], 'i1', 10, LEASE)!;
      const failed = failHandoff(begun.next, 'H')!;
      const { next, live } = keepHistory(failed, [entry('again', 'user', 20)], LIMITS);
      expect(live).to.deep.equal([]);
      expect(keys(next.history)).to.deep.equal(['again']);
    });

    it('an agent who takes over a conversation the bot had: takeHistory hands them the history', () => {
      const kept = keepHistory(rec(), [entry('h', 'user', 1)], LIMITS).next;
      const taken = acceptHandoff(kept, 0, 'Anna', 50)!;
      expect(taken.mode).to.equal('handoff');
      const { next, entries } = takeHistory(taken, 60);
      expect(keys(entries)).to.deep.equal(['h']);
      expect(next.history).to.equal(undefined);
    });
  });
});
