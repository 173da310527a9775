import { randomUUID } from 'node:crypto';
import type { StoreItems } from 'botbuilder';
import { escapeCosmosKey } from '../../lib/storage/cosmos-key';
import type { CosmosDocument, CosmosStorageLike } from '../../lib/storage/cosmos';

/**
 * An in-memory stand-in for the `@azure/cosmos` v4 container API, behaving like the SDK against
 * a real account for the calls botbuilder-azure and our adapter make: `items.create` (409 on an
 * existing id), `items.upsert` and `item(id, pk).replace` with an `IfMatch` access condition
 * (412 on a stale `_etag`), `item(id, pk).read()` (resolves with no `resource` when missing, as the
 * SDK does), `item(id, pk).delete()` (404 when missing). Items live per partition key value, so a
 * wrong partition key finds nothing. Every call resolves after a macrotask, so concurrent calls
 * interleave. NOT a real Cosmos: no emulator runs here.
 */

interface StoredDoc extends CosmosDocument {
  _etag: string;
  _ts: number;
  [field: string]: unknown;
}
interface RequestOptions {
  accessCondition?: { type: string; condition: string };
}

const PRECONDITION = 'Message: {"Errors":["One of the specified pre-condition is not met"]}';

/** Shaped like the SDK's `ErrorResponse`: numeric `code`, the body's message as `message`. */
export function cosmosError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code, body: { message } });
}

const later = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeCosmosContainer {
  /** By `${partition key value}\n${id}`. */
  readonly docs = new Map<string, StoredDoc>();
  calls = 0;

  /** `'/id'` as botbuilder-azure creates; `'/_partitionKey'` for containers of old CosmosDbStorage. */
  constructor(readonly partitionKeyPath: '/id' | '/_partitionKey' = '/id') {}

  readonly items = {
    create: async (body: CosmosDocument) => {
      await this.enter();
      const slot = this.slotOf(body);
      if (this.docs.has(slot)) {
        throw cosmosError(409, 'Entity with the specified id already exists in the system.');
      }
      return this.store(slot, body);
    },
    upsert: async (body: CosmosDocument, options?: RequestOptions) => {
      await this.enter();
      const slot = this.slotOf(body);
      this.check(slot, options);
      return this.store(slot, body);
    },
  };

  item(id: string, partitionKey: string | undefined) {
    const slot = `${partitionKey ?? ''}\n${id}`;
    return {
      read: async () => {
        await this.enter();
        const doc = this.docs.get(slot);
        return { resource: doc && structuredClone(doc), statusCode: doc ? 200 : 404 };
      },
      replace: async (body: CosmosDocument, options?: RequestOptions) => {
        await this.enter();
        if (!this.docs.has(slot))
          throw cosmosError(404, 'Entity with the specified id does not exist in the system.');
        if (body.id !== id) throw cosmosError(400, 'The id of the body does not match the item.');
        this.check(slot, options);
        return this.store(slot, body);
      },
      delete: async () => {
        await this.enter();
        if (!this.docs.delete(slot)) {
          throw cosmosError(404, 'Entity with the specified id does not exist in the system.');
        }
        return { statusCode: 204 };
      },
    };
  }

  private async enter(): Promise<void> {
    this.calls++;
    await later();
  }

  private slotOf(body: CosmosDocument): string {
    const doc = body as unknown as Record<string, unknown>;
    const pk = this.partitionKeyPath === '/id' ? body.id : doc['_partitionKey'];
    return `${typeof pk === 'string' ? pk : ''}\n${body.id}`;
  }

  private check(slot: string, options: RequestOptions | undefined): void {
    const condition = options?.accessCondition;
    if (condition?.type === 'IfMatch' && this.docs.get(slot)?._etag !== condition.condition) {
      throw cosmosError(412, PRECONDITION);
    }
  }

  private store(slot: string, body: CosmosDocument) {
    const doc: StoredDoc = {
      ...(JSON.parse(JSON.stringify(body)) as CosmosDocument),
      _etag: `"${randomUUID()}"`,
      _ts: Math.floor(Date.now() / 1000),
    };
    this.docs.set(slot, doc);
    return { resource: structuredClone(doc), etag: doc._etag, statusCode: 200 };
  }
}

/**
 * An object shaped like `CosmosDbPartitionedStorage` (botbuilder-azure 4.23.3) over a
 * `FakeCosmosContainer`: same fields, and `read`/`write`/`delete` ported from its source (same
 * document shape, key escaping, partition key and error messages).
 */
export function fakeCosmosPartitionedStorage(
  options: { compatibilityMode?: boolean; keySuffix?: string; legacyContainer?: boolean } = {},
) {
  const fake = new FakeCosmosContainer(options.legacyContainer ? '/_partitionKey' : '/id');
  const cosmosDbStorageOptions = {
    databaseId: 'db',
    containerId: 'bot-state',
    compatibilityMode: options.compatibilityMode ?? true,
    keySuffix: options.keySuffix,
  };
  const escape = (key: string) =>
    escapeCosmosKey(
      key,
      cosmosDbStorageOptions.keySuffix,
      cosmosDbStorageOptions.compatibilityMode,
    );
  const storage = {
    fake,
    cosmosDbStorageOptions,
    compatibilityModePartitionKey: false,
    container: undefined as FakeCosmosContainer | undefined,
    initializations: 0,
    async initialize(): Promise<void> {
      if (!storage.container) {
        storage.initializations++;
        await later();
        storage.compatibilityModePartitionKey = !!options.legacyContainer;
        storage.container = fake;
      }
    },
    partitionKey(id: string): string | undefined {
      return storage.compatibilityModePartitionKey ? undefined : id;
    },
    async read(keys: string[]): Promise<StoreItems> {
      await storage.initialize();
      const items: StoreItems = {};
      for (const key of keys) {
        const id = escape(key);
        const { resource } = await fake.item(id, storage.partitionKey(id)).read();
        if (resource) items[resource.realId] = { ...resource.document, eTag: resource._etag };
      }
      return items;
    },
    async write(changes: StoreItems): Promise<void> {
      await storage.initialize();
      for (const [key, { eTag, ...change }] of Object.entries(changes) as [
        string,
        Record<string, unknown>,
      ][]) {
        const document: CosmosDocument = { id: escape(key), realId: key, document: change };
        const access =
          typeof eTag === 'string' && eTag !== '*' && eTag.length > 0
            ? { accessCondition: { type: 'IfMatch', condition: eTag } }
            : undefined;
        try {
          await fake.items.upsert(document, access);
        } catch (err) {
          if (err instanceof Error) err.message = `[Error upserting document] ${err.message}`;
          throw err;
        }
      }
    },
    async delete(keys: string[]): Promise<void> {
      await storage.initialize();
      for (const key of keys) {
        const id = escape(key);
        await fake
          .item(id, storage.partitionKey(id))
          .delete()
          .catch((err: { code?: unknown }) => {
            if (err.code !== 404) throw err;
          });
      }
    },
  };
  return storage satisfies CosmosStorageLike;
}
