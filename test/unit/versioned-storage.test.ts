import { expect } from 'chai';
import { MemoryStorage, type Storage } from 'botbuilder';
import { MemoryStorage as AgentsMemoryStorage } from '@microsoft/agents-hosting';
import { BlobsStorage } from 'botbuilder-azure-blobs';
import { sanitizeBlobKey as upstreamSanitizeBlobKey } from 'botbuilder-azure-blobs/lib/sanitizeBlobKey';
import { isVersionedStorage, toVersionedStorage } from '../../lib/storage/adapt';
import { isBlobsStorageLike, sanitizeBlobKey } from '../../lib/storage/blobs';
import { isETagConflict } from '../../lib/storage/conflict';
import { escapeCosmosKey } from '../../lib/storage/cosmos-key';
import type { VersionedStorage } from '../../lib/storage/versioned-storage';
import { type Azurite, freshContainerName, startAzurite } from '../support/azurite';
import { cosmosError, fakeCosmosPartitionedStorage } from '../support/cosmos-fake';

/** A plain `Storage` that hides the wrapped storage's shape: the adapter must fall back. */
function opaque(storage: Storage): Storage {
  return {
    read: (keys) => storage.read(keys),
    write: (changes) => storage.write(changes),
    delete: (keys) => storage.delete(keys),
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

let keySeq = 0;
const freshKey = () => `conv/${++keySeq}|x:y;z`;

/**
 * The `VersionedStorage` contract for an exact adapter. `setup` gives the botbuilder storage (read
 * and written natively to check that both sides see the same items).
 */
function exactContract(setup: () => Storage) {
  let storage: Storage;
  let versioned: VersionedStorage;
  beforeEach(() => {
    storage = setup();
    versioned = toVersionedStorage(storage);
  });
  const valueOf = async (key: string) => (await versioned.read([key])).get(key)?.value;

  it('is recognised as exact', () => {
    expect(versioned.guarantees).to.equal('exact');
  });

  it('create on an absent key stores the value and returns its eTag', async () => {
    const key = freshKey();
    const eTag = await versioned.create(key, { n: 1, text: 'héllo ✓' });
    expect(eTag).to.be.a('string').and.not.equal('');
    const item = (await versioned.read([key])).get(key);
    expect(item).to.deep.equal({ value: { n: 1, text: 'héllo ✓' }, eTag });
    expect((await storage.read([key]))[key]).to.deep.equal({ n: 1, text: 'héllo ✓', eTag });
  });

  it('create on an existing key returns null and leaves the item alone', async () => {
    const key = freshKey();
    const eTag = await versioned.create(key, { n: 1 });
    expect(await versioned.create(key, { n: 2 })).to.equal(null);
    expect((await versioned.read([key])).get(key)).to.deep.equal({ value: { n: 1 }, eTag });
  });

  it('create on a key written natively returns null', async () => {
    const key = freshKey();
    await storage.write({ [key]: { n: 0 } });
    expect(await versioned.create(key, { n: 2 })).to.equal(null);
    expect(await valueOf(key)).to.deep.equal({ n: 0 });
  });

  it('create after a native delete succeeds', async () => {
    const key = freshKey();
    await versioned.create(key, { n: 1 });
    await storage.delete([key]);
    expect(await versioned.create(key, { n: 2 }))
      .to.be.a('string')
      .and.not.equal('');
    expect(await valueOf(key)).to.deep.equal({ n: 2 });
  });

  it('replace with a stale eTag returns null and leaves the item alone', async () => {
    const key = freshKey();
    const first = (await versioned.create(key, { n: 1 }))!;
    const second = (await versioned.replace(key, { n: 2 }, first))!;
    expect(await versioned.replace(key, { n: 3 }, first)).to.equal(null);
    expect((await versioned.read([key])).get(key)).to.deep.equal({ value: { n: 2 }, eTag: second });
  });

  it('replace with the current eTag returns a new eTag that works for the next replace', async () => {
    const key = freshKey();
    const first = (await versioned.create(key, { n: 1 }))!;
    const second = await versioned.replace(key, { n: 2 }, first);
    expect(second).to.be.a('string').and.not.oneOf(['', first]);
    const third = await versioned.replace(key, { n: 3 }, second!);
    expect(third).to.be.a('string').and.not.oneOf(['', first, second]);
    expect((await versioned.read([key])).get(key)).to.deep.equal({ value: { n: 3 }, eTag: third });
  });

  it('replace of a deleted or never written key returns null and does not create it', async () => {
    const key = freshKey();
    const eTag = (await versioned.create(key, { n: 1 }))!;
    await storage.delete([key]);
    expect(await versioned.replace(key, { n: 2 }, eTag)).to.equal(null);
    expect(await versioned.replace(freshKey(), { n: 2 }, eTag)).to.equal(null);
    expect(await versioned.read([key])).to.have.property('size', 0);
  });

  it("replace with '' or '*' (no item has them) returns null", async () => {
    const key = freshKey();
    await versioned.create(key, { n: 1 });
    expect(await versioned.replace(key, { n: 2 }, '')).to.equal(null);
    expect(await versioned.replace(key, { n: 3 }, '*')).to.equal(null);
    expect(await valueOf(key)).to.deep.equal({ n: 1 });
  });

  it('two writers that read the same eTag: exactly one replace wins', async () => {
    const key = freshKey();
    await versioned.create(key, { n: 0 });
    const [a, b] = await Promise.all([versioned.read([key]), versioned.read([key])]);
    const seen = a.get(key)!.eTag;
    expect(b.get(key)!.eTag).to.equal(seen);
    const results = await Promise.all([
      versioned.replace(key, { writer: 'a' }, seen),
      versioned.replace(key, { writer: 'b' }, a.get(key)!.eTag),
    ]);
    const winners = results.filter((r) => r !== null);
    expect(winners).to.have.length(1);
    const winner = results[0] !== null ? 'a' : 'b';
    expect((await versioned.read([key])).get(key)).to.deep.equal({
      value: { writer: winner },
      eTag: winners[0],
    });
  });

  it('many concurrent creates of one key: exactly one wins', async () => {
    const key = freshKey();
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => versioned.create(key, { writer: i })),
    );
    const winners = results.flatMap((r, i) => (r === null ? [] : [i]));
    expect(winners).to.have.length(1);
    expect((await versioned.read([key])).get(key)).to.deep.equal({
      value: { writer: winners[0] },
      eTag: results[winners[0]!],
    });
  });

  it('reads natively written items, and its eTags are the native ones', async () => {
    const key = freshKey();
    await storage.write({ [key]: { n: 1 } });
    const native = (await storage.read([key]))[key] as { eTag: string };
    const item = (await versioned.read([key])).get(key)!;
    expect(item).to.deep.equal({ value: { n: 1 }, eTag: native.eTag });
    const next = (await versioned.replace(key, { n: 2 }, item.eTag))!;
    await storage.write({ [key]: { n: 3, eTag: next } }); // native conditional write accepts it
    expect(await valueOf(key)).to.deep.equal({ n: 3 });
  });

  it('a native conditional write with an eTag the adapter replaced fails as a conflict', async () => {
    const key = freshKey();
    const first = (await versioned.create(key, { n: 1 }))!;
    await versioned.replace(key, { n: 2 }, first);
    const err = await rejectionOf(storage.write({ [key]: { n: 9, eTag: first } }));
    expect(isETagConflict(err)).to.equal(true);
  });

  it('read returns existing keys only, drops an eTag field from values it is given', async () => {
    const key = freshKey();
    const eTag = await versioned.create(key, { n: 1, eTag: 'ignored' });
    const found = await versioned.read([key, freshKey(), key]);
    expect([...found.keys()]).to.deep.equal([key]);
    expect(found.get(key)).to.deep.equal({ value: { n: 1 }, eTag });
    expect(await versioned.read([])).to.have.property('size', 0);
  });
}

