import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import { BlobsStorage } from 'botbuilder-azure-blobs';
import { startSampleServer, type SampleServer } from '../../samples/handoff-bot/server';
import { SampleSettingError, sampleStorage } from '../../samples/handoff-bot/storage';
import { type Azurite, freshContainerName, startAzurite } from '../support/azurite';
import { FakeChannel } from '../support/fake-channel';
import { TiledeskStandIn } from '../support/tiledesk-standin';

async function settingError(settings: Record<string, string>): Promise<SampleSettingError> {
  try {
    await sampleStorage(settings);
  } catch (err) {
    if (err instanceof SampleSettingError) return err;
    throw err;
  }
  throw new Error('expected a SampleSettingError');
}

/** The sample's storage switch: MemoryStorage by default, BlobsStorage from two settings. */
describe('samples/handoff-bot storage settings', function () {
  this.timeout(30_000);
  const SECRET = 'S3cr3tAccountKeyS3cr3tAccountKey==';

  it('uses MemoryStorage when no Blobs setting is given', async () => {
    expect(await sampleStorage({})).to.be.instanceOf(MemoryStorage);
    expect(await sampleStorage({ BlobsStorageContainerName: ' ' })).to.be.instanceOf(MemoryStorage);
  });

  it('names the missing setting when only one of the two is set, never echoing the key', async () => {
    const connectionString = `AccountName=a;AccountKey=${SECRET};BlobEndpoint=http://127.0.0.1:1/a;`;
    const noContainer = await settingError({ BlobsStorageConnectionString: connectionString });
    expect(noContainer.key).to.equal('BlobsStorageContainerName');
    expect(noContainer.message).to.include('BlobsStorageContainerName').and.not.include(SECRET);
    const noConnection = await settingError({ BlobsStorageContainerName: 'bot-state' });
    expect(noConnection.key).to.equal('BlobsStorageConnectionString');
  });

  it('rejects an invalid container name or connection string by setting name only', async () => {
    const bad = await settingError({
      BlobsStorageConnectionString: 'UseDevelopmentStorage=true;',
      BlobsStorageContainerName: 'Bot_State',
    });
    expect(bad.key).to.equal('BlobsStorageContainerName');
    const garbage = await settingError({
      BlobsStorageConnectionString: `AccountName=a;AccountKey=${SECRET}`,
      BlobsStorageContainerName: 'bot-state',
    });
    expect(garbage.key).to.equal('BlobsStorageConnectionString');
    expect(garbage.message).to.not.include(SECRET);
  });

  describe('with Azurite', () => {
    let azurite: Azurite | undefined;
    let standin: TiledeskStandIn;
    let channel: FakeChannel;
    const samples: SampleServer[] = [];
    before(async () => {
      azurite = await startAzurite();
    });
    after(async () => azurite?.stop());
    beforeEach(async () => {
      standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [20, 40] });
      await standin.start();
      channel = new FakeChannel();
      await channel.start();
    });
    afterEach(async () => {
      for (const sample of samples.splice(0)) await sample.stop();
      await channel.stop();
      await standin.stop();
    });

    it('returns a BlobsStorage when both settings are set', async () => {
      const storage = await sampleStorage({
        BlobsStorageConnectionString: azurite!.connectionString,
        BlobsStorageContainerName: freshContainerName('sample'),
      });
      expect(storage).to.be.instanceOf(BlobsStorage);
    });

    it('the middleware keeps its state in the Blobs container', async () => {
      const container = freshContainerName('sample');
      const sample = await startSampleServer(
        (url) => ({
          MicrosoftAppId: '',
          TiledeskApiUrl: standin.url,
          TiledeskProjectId: standin.projectId,
          TiledeskEmail: standin.admin.email,
          TiledeskPassword: standin.admin.password,
          TiledeskWebhookUrl: `${url}/api/tiledesk`,
          BlobsStorageConnectionString: azurite!.connectionString,
          BlobsStorageContainerName: container,
        }),
        0,
      );
      samples.push(sample);
      await channel.user('blob-conv').say(`${sample.url}/api/messages`, 'hi');
      await sample.tiledesk.whenIdle();
      expect(channel.texts('blob-conv')).to.deep.equal(['Echo: hi']);
      // BlobsStorage's (private) container client lists what the sample's middleware wrote.
      const { _containerClient: client } = new BlobsStorage(
        azurite!.connectionString,
        container,
      ) as unknown as { _containerClient: { listBlobsFlat(): AsyncIterable<{ name: string }> } };
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat()) names.push(blob.name);
      expect(names).to.not.be.empty;
    });
  });
});
