import { expect } from 'chai';
import {
  type ConversationRecord,
  newRecord,
  type OutboxEntry,
  parseRecord,
} from '../../lib/core/record';
import {
  claimDelivery,
  DELIVERED_WINDOW_MS,
  isDelivered,
  markDelivered,
  MAX_DELIVERED_IDS,
} from '../../lib/core/record-delivery';
import {
  acceptHandoff,
  beginHandoff,
  claimNotices,
  closeRequest,
  failHandoff,
  noticesSent,
  queueHandoff,
  withNotice,
} from '../../lib/core/record-handoff';
import { append, isIdle, release, settle, takeOver } from '../../lib/core/record-outbox';

const REF = { channelId: 'webchat', conversation: { id: 'c1' }, user: { id: 'u1' } };
const LEASE = 60_000;

function entry(key: string, kind: OutboxEntry['kind'] = 'user', at = 0): OutboxEntry {
  return { key, kind, at, activity: { type: 'message', text: key } };
}

function handoffEntry(key: string, at = 0) {
  return { key, kind: 'handoff' as const, at, trigger: { trigger: 'keyword' as const } };
}

function rec(patch: Partial<ConversationRecord> = {}): ConversationRecord {
  return { ...newRecord(REF, 0), ...patch };
}

const iso = (ms: number) => new Date(Date.UTC(2026, 10, 29) + ms).toISOString();