/** What the fallback still promises when the storage enforces eTags (sequential use only). */
function fallbackContract(setup: () => Storage) {
  let versioned: VersionedStorage;
  beforeEach(() => {
    versioned = toVersionedStorage(opaque(setup()));
  });

  it("is 'fallback' and returns '' as eTag", async () => {
    expect(versioned.guarantees).to.equal('fallback');
    expect(await versioned.create(freshKey(), { n: 1 })).to.equal('');
  });

  it('create on an existing key returns null (sequentially)', async () => {
    const key = freshKey();
    await versioned.create(key, { n: 1 });
    expect(await versioned.create(key, { n: 2 })).to.equal(null);
    expect((await versioned.read([key])).get(key)?.value).to.deep.equal({ n: 1 });
  });

  it('replace: current eTag from a read wins, a stale one is a conflict (null)', async () => {
    const key = freshKey();
    await versioned.create(key, { n: 1 });
    const first = (await versioned.read([key])).get(key)!.eTag;
    expect(await versioned.replace(key, { n: 2 }, first)).to.equal('');
    expect(await versioned.replace(key, { n: 3 }, first)).to.equal(null);
    expect((await versioned.read([key])).get(key)?.value).to.deep.equal({ n: 2 });
  });

  it('two writers that read the same eTag: exactly one replace wins', async () => {
    const key = freshKey();
    await versioned.create(key, { n: 0 });
    const seen = (await versioned.read([key])).get(key)!.eTag;
    const results = await Promise.all([
      versioned.replace(key, { writer: 'a' }, seen),
      versioned.replace(key, { writer: 'b' }, seen),
    ]);
    expect(results.filter((r) => r !== null)).to.have.length(1);
  });
}

