import {
  ActivityHandler,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  MemoryStorage,
  type Storage,
  type TurnContext,
} from 'botbuilder';
import {
  TiledeskHandoff,
  type TiledeskApi,
  type TiledeskHandoffOptions,
  type TiledeskError,
} from '../../lib';
import { startBotServer, type BotServer } from './bot-server';
import { FakeChannel, type FakeUser } from './fake-channel';
import { TiledeskStandIn, type StandInOptions } from './tiledesk-standin';

/**
 * The whole loop on loopback: a fake Bot Framework channel ⇄ a real CloudAdapter + restify bot
 * with the Tiledesk middleware ⇄ the Tiledesk stand-in (which posts webhooks back to the bot).
 */
export interface Harness {
  standin: TiledeskStandIn;
  channel: FakeChannel;
  bot: BotServer;
  tiledesk: TiledeskHandoff;
  storage: Storage;
  errors: TiledeskError[];
  user(
    conversationId: string,
    userId?: string,
    name?: string,
  ): FakeUser & { sayAndWait(text: string): Promise<void> };
  /** Makes the bot's webhook endpoint answer 503 (as if unreachable) while true. */
  setWebhookDown(down: boolean): void;
  settings: Record<string, string | undefined>;
  /** Waits until the middleware has nothing queued (posts and webhook deliveries). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  standin?: StandInOptions;
  /** The bot's logic; default: an echo bot ("Echo: <text>"). */
  logic?: (context: TurnContext) => Promise<void>;
  tiledesk?: Partial<Omit<TiledeskHandoffOptions, 'adapter'>>;
  settings?: Record<string, string>;
  storage?: Storage;
  /** Do not call tiledesk.start() (no subscriptions). */
  noStart?: boolean;
  /** Builds the Tiledesk API the middleware uses, from the resolved app settings. */
  makeApi?: (settings: Record<string, string | undefined>) => TiledeskApi;
}

export class EchoBot extends ActivityHandler {
  readonly events: { name: string | undefined; value: unknown }[] = [];
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`Echo: ${context.activity.text ?? ''}`);
      await next();
    });
    this.onEvent(async (context, next) => {
      this.events.push({ name: context.activity.name, value: context.activity.value });
      await next();
    });
  }
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const standin = new TiledeskStandIn({
    commandDelayMs: 5,
    webhookRetryDelaysMs: [20, 40],
    ...options.standin,
  });
  await standin.start();
  const channel = new FakeChannel();
  await channel.start();
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
  );
  const echo = new EchoBot();
  const logic = options.logic ?? ((context: TurnContext) => echo.run(context));
  let webhook: TiledeskHandoff['webhookHandler'] | undefined;
  let webhookDown = false;
  const bot = await startBotServer({
    adapter,
    logic,
    extraRoutes: (server) => {
      // Before restify's body parser (`pre`), as the README advises: the secret is checked
      // before the body is read.
      server.pre((req, res, next) => {
        if (req.method !== 'POST' || req.url?.split('?')[0] !== '/api/tiledesk') return next();
        if (!webhook) throw new Error('webhook not ready');
        if (webhookDown) {
          res.statusCode = 503;
          res.end();
          return;
        }
        void webhook(req, res);
      });
    },
  });
  const storage = options.storage ?? new MemoryStorage();
  const errors: TiledeskError[] = [];
  const appSettings = {
    TiledeskApiUrl: standin.url,
    TiledeskProjectId: standin.projectId,
    TiledeskEmail: standin.admin.email,
    TiledeskPassword: standin.admin.password,
    TiledeskProjectSecret: standin.projectSecret,
    TiledeskWebhookUrl: `${bot.url}/api/tiledesk`,
    TiledeskBotName: 'Echo Bot',
    MicrosoftAppId: '',
    ...options.settings,
  };
  const tiledesk = new TiledeskHandoff({
    adapter,
    storage,
    bot: logic,
    onError: (e) => errors.push(e),
    appSettings,
    ...(options.makeApi ? { api: options.makeApi(appSettings) } : {}),
    ...options.tiledesk,
  });
  webhook = tiledesk.webhookHandler;
  adapter.use(tiledesk);
  if (!options.noStart) await tiledesk.start();

  const settle = async () => {
    // Posts may trigger webhooks, which may trigger sends; loop until everything is quiet.
    for (let i = 0; i < 50; i++) {
      await tiledesk.whenIdle();
      await new Promise((r) => setTimeout(r, 10));
      const busy = standin.pendingWork ? standin.pendingWork() : 0;
      await tiledesk.whenIdle();
      if (busy === 0) return;
    }
  };

  return {
    standin,
    channel,
    bot,
    tiledesk,
    storage,
    errors,
    user: (conversationId, userId, name) => {
      const u = channel.user(conversationId, userId, name);
      return Object.assign(u, {
        sayAndWait: async (text: string) => {
          const r = await u.say(bot.messagesUrl, text);
          if (r.status !== 200) throw new Error(`bot answered ${r.status}`);
          await settle();
        },
      });
    },
    settle,
    settings: appSettings,
    setWebhookDown: (down) => {
      webhookDown = down;
    },
    stop: async () => {
      await tiledesk.stop(1000);
      await bot.stop();
      await channel.stop();
      await standin.stop();
    },
  };
}