describe('conversation record transitions (pure)', () => {
  describe('outbox and lease', () => {
    it('append takes the lease when nobody holds one, and indexes', () => {
      const { next, ownsLease } = append(rec(), [entry('a')], 'i1', 100, LEASE);
      expect(ownsLease).to.equal(true);
      expect(next.lease).to.deep.equal({ owner: 'i1', until: 100 + LEASE });
      expect(next.outbox.map((e) => e.key)).to.deep.equal(['a']);
      expect(next.indexed).to.equal(true);
    });

    it("append behind another instance's live lease only appends", () => {
      const base = rec({ outbox: [entry('a')], lease: { owner: 'i2', until: 5000 } });
      const { next, ownsLease } = append(base, [entry('b')], 'i1', 100, LEASE);
      expect(ownsLease).to.equal(false);
      expect(next.lease).to.deep.equal({ owner: 'i2', until: 5000 });
      expect(next.outbox.map((e) => e.key)).to.deep.equal(['a', 'b']);
    });

    it('append after the holder died (lease expired) takes over', () => {
      const base = rec({ outbox: [entry('a')], lease: { owner: 'i2', until: 50 } });
      const { next, ownsLease } = append(base, [entry('b')], 'i1', 100, LEASE);
      expect(ownsLease).to.equal(true);
      expect(next.lease?.owner).to.equal('i1');
    });

    it('settle drops what is done, keeps the rest, renews; releases when empty', () => {
      const base = rec({ outbox: [entry('a'), entry('b')], lease: { owner: 'i1', until: 10 } });
      const partly = settle(base, new Set(['a']), true, 'i1', 1000, LEASE)!;
      expect(partly.remaining.map((e) => e.key)).to.deep.equal(['b']);
      expect(partly.next.lease).to.deep.equal({ owner: 'i1', until: 1000 + LEASE });
      expect(partly.next.opened).to.equal(true);
      const all = settle(partly.next, new Set(['b']), false, 'i1', 2000, LEASE)!;
      expect(all.remaining).to.deep.equal([]);
      expect(all.next.lease).to.equal(undefined);
      expect(all.next.opened).to.equal(true); // never goes back
    });

    it('settle by an instance that lost the lease changes nothing', () => {
      const base = rec({ outbox: [entry('a')], lease: { owner: 'i2', until: 5000 } });
      expect(settle(base, new Set(['a']), true, 'i1', 100, LEASE)).to.equal(undefined);
    });

    it('takeOver only when entries wait and no live lease holds them', () => {
      expect(takeOver(rec(), 'i1', 0, LEASE)).to.equal(undefined);
      const live = rec({ outbox: [entry('a')], lease: { owner: 'i2', until: 10 } });
      expect(takeOver(live, 'i1', 5, LEASE)).to.equal(undefined);
      expect(takeOver(live, 'i1', 10, LEASE)?.lease).to.deep.equal({
        owner: 'i1',
        until: 10 + LEASE,
      });
      const released = rec({ outbox: [entry('a')] });
      expect(takeOver(released, 'i1', 0, LEASE)?.lease?.owner).to.equal('i1');
    });

    it('release hands back only our own lease and claim', () => {
      const ours = rec({
        outbox: [entry('a')],
        lease: { owner: 'i1', until: 10 },
        claim: { owner: 'i1', until: 10, ids: ['m'] },
      });
      const next = release(ours, 'i1')!;
      expect(next.lease).to.equal(undefined);
      expect(next.claim).to.equal(undefined);
      expect(release(rec({ lease: { owner: 'i2', until: 10 } }), 'i1')).to.equal(undefined);
    });

    it('isIdle: no entries, lease, claim, and back with the bot', () => {
      expect(isIdle(rec())).to.equal(true);
      expect(isIdle(rec({ outbox: [entry('a')] }))).to.equal(false);
      expect(isIdle(rec({ lease: { owner: 'i', until: 0 } }))).to.equal(false);
      expect(isIdle(rec({ mode: 'handoff' }))).to.equal(false);
    });
  });

  describe('handoff', () => {
    it('begin stores the turn posts before the routing entry, in one change', () => {
      const r = beginHandoff(rec(), handoffEntry('h', 7), [entry('u')], 'i1', 7, LEASE)!;
      expect(r.next.mode).to.equal('handoff');
      expect(r.next.outbox.map((e) => e.key)).to.deep.equal(['u', 'h']);
      expect(r.next.handoff).to.deep.equal({
        key: 'h',
        at: 7,
        trigger: 'keyword',
        state: 'pending',
      });
      expect(beginHandoff(r.next, handoffEntry('h2'), [], 'i1', 8, LEASE)).to.equal(undefined);
    });

    it('queue → accept; accept is once per request generation', () => {
      const begun = beginHandoff(rec(), handoffEntry('h'), [], 'i1', 0, LEASE)!.next;
      const queued = queueHandoff(begun, 'h', 1000)!;
      expect(queued.handoff?.state).to.equal('queued');
      expect(queueHandoff(queued, 'h', 1000)).to.equal(undefined);
      const accepted = acceptHandoff(queued, 0, 'Anna', 1)!;
      expect(accepted.handoff).to.include({ state: 'assigned', agent: 'Anna' });
      expect(acceptHandoff(accepted, 0, 'Anna', 2)).to.equal(undefined);
      expect(acceptHandoff(begun, 1, 'Anna', 2)).to.equal(undefined); // another request
    });

    it('an agent writing into a bot conversation takes it over', () => {
      const taken = acceptHandoff(rec(), 0, 'Bob', 5)!;
      expect(taken.mode).to.equal('handoff');
      expect(taken.handoff).to.deep.include({ trigger: 'agent', state: 'assigned', agent: 'Bob' });
    });

    it('fail only ends the pending handoff it names, and drops its routing entry', () => {
      const begun = beginHandoff(rec(), handoffEntry('h'), [entry('u')], 'i1', 0, LEASE)!.next;
      expect(failHandoff(begun, 'other')).to.equal(undefined);
      const failed = failHandoff(begun, 'h')!;
      expect(failed.mode).to.equal('bot');
      expect(failed.handoff).to.equal(undefined);
      expect(failed.outbox.map((e) => e.key)).to.deep.equal(['u']);
      expect(failHandoff(acceptHandoff(begun, 0, 'A', 0)!, 'h')).to.equal(undefined);
    });

    it('close moves the generation on once; an old or repeated close changes nothing', () => {
      const inHandoff = acceptHandoff(rec({ opened: true }), 0, 'A', 0)!;
      const closed = closeRequest(inHandoff, 0)!;
      expect(closed.wasHandoff).to.equal(true);
      expect(closed.next).to.deep.include({ gen: 1, opened: false, mode: 'bot' });
      expect(closeRequest(closed.next, 0)).to.equal(undefined);
    });
  });

  describe('delivery', () => {
    const m = (id: string, at: number) => ({ id, createdAt: iso(at) });

    it('claims only undelivered messages; another live claim makes it wait', () => {
      const first = claimDelivery(rec(), 0, [m('a', 1), m('b', 2)], 'i1', 0, LEASE);
      expect(first.granted?.map((x) => x.id)).to.deep.equal(['a', 'b']);
      const other = claimDelivery(first.next!, 0, [m('c', 3)], 'i2', 10, LEASE);
      expect(other).to.deep.equal({ busyUntil: LEASE });
      const afterExpiry = claimDelivery(first.next!, 0, [m('a', 1)], 'i2', LEASE, LEASE);
      expect(afterExpiry.granted?.map((x) => x.id)).to.deep.equal(['a']);
    });

    it('marks delivered and releases the claim; a delivered message is not claimed again', () => {
      const claimed = claimDelivery(rec(), 0, [m('a', 1)], 'i1', 0, LEASE).next!;
      const marked = markDelivered(claimed, 0, [m('a', 1)], 'i1')!;
      expect(marked.claim).to.equal(undefined);
      expect(isDelivered(marked, m('a', 1))).to.equal(true);
      expect(claimDelivery(marked, 0, [m('a', 1)], 'i1', 0, LEASE)).to.deep.equal({});
    });

    it('an out-of-order older message inside the window is still delivered (not dropped)', () => {
      let r = rec();
      r = markDelivered(r, 0, [m('new', 5 * 60_000)], 'i1')!;
      expect(isDelivered(r, m('old', 60_000))).to.equal(false);
    });

    it('ids older than the window are forgotten, and counted as settled by the floor', () => {
      let r = rec();
      r = markDelivered(r, 0, [m('a', 0)], 'i1')!;
      r = markDelivered(r, 0, [m('b', DELIVERED_WINDOW_MS + 1000)], 'i1')!;
      expect(Object.keys(r.delivered)).to.deep.equal(['b']);
      expect(isDelivered(r, m('a', 0))).to.equal(true);
    });

    it('keeps at most MAX_DELIVERED_IDS ids; the older ones count as settled by the floor', () => {
      let r = rec();
      const all = Array.from({ length: MAX_DELIVERED_IDS + 5 }, (_, i) => m(`id${i}`, i * 1000));
      r = markDelivered(r, 0, all, 'i1')!;
      expect(Object.keys(r.delivered)).to.have.length(MAX_DELIVERED_IDS);
      for (const x of all) expect(isDelivered(r, x), x.id).to.equal(true);
      expect(isDelivered(r, m('new', (MAX_DELIVERED_IDS + 10) * 1000))).to.equal(false);
    });

    it('a stale claim with nothing left to send is cleared', () => {
      const r = rec({ claim: { owner: 'dead', until: 0, ids: [] } });
      const c = claimDelivery(r, 0, [], 'i1', 10, LEASE);
      expect(c.next?.claim).to.equal(undefined);
    });

    it('a claim for an old request generation is refused; its mark only drops our claim', () => {
      const r = rec({ gen: 2, claim: { owner: 'i1', until: 100, ids: ['x'] } });
      expect(claimDelivery(r, 1, [m('x', 0)], 'i1', 0, LEASE)).to.deep.equal({});
      const marked = markDelivered(r, 1, [m('x', 0)], 'i1')!;
      expect(marked.claim).to.equal(undefined);
      expect(marked.delivered).to.deep.equal({});
    });
  });

  describe('purity (the record store hands changes its cached record)', () => {
    function deepFreeze<T>(o: T): T {
      if (o && typeof o === 'object' && !Object.isFrozen(o)) {
        Object.freeze(o);
        for (const v of Object.values(o)) deepFreeze(v);
      }
      return o;
    }
    it('no transition mutates the record it is given', () => {
      const m = (id: string, at: number) => ({ id, createdAt: iso(at) });
      const base = () =>
        deepFreeze(
          rec({
            mode: 'handoff',
            opened: true,
            handoff: { key: 'h', at: 0, trigger: 'keyword', state: 'pending' },
            outbox: [entry('a'), entry('h', 'handoff')],
            lease: { owner: 'i1', until: 10 },
            claim: { owner: 'i1', until: 10, ids: ['x'] },
            notices: [{ key: 'n', text: 'hi' }],
            delivered: { d: iso(0) },
          }),
        );
      expect(() => {
        append(base(), [entry('b')], 'i1', 5, LEASE);
        settle(base(), new Set(['a']), true, 'i1', 5, LEASE);
        takeOver(base(), 'i2', 50, LEASE);
        release(base(), 'i1');
        beginHandoff(deepFreeze(rec()), handoffEntry('h2'), [entry('u')], 'i1', 0, LEASE);
        queueHandoff(base(), 'h', 1);
        acceptHandoff(base(), 0, 'A', 1);
        failHandoff(base(), 'h');
        closeRequest(base(), 0);
        claimDelivery(base(), 0, [m('y', 1)], 'i1', 0, LEASE);
        markDelivered(base(), 0, [m('y', 1)], 'i1');
        claimNotices(base(), 'i1', 0, LEASE);
        noticesSent(base(), new Set(['n']), 'i1');
        withNotice(base(), { key: 'n2', text: '' });
      }).not.to.throw();
    });
  });

  describe('parseRecord', () => {
    it('accepts what the transitions produce, through a JSON round trip', () => {
      const r = beginHandoff(rec(), handoffEntry('h'), [entry('u')], 'i1', 0, LEASE)!.next;
      expect(parseRecord(JSON.parse(JSON.stringify(r))).record).to.deep.equal(r);
    });

    it('names the problem of a record of another shape (e.g. an older version)', () => {
      const parsed = parseRecord({ v: 1, reference: {}, requestId: 'x' });
      expect(parsed.record).to.equal(undefined);
      expect(parsed.problem).to.be.a('string').and.not.equal('');
    });
  });
});
