import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from 'botbuilder';
import type { AddressInfo } from 'node:net';
import { TiledeskHandoff } from '../../lib';
import type { AppSettings } from '../../lib';
import { EchoBot } from './bot';
import { createRequire } from 'node:module';

// restify 11 ships no type declarations; the sample types the few calls it makes.
interface RestifyServer {
  use(handler: unknown): void;
  post(path: string, handler: (req: unknown, res: unknown) => Promise<void>): void;
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
  address(): AddressInfo;
}
const restify = createRequire(__filename)('restify') as {
  createServer(): RestifyServer;
  plugins: { bodyParser(): unknown };
};

export interface SampleServer {
  url: string;
  tiledesk: TiledeskHandoff;
  adapter: CloudAdapter;
  stop(): Promise<void>;
}

/** The whole sample bot: CloudAdapter + restify + the Tiledesk middleware, from app settings. */
export async function startSampleServer(
  env: AppSettings,
  port: number,
  host = '127.0.0.1',
): Promise<SampleServer> {
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication(
      env as ConfigurationBotFrameworkAuthenticationOptions,
    ),
  );
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    console.error('[sample] turn failed:', error.message);
    await context.sendActivity('Sorry, something went wrong.');
  };
  const bot = new EchoBot();

  // --- botbuilder-tiledesk: these five lines are all a bot needs ---
  const tiledesk = new TiledeskHandoff({ adapter, appSettings: env, bot });
  adapter.use(tiledesk);
  const server = restify.createServer();
  server.use(restify.plugins.bodyParser());
  server.post(
    '/api/tiledesk',
    tiledesk.webhookHandler as (req: unknown, res: unknown) => Promise<void>,
  );
  // ----------------------------------------------------------------

  server.post('/api/messages', async (req, res) => {
    await adapter.process(req as never, res as never, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  await tiledesk.start();
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    tiledesk,
    adapter,
    stop: async () => {
      await tiledesk.stop();
      await new Promise<void>((resolve) => server.close(resolve));
    },
  };
}
