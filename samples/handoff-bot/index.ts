import { existsSync } from 'node:fs';
import { isTiledeskError } from '../../lib';
import { type SampleTestOptions, startSampleServer } from './server';
import { SampleSettingError } from './storage';

function portSetting(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3978;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SampleSettingError('PORT', 'must be a whole number from 0 to 65535');
  }
  return port;
}

/**
 * TEST-ONLY hooks, read by test/integration/multi-process.test.ts (never set them in production):
 * `TILEDESK_TEST_LEASE_MS` shortens the outbox/claim lease and the heartbeat (a third of it) from
 * 60 s, so a killed instance is noticed within seconds; `TILEDESK_TEST_INSTANCE_ID` names this
 * instance in storage (leases, claims, `tiledesk/instances`) instead of a random UUID.
 * `TILEDESK_TEST_TRIGGERS=1` (test/e2e) adds the intent, event and code-API handoff triggers
 * (`[intent] …`, `[event] …`, `[api] …`; see ./server.ts and ./bot.ts).
 */
function testOnlyOptions(env: NodeJS.ProcessEnv): SampleTestOptions {
  const options: SampleTestOptions = {};
  const lease = env['TILEDESK_TEST_LEASE_MS'];
  if (lease !== undefined && lease.trim() !== '') {
    const ms = Number(lease);
    if (!Number.isInteger(ms) || ms < 300) {
      throw new SampleSettingError('TILEDESK_TEST_LEASE_MS', 'must be a whole number ≥ 300');
    }
    options.leaseMs = ms;
  }
  const id = env['TILEDESK_TEST_INSTANCE_ID']?.trim();
  if (id) options.instanceId = id;
  if (env['TILEDESK_TEST_TRIGGERS'] === '1') options.triggers = true;
  return options;
}

/**
 * `npm run sample`: the echo bot with human handoff, configured from the environment (a `.env`
 * file in the working directory is read if present). See the README for the settings.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const port = portSetting(process.env['PORT']);
  const host = process.env['HOST'] ?? '0.0.0.0';
  const sample = await startSampleServer(process.env, port, host, testOnlyOptions(process.env));
  console.log(
    `Bot listening on ${sample.url}: POST /api/messages (channel), POST /api/tiledesk (Tiledesk webhooks)`,
  );
  const shutdown = () => void sample.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  if (isTiledeskError(err)) {
    console.error(err.message);
    if (err.code === 'TILEDESK_CONFIG') {
      console.error(
        '\nSet these in the environment or in a .env file (see README), or run `npm run demo`.',
      );
    }
  } else if (err instanceof SampleSettingError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
