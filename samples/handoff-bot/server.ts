import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type RecognizerResult,
  type TurnContext,
} from 'botbuilder';
import type { AddressInfo } from 'node:net';
import { TiledeskHandoff } from '../../lib';
import type { AppSettings, HandoffRecognizer, TiledeskHandoffOptions } from '../../lib';
import { EchoBot } from './bot';
import { sampleStorage } from './storage';
import { createRequire } from 'node:module';

// restify 11 ships no type declarations; the sample types the few calls it makes.
interface RestifyServer {
  use(handler: unknown): void;
  pre(
    handler: (req: { method?: string; url?: string }, res: unknown, next: () => void) => void,
  ): void;
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

/**
 * Test-only (see ./index.ts): advanced middleware options the multi-process tests set, and
 * `triggers`, the other handoff triggers the end-to-end suite drives: an intent (a recognizer
 * that scores `Handoff` 0.9 for `[intent] …`), the `handoff.initiate` event and the code API.
 */
export type SampleTestOptions = Pick<TiledeskHandoffOptions, 'leaseMs' | 'instanceId'> & {
  triggers?: boolean;
};

const testRecognizer: HandoffRecognizer = {
  recognize: async (context) => {
    const text = context.activity.text ?? '';
    const intents: RecognizerResult['intents'] = {};
    if (/^\[intent\]/.test(text)) intents['Handoff'] = { score: 0.9 };
    return { text, intents };
  },
};

/**
 * The whole sample bot: CloudAdapter + restify + the Tiledesk middleware, from app settings.
 * `settings` may be a function of the bot's own URL (the demo listens on a free port first).
 * Storage: `BlobsStorage` with `BlobsStorageConnectionString` + `BlobsStorageContainerName`,
 * else `MemoryStorage` (see ./storage.ts).
 */
export async function startSampleServer(
  settings: AppSettings | ((botUrl: string) => AppSettings),
  port: number,
  host = '127.0.0.1',
  { triggers, ...advanced }: SampleTestOptions = {},
): Promise<SampleServer> {
  const testOnly = triggers ? { ...advanced, recognizer: testRecognizer } : advanced;
  const server = restify.createServer();
  server.use(restify.plugins.bodyParser());
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const url = `http://${host}:${server.address().port}`;
  const env = typeof settings === 'function' ? settings(url) : settings;
  const storage = await sampleStorage(env).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => server.close(resolve));
    throw err;
  });

  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication(
      env as ConfigurationBotFrameworkAuthenticationOptions,
    ),
  );
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    console.error('[sample] turn failed:', error.message);
    await context.sendActivity('Sorry, something went wrong.');
  };
  const bot = new EchoBot(
    triggers
      ? { handoff: (context, why): Promise<boolean> => tiledesk.handoff(context, why) }
      : undefined,
  );
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req as never, res as never, (context) => bot.run(context));
  });

  // --- botbuilder-tiledesk: these lines are all a bot needs ---
  const tiledesk = new TiledeskHandoff({ adapter, appSettings: env, bot, storage, ...testOnly });
  adapter.use(tiledesk);
  // Tiledesk webhooks, before restify's body parser: a wrong secret is refused unread.
  server.pre((req, res, next) =>
    req.method === 'POST' && req.url?.split('?')[0] === '/api/tiledesk'
      ? void tiledesk.webhookHandler(req as never, res as never)
      : next(),
  );
  await tiledesk.start();
  // -------------------------------------------------------------

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
