import { MemoryStorage } from '@microsoft/agents-hosting';
import { startServer } from '@microsoft/agents-hosting-express';
import { type AppSettings, TiledeskHandoff } from '../../lib/agents';
import { createEchoAgent } from './agent';

export interface AgentsSample {
  url: string;
  tiledesk: TiledeskHandoff;
  /** Stops the middleware (startServer gives no handle to close its listener: exit the process). */
  stop(): Promise<void>;
}

/**
 * The whole sample agent: an `AgentApplication` on the Agents SDK's own express server
 * (`startServer`, which listens on `port`), with the Tiledesk middleware and its webhook route.
 * `settings` may be a function of the agent's URL (the demo needs it for the webhook URL).
 */
export async function startAgentsSample(
  settings: AppSettings | ((url: string) => AppSettings),
  port: number,
): Promise<AgentsSample> {
  const url = `http://127.0.0.1:${port}`;
  const env = typeof settings === 'function' ? settings(url) : settings;
  const agent = createEchoAgent();

  // --- botbuilder-tiledesk: these lines are all an agent needs ---
  const tiledesk = new TiledeskHandoff({
    adapter: agent.adapter,
    agent,
    appSettings: env,
    storage: new MemoryStorage(), // share one storage across instances in production
  });
  agent.adapter.use(tiledesk);
  startServer(agent, {
    port,
    beforeListen: (app) => app.post('/api/tiledesk', tiledesk.webhookHandler),
  });
  await tiledesk.start();
  // -------------------------------------------------------------

  return { url, tiledesk, stop: () => tiledesk.stop() };
}
