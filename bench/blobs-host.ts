/**
 * BlobsStorage (botbuilder-azure-blobs) on a real Azure Blob Storage server: Azurite's blob
 * service, in memory, on loopback, in its own process (test/support/azurite.ts). Each section
 * starts its own: Azurite's in-memory store slows down as overwritten blobs pile up (its
 * clean-up runs every 10 minutes), which would make a later section pay for an earlier one.
 */
import { BlobsStorage } from 'botbuilder-azure-blobs';
import { type Azurite, freshContainerName, startAzurite } from '../test/support/azurite';

export interface BlobsHost {
  azurite: Azurite;
  /**
   * A BlobsStorage on a container of its own, created (and its first request made) before it
   * is returned, so no later operation pays for the container's creation.
   */
  storage(tag: string): Promise<BlobsStorage>;
  stop(): Promise<void>;
}

export async function startBlobs(): Promise<BlobsHost> {
  const azurite = await startAzurite();
  return {
    azurite,
    async storage(tag) {
      const storage = new BlobsStorage(azurite.connectionString, freshContainerName(tag));
      await storage.read(['bench/warm-up']); // creates the container, opens a connection
      return storage;
    },
    stop: () => azurite.stop(),
  };
}
