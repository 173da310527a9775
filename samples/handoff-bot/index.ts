import { existsSync } from 'node:fs';
import { isTiledeskError } from '../../lib';
import { startSampleServer } from './server';

/**
 * `npm run sample`: the echo bot with human handoff, configured from the environment (a `.env`
 * file in the working directory is read if present). See the README for the settings.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const port = Number(process.env['PORT'] ?? 3978);
  const host = process.env['HOST'] ?? '0.0.0.0';
  const sample = await startSampleServer(process.env, port, host);
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
  } else {
    console.error(err);
  }
  process.exit(1);
});
