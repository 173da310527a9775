/**
 * The hooks every end-to-end suite that runs the sample bot needs: before, the channel, the
 * admin and the agent signed in (the agent available), the sample started with the suite's app
 * settings and its webhook subscriptions in place; its output shown when a test fails; after,
 * its subscriptions removed (first, so Tiledesk stops delivering before the bot stops answering),
 * the suite's own clean-up, the sample and the channel stopped.
 */
import { FakeChannel } from '../support/fake-channel';
import { type SampleProcess, startSampleProcess } from '../support/sample-process';
import { eventually, TiledeskActor } from './agent';
import { freePort } from './sample-env';
import type { E2eTarget } from './target';

export interface SampleSuite {
  readonly admin: TiledeskActor;
  readonly agent: TiledeskActor;
  readonly channel: FakeChannel;
  /** The running sample (set by the `before` hook). */
  readonly sample: SampleProcess;
  readonly webhookUrl: string;
}

export interface SampleSuiteOptions {
  /** Names the process in its output. */
  name: string;
  /** The sample's app settings, for its port and webhook URL. */
  env(port: number, webhookUrl: string): Record<string, string>;
  /** After the sample started (e.g. wait for something it creates). */
  ready?(suite: SampleSuite): Promise<void>;
  /** Before the sample stops. */
  cleanup?(suite: SampleSuite): Promise<void>;
}

export function sampleSuite(target: E2eTarget, o: SampleSuiteOptions): SampleSuite {
  let sample: SampleProcess | undefined;
  let webhookUrl = '';
  const suite: SampleSuite = {
    admin: new TiledeskActor(target, target.admin),
    agent: new TiledeskActor(target, target.agent),
    channel: new FakeChannel(),
    get sample() {
      if (!sample) throw new Error(`${o.name}: the sample bot is not running`);
      return sample;
    },
    get webhookUrl() {
      return webhookUrl;
    },
  };

  before(async () => {
    await suite.channel.start();
    await suite.admin.signIn();
    await suite.agent.signIn();
    await suite.agent.setAvailable(true);
    // Against a remote Tiledesk the bot listens where the tunnel points (one suite at a time).
    const port = target.botPort || (await freePort());
    webhookUrl = target.webhookUrl ?? `http://127.0.0.1:${port}/api/tiledesk`;
    sample = await startSampleProcess({
      name: o.name,
      env: o.env(port, webhookUrl),
      echo: process.env['TILEDESK_E2E_ECHO'] === '1',
    });
    await eventually('the webhook subscriptions', async () =>
      (await suite.admin.subscriptions()).some((s) => s.target === webhookUrl) ? true : undefined,
    );
    await o.ready?.(suite);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && sample) {
      process.stderr.write(`--- sample bot output (${o.name}) ---\n${sample.output.join('')}\n`);
    }
  });

  after(async () => {
    for (const s of await suite.admin.subscriptions().catch(() => [])) {
      if (s.target === webhookUrl) {
        await suite.admin.deleteSubscription(s._id).catch(() => undefined);
      }
    }
    await o.cleanup?.(suite).catch(() => undefined);
    await sample?.stop();
    await suite.channel.stop();
    await suite.agent.setAvailable(true).catch(() => undefined);
  });

  return suite;
}
