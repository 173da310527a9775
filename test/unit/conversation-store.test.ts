import { MemoryStorage } from 'botbuilder';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  type ConversationRecord,
  ConversationStore,
  newRecord,
  wasDelivered,
  withDelivered,
} from '../../lib/core/conversation-store';
import { storageKeys } from '../../lib/core/ids';
import type { ConversationRef, KeyValueStorage } from '../../lib/core/types';
import { TiledeskError } from '../../lib/errors';

const REF: ConversationRef = {
  channelId: 'msteams',
  conversation: { id: 'a:1Xy-conv' },
  user: { id: '29:1f0c', name: 'John Smith' },
  bot: { id: '28:bot', name: 'Acme' },
  serviceUrl: 'https://smba.example/emea/',
};
const CONV = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const REQ = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-00000000000000000000000000000001';
const REQ2 = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-00000000000000000000000000000002';

async function rawItem(storage: KeyValueStorage, key: string): Promise<unknown> {
  return (await storage.read([key]))[key];
}

describe('ConversationStore', () => {
  let storage: MemoryStorage;
  let store: ConversationStore;

  beforeEach(() => {
    storage = new MemoryStorage();
    store = new ConversationStore(storage);
  });

  describe('newRecord', () => {
    it('starts in bot mode, generation 0, not opened, nothing delivered', () => {
      expect(newRecord(REF, REQ)).to.deep.equal({
        v: 1,
        reference: REF,
        generation: 0,
        requestId: REQ,
        opened: false,
        mode: 'bot',
        delivered: [],
      });
    });
  });

  describe('create / get', () => {
    it('round-trips a record (the storage eTag is not part of it)', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      expect(await store.get(CONV)).to.deep.equal(newRecord(REF, REQ));
    });

    it('round-trips a record in handoff mode', async () => {
      const record: ConversationRecord = {
        ...newRecord(REF, REQ),
        opened: true,
        mode: 'handoff',
        handoff: { at: 1795701621900, trigger: 'keyword', accepted: true },
        delivered: ['m1', 'm2'],
      };
      await store.create(CONV, record);
      expect(await store.get(CONV)).to.deep.equal(record);
    });

    it('stores under tiledesk/conversation/<key> and tiledesk/request/<id>', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      expect(await rawItem(storage, `tiledesk/conversation/${CONV}`)).to.include({
        requestId: REQ,
        mode: 'bot',
      });
      expect(await rawItem(storage, `tiledesk/request/${REQ}`)).to.include({ convKey: CONV });
    });

    it('get → undefined for an unknown conversation', async () => {
      expect(await store.get('nope')).to.equal(undefined);
    });

    it('fills defaults of older records (opened, delivered, handoff.accepted)', async () => {
      await storage.write({
        [storageKeys.conversation(CONV)]: {
          v: 1,
          reference: REF,
          generation: 2,
          requestId: REQ,
          mode: 'handoff',
          handoff: { at: 5, trigger: 'intent' },
        },
      });
      expect(await store.get(CONV)).to.deep.equal({
        v: 1,
        reference: REF,
        generation: 2,
        requestId: REQ,
        opened: false,
        mode: 'handoff',
        handoff: { at: 5, trigger: 'intent', accepted: false },
        delivered: [],
      });
    });

    // Regression: the doc says "Creates the record (and its
    // request index) if absent", but the write uses eTag '*', which botbuilder storages treat as
    // "overwrite whatever is there". Engine.turn() does get() → create(), so two turns of a new
    // conversation that race (two instances, or two quick messages) can reset a record that has
    // already moved to handoff mode back to a fresh bot-mode record.
    it('create() does not overwrite an existing record', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      await store.update(CONV, (r) => ({
        ...r,
        mode: 'handoff',
        handoff: { at: 1, trigger: 'keyword', accepted: false },
      }));

      await store.create(CONV, newRecord(REF, REQ));

      expect((await store.get(CONV))?.mode).to.equal('handoff');
    });
  });

  describe('conversationOfRequest', () => {
    it('finds the conversation of a request id', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      expect(await store.conversationOfRequest(REQ)).to.equal(CONV);
    });

    it('→ undefined for an unknown request id', async () => {
      expect(await store.conversationOfRequest(REQ)).to.equal(undefined);
    });

    it('→ undefined for a corrupted index entry (not an error)', async () => {
      await storage.write({ [storageKeys.request(REQ)]: { conv: 42 } });
      expect(await store.conversationOfRequest(REQ)).to.equal(undefined);
    });
  });

  describe('update', () => {
    it('applies the change, returns and stores the new record', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const next = await store.update(CONV, (r) => ({ ...r, opened: true }));
      expect(next).to.deep.equal({ ...newRecord(REF, REQ), opened: true });
      expect(await store.get(CONV)).to.deep.equal({ ...newRecord(REF, REQ), opened: true });
    });

    it('writes the request index for a new requestId (and keeps the old one)', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      await store.update(CONV, (r) => ({ ...r, generation: 1, requestId: REQ2 }));

      expect(await store.conversationOfRequest(REQ2)).to.equal(CONV);
      expect(await store.conversationOfRequest(REQ)).to.equal(CONV);
      expect((await store.get(CONV))?.requestId).to.equal(REQ2);
    });

    it('does not touch the index when the requestId is unchanged', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const write = sinon.spy(storage, 'write');
      await store.update(CONV, (r) => ({ ...r, opened: true }));
      expect(write.callCount).to.equal(1);
      expect(Object.keys(write.firstCall.args[0])).to.deep.equal([storageKeys.conversation(CONV)]);
    });

    it('returns the current record and writes nothing when the change returns undefined', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const write = sinon.spy(storage, 'write');
      expect(await store.update(CONV, () => undefined)).to.deep.equal(newRecord(REF, REQ));
      expect(write.callCount).to.equal(0);
    });

    it('returns undefined without calling the change when there is no record', async () => {
      const change = sinon.spy((r: ConversationRecord) => r);
      expect(await store.update(CONV, change)).to.equal(undefined);
      expect(change.callCount).to.equal(0);
    });

    it('applies two concurrent updates (the loser retries on the eTag conflict)', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const changes = sinon.spy();
      const add = (id: string) => (r: ConversationRecord) => {
        changes(id);
        return withDelivered(r, id);
      };

      await Promise.all([store.update(CONV, add('m1')), store.update(CONV, add('m2'))]);

      expect((await store.get(CONV))?.delivered)
        .to.have.members(['m1@', 'm2@'])
        .and.have.length(2);
      // Both read the same version; one write lost and its change ran again on fresh data.
      expect(changes.callCount).to.equal(3);
    });

    it('ten concurrent updates are all applied', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
      // Each update can lose at most 7 times before MAX_ATTEMPTS (8); stagger to stay below.
      for (let i = 0; i < ids.length; i += 3) {
        await Promise.all(
          ids.slice(i, i + 3).map((id) => store.update(CONV, (r) => withDelivered(r, id))),
        );
      }
      expect((await store.get(CONV))?.delivered).to.have.members(ids.map((id) => `${id}@`));
    });

    it('gives up after 10 eTag conflicts (with short random waits) and rethrows the storage error', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const conflict = new Error('Storage: error writing "x" due to eTag conflict.');
      const write = sinon.stub(storage, 'write').rejects(conflict);
      let caught: unknown;
      await store.update(CONV, (r) => ({ ...r, opened: true })).catch((e: unknown) => (caught = e));
      expect(caught).to.equal(conflict);
      expect(write.callCount).to.equal(10);
    });

    it('rethrows other storage errors at once', async () => {
      await store.create(CONV, newRecord(REF, REQ));
      const down = new Error('ECONNREFUSED cosmos');
      const write = sinon.stub(storage, 'write').rejects(down);
      let caught: unknown;
      await store.update(CONV, (r) => ({ ...r, opened: true })).catch((e: unknown) => (caught = e));
      expect(caught).to.equal(down);
      expect(write.callCount).to.equal(1);
    });
  });

  describe('corrupted stored data', () => {
    const corrupt: { name: string; item: Record<string, unknown> }[] = [
      { name: 'an unknown version', item: { ...newRecord(REF, REQ), v: 2 } },
      { name: 'a bad mode', item: { ...newRecord(REF, REQ), mode: 'human' } },
      { name: 'no reference', item: { ...newRecord(REF, REQ), reference: null } },
      { name: 'a negative generation', item: { ...newRecord(REF, REQ), generation: -1 } },
      { name: 'a string', item: { value: 'x' } },
    ];
    for (const c of corrupt) {
      it(`get and update throw TILEDESK_STORAGE for ${c.name}`, async () => {
        const key = storageKeys.conversation(CONV);
        await storage.write({ [key]: c.item });
        for (const call of [() => store.get(CONV), () => store.update(CONV, (r) => r)]) {
          let caught: unknown;
          await call().catch((e: unknown) => (caught = e));
          expect(caught).to.be.instanceOf(TiledeskError);
          const error = caught as TiledeskError;
          expect(error.code).to.equal('TILEDESK_STORAGE');
          expect(error.message).to.equal(
            `[botbuilder-tiledesk] Stored item ${key} is not a valid conversation record`,
          );
          expect(error.context['key']).to.equal(key);
          expect(error.context['problem']).to.be.a('string').and.not.equal('');
        }
      });
    }
  });

  describe('withDelivered / wasDelivered', () => {
    it('appends id@createdAt, newest last, without mutating the input', () => {
      const record = newRecord(REF, REQ);
      const next = withDelivered(withDelivered(record, 'm1', 't1'), 'm2', 't2');
      expect(next.delivered).to.deep.equal(['m1@t1', 'm2@t2']);
      expect(record.delivered).to.deep.equal([]);
      expect(next).to.deep.equal({ ...record, delivered: ['m1@t1', 'm2@t2'] });
      expect(wasDelivered(next, 'm1', 't1')).to.equal(true);
      expect(wasDelivered(next, 'm3', 't3')).to.equal(false);
    });

    it('keeps the newest 20 entries and remembers the newest evicted time as a floor', () => {
      let record = newRecord(REF, REQ);
      const at = (i: number) => `2026-11-26T14:00:${String(i).padStart(3, '0')}Z`;
      for (let i = 0; i < 25; i++) record = withDelivered(record, `m${i}`, at(i));
      expect(record.delivered).to.have.length(20);
      expect(record.delivered[0]).to.equal(`m5@${at(5)}`);
      expect(record.deliveredFloor).to.equal(at(4));
      expect(wasDelivered(record, 'm2', at(2))).to.equal(true); // evicted, but under the floor
      expect(wasDelivered(record, 'new', at(200))).to.equal(false);
    });

    it('exactly 20 entries are all kept, with no floor', () => {
      let record = newRecord(REF, REQ);
      for (let i = 0; i < 20; i++) record = withDelivered(record, `m${i}`, `t${i}`);
      expect(record.delivered[0]).to.equal('m0@t0');
      expect(record.deliveredFloor).to.equal(undefined);
      expect(withDelivered(record, 'm20', 't20').delivered[0]).to.equal('m1@t1');
    });
  });
});
