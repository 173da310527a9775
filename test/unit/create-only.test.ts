import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import { Credentials } from '../../lib/core/credentials';
import { newRecord } from '../../lib/core/record';
import { append } from '../../lib/core/record-outbox';
import { RecordStore } from '../../lib/core/record-store';
import { ShardedSet } from '../../lib/core/sharded-set';
import { systemClock } from '../../lib/core/types';
import { toVersionedStorage } from '../../lib/storage/adapt';
import type { TiledeskApi } from '../../lib/tiledesk/client';

/** Issue 8 #6: nothing new is ever written with eTag '*': the first writer wins, others adopt. */
describe('create-only writes (two instances, one storage)', () => {
  it('one new end user signed in on two instances at once gets ONE Tiledesk identity', async () => {
    const storage = toVersionedStorage(new MemoryStorage());
    let n = 0;
    const api = {
      signInAnonymously: async () => {
        const id = `anon-${++n}`;
        await new Promise((r) => setTimeout(r, 5));
        return { token: `token-${id}`, userId: id };
      },
    } as unknown as TiledeskApi;
    const make = () =>
      new Credentials({
        api,
        storage,
        clock: systemClock,
        projectId: 'p',
        email: 'e',
        password: 'x',
        projectSecret: undefined,
      });
    const user = { id: 'p_webchat_abc', name: 'Ann' };
    const [a, b] = await Promise.all([make().endUser(user, true), make().endUser(user, true)]);
    expect(n).to.equal(2); // both signed in anonymously...
    expect(a.tiledeskId).to.equal(b.tiledeskId); // ...but both use the first one stored
  });

  it('two instances creating the same new conversation both keep their entries', async () => {
    const storage = toVersionedStorage(new MemoryStorage());
    const s1 = new RecordStore(storage);
    const s2 = new RecordStore(storage);
    const ref = { channelId: 'webchat', conversation: { id: 'c' } };
    const add = (store: RecordStore, key: string) =>
      store.update('k'.repeat(32), (current) => ({
        next: append(
          current ?? newRecord(ref, 0),
          [{ key, kind: 'user', at: 0, activity: { type: 'message' } }],
          key,
          0,
          60_000,
        ).next,
        result: undefined,
      }));
    await Promise.all([add(s1, 'from-1'), add(s2, 'from-2')]);
    const stored = await s1.read('k'.repeat(32));
    expect(stored?.record.outbox.map((e) => e.key).sort()).to.deep.equal(['from-1', 'from-2']);
  });

  it('two instances adding to a new index shard at once: both members stay', async () => {
    const storage = toVersionedStorage(new MemoryStorage());
    const a = new ShardedSet(storage, 'idx');
    const b = new ShardedSet(storage, 'idx');
    await Promise.all([a.add('0aaa'), b.add('0bbb')]); // same shard ('0')
    expect((await a.all()).sort()).to.deep.equal(['0aaa', '0bbb']);
  });
});
