import { existsSync } from 'node:fs';
import { MemoryStorage } from '@microsoft/agents-hosting';
import { startServer } from '@microsoft/agents-hosting-express';
import { isTiledeskError, TiledeskHandoff } from '../../lib/agents';
import { createEchoAgent } from './agent';

/**
 * `npm run sample:agents`: the echo agent with human handoff on the Microsoft 365 Agents SDK,
 * configured from the environment (a `.env` file in the working directory is read if present),
 * with the same Tiledesk settings as the botbuilder sample. Without `clientId` the Agents SDK
 * runs anonymously (local runs, NODE_ENV other than production).
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const agent = createEchoAgent();

  // --- botbuilder-tiledesk: these lines are all an agent needs ---
  const tiledesk = new TiledeskHandoff({
    adapter: agent.adapter,
    agent,
    appSettings: process.env,
    storage: new MemoryStorage(), // share one storage across instances in production
  });
  agent.adapter.use(tiledesk);
  startServer(agent, {
    beforeListen: (app) => app.post('/api/tiledesk', tiledesk.webhookHandler),
  });
  await tiledesk.start();
  // -------------------------------------------------------------
  const port = process.env['PORT'] || '3978';
  console.log(
    `Agent listening on http://127.0.0.1:${port}: POST /api/messages (channel), POST /api/tiledesk (Tiledesk webhooks)`,
  );

  const shutdown = () => void tiledesk.stop().then(() => process.exit(0));
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