describe('VersionedStorage adapters', () => {
  describe('toVersionedStorage', () => {
    it('returns a VersionedStorage as is', () => {
      const own: VersionedStorage = {
        guarantees: 'exact',
        read: async () => new Map(),
        create: async () => 'e',
        replace: async () => 'e',
      };
      expect(isVersionedStorage(own)).to.equal(true);
      expect(toVersionedStorage(own)).to.equal(own);
      expect(isVersionedStorage(new MemoryStorage())).to.equal(false);
    });

    it('recognises MemoryStorage by shape, not by class', () => {
      const copy = Object.assign(opaque(new MemoryStorage()), { memory: {}, etag: 1 });
      expect(toVersionedStorage(new MemoryStorage()).guarantees).to.equal('exact');
      expect(toVersionedStorage(copy).guarantees).to.equal('exact');
      expect(toVersionedStorage(opaque(new MemoryStorage())).guarantees).to.equal('fallback');
    });

    it('refuses to claim exactness if MemoryStorage.write stores asynchronously', async () => {
      const storage = new MemoryStorage();
      const write = storage.write.bind(storage);
      storage.write = async (changes) => {
        await Promise.resolve();
        return write(changes);
      };
      const err = await rejectionOf(toVersionedStorage(storage).create('k', { n: 1 }));
      expect(String(err)).to.match(/did not store "k" synchronously/);
    });
  });

  describe('MemoryStorage (exact, in process)', () => {
    exactContract(() => new MemoryStorage());
  });

  describe('BlobsStorage on Azurite (exact)', function () {
    this.timeout(30_000);
    let azurite: Azurite | undefined;
    let container = '';
    before(async () => {
      azurite = await startAzurite();
      container = freshContainerName('versioned');
    });
    after(async () => azurite?.stop());
    const blobs = () => new BlobsStorage(azurite!.connectionString, container);

    exactContract(blobs);

    it('uses the same blob names as BlobsStorage (sanitizeBlobKey copy)', () => {
      const keys = ['a', 'a/b', '/a//b/', 'conv|1;x:y é?#%', 'x/'.repeat(300), 'k'.repeat(2000)];
      for (const key of keys) expect(sanitizeBlobKey(key)).to.equal(upstreamSanitizeBlobKey(key));
      expect(() => sanitizeBlobKey('')).to.throw(/non-empty key/);
    });

    it("the Blob SDK's own 412 (RestError ConditionNotMet) is an eTag conflict", async () => {
      const storage = blobs();
      const eTag = await toVersionedStorage(storage).create('rest-error', { n: 1 });
      const shaped: unknown = storage; // its fields are private in the class's typings
      if (!isBlobsStorageLike(shaped)) throw new Error('BlobsStorage not recognised');
      const blob = shaped._containerClient.getBlockBlobClient('rest-error');
      const err = await rejectionOf(
        blob.upload('{}', 2, {
          conditions: { ifMatch: `${eTag}-stale` },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        }),
      );
      expect(err).to.include({ statusCode: 412, code: 'ConditionNotMet' });
      expect(isETagConflict(err)).to.equal(true);
    });

    it('works on a container that does not exist yet (BlobsStorage creates it)', async () => {
      const storage = new BlobsStorage(azurite!.connectionString, freshContainerName('new'));
      expect(await toVersionedStorage(storage).create('k', { n: 1 })).to.match(/^"0x/);
      expect(await storage.read(['k'])).to.have.nested.property('k.n', 1);
    });

    describe('fallback over a wrapped BlobsStorage', () => {
      fallbackContract(blobs);
    });
  });

  describe('CosmosDbPartitionedStorage on a fake container (exact; no real Cosmos here)', () => {
    exactContract(() => fakeCosmosPartitionedStorage());

    it('stores the document shape, escaped id and partition key botbuilder-azure uses', async () => {
      const storage = fakeCosmosPartitionedStorage();
      const eTag = await toVersionedStorage(storage).create('a/b?c', { n: 1, eTag: 'x' });
      const doc = storage.fake.docs.get('a*2fb*3fc\na*2fb*3fc');
      expect(doc).to.deep.include({ id: 'a*2fb*3fc', realId: 'a/b?c', document: { n: 1 } });
      expect(doc?._etag).to.equal(eTag);
      expect(storage.initializations).to.equal(1);
    });

    it('addresses items without partition key in an old /_partitionKey container', async () => {
      const storage = fakeCosmosPartitionedStorage({ legacyContainer: true });
      const versioned = toVersionedStorage(storage);
      const first = (await versioned.create('k', { n: 1 }))!;
      expect(await versioned.replace('k', { n: 2 }, first)).to.be.a('string');
      expect(await storage.read(['k'])).to.have.nested.property('k.n', 2);
    });

    it('applies keySuffix (compatibilityMode off) like botbuilder-azure', async () => {
      const storage = fakeCosmosPartitionedStorage({ compatibilityMode: false, keySuffix: '-s' });
      await toVersionedStorage(storage).create('k', { n: 1 });
      expect([...storage.fake.docs.keys()]).to.deep.equal(['k-s\nk-s']);
      expect(await storage.read(['k'])).to.have.nested.property('k.n', 1);
    });

    it('escapes keys exactly as CosmosDbKeyEscape 4.23.3 does', () => {
      // Expected values produced by botbuilder-azure 4.23.3's CosmosDbKeyEscape.escapeKey.
      expect(escapeCosmosKey('plain-key', undefined, true)).to.equal('plain-key');
      expect(escapeCosmosKey('a/b?c#d\\e*f\tg\nh\ri', undefined, true)).to.equal(
        'a*2fb*3fc*23d*5ce*2af*9g*ah*di',
      );
      expect(escapeCosmosKey('conv|1;x:y', '-sfx', false)).to.equal('conv|1;x:y-sfx');
      expect(escapeCosmosKey('é/ü', undefined, true)).to.equal('é*2fü');
      expect(escapeCosmosKey('x'.repeat(300), undefined, false)).to.equal('x'.repeat(300));
      // botbuilder-azure would give a random bcrypt hash here (different on every call).
      expect(() => escapeCosmosKey('x'.repeat(256), undefined, true)).to.throw(/compatibilityMode/);
    });

    describe('fallback over a wrapped CosmosDbPartitionedStorage', () => {
      fallbackContract(() => fakeCosmosPartitionedStorage());
    });
  });

  describe('fallback over a wrapped MemoryStorage', () => {
    fallbackContract(() => new MemoryStorage());
  });

  describe('Agents SDK MemoryStorage (exact, in process: same shape as botbuilder’s)', () => {
    it('is recognised as exact', () => {
      expect(toVersionedStorage(new AgentsMemoryStorage()).guarantees).to.equal('exact');
    });
    exactContract(() => new AgentsMemoryStorage());
  });

  describe('isETagConflict', () => {
    it("recognises MemoryStorage's conflict error", async () => {
      const storage = new MemoryStorage();
      await storage.write({ k: { n: 1 } });
      const err = await rejectionOf(storage.write({ k: { n: 2, eTag: 'stale' } }));
      expect(String(err)).to.match(/due to eTag conflict/);
      expect(isETagConflict(err)).to.equal(true);
    });

    it("recognises the Agents SDK MemoryStorage's conflict error", async () => {
      const storage = new AgentsMemoryStorage();
      await storage.write({ k: { n: 1 } });
      const err = await rejectionOf(storage.write({ k: { n: 2, eTag: 'stale' } }));
      expect(String(err)).to.match(/due to eTag conflict/);
      expect(isETagConflict(err)).to.equal(true);
    });

    it('recognises the Blobs forms: BlobsStorage message, RestError 412 ConditionNotMet', () => {
      const wrapped = new Error('Storage: error writing "k" due to eTag conflict.');
      const rest = Object.assign(new Error('The condition specified ... is not met.'), {
        statusCode: 412,
        code: 'ConditionNotMet',
      });
      const codeOnly = Object.assign(new Error('x'), { code: 'ConditionNotMet' });
      expect([wrapped, rest, codeOnly].map(isETagConflict)).to.deep.equal([true, true, true]);
    });

    it('recognises the Cosmos form: code 412, "[Error upserting document] … pre-condition is not met"', async () => {
      const storage = fakeCosmosPartitionedStorage();
      await storage.write({ k: { n: 1 } });
      const err = await rejectionOf(storage.write({ k: { n: 2, eTag: '"stale"' } }));
      expect(String(err)).to.match(
        /^Error: \[Error upserting document\] .*pre-condition is not met/,
      );
      expect(isETagConflict(err)).to.equal(true);
      const messageOnly = new Error(
        '[Error upserting document] Message: {"Errors":["One of the specified pre-condition is not met"]}',
      );
      expect(isETagConflict(messageOnly)).to.equal(true);
      expect(isETagConflict({ code: 412 })).to.equal(true);
    });

    it('is false for other failures and non-errors', () => {
      const others: unknown[] = [
        cosmosError(409, 'Entity with the specified id already exists in the system.'),
        cosmosError(404, 'Entity with the specified id does not exist in the system.'),
        Object.assign(new Error('BlobAlreadyExists'), {
          statusCode: 409,
          code: 'BlobAlreadyExists',
        }),
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
        new Error('Storage: error writing "k"'),
        'eTag conflict',
        null,
        undefined,
        412,
      ];
      expect(others.map(isETagConflict)).to.deep.equal(others.map(() => false));
    });
  });
});
