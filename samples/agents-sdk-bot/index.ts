import { existsSync } from 'node:fs';
import { isTiledeskError } from '../../lib/agents';
import { startAgentsSample } from './server';

/**
 * `npm run sample:agents`: the echo agent with human handoff on the Microsoft 365 Agents SDK,
 * configured from the environment (a `.env` file in the working directory is read if present),
 * with the same Tiledesk settings as the botbuilder sample. Without `clientId` the Agents SDK
 * runs anonymously (local runs, NODE_ENV other than production).
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const port = Number(process.env['PORT'] || 3978);
  const sample = await startAgentsSample(process.env, port);
  console.log(
    `Agent listening on ${sample.url}: POST /api/messages (channel), POST /api/tiledesk (Tiledesk webhooks)`,
  );
  const shutdown = () => void sample.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(isTiledeskError(err) ? err.message : err);
  if (isTiledeskError(err) && err.code === 'TILEDESK_CONFIG') {
    console.error('\nSet these in the environment or in a .env file (see README).');
  }
  process.exit(1);
});
