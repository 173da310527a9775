import { type CloudAdapter, MemoryStorage, type Storage, type TurnContext } from 'botbuilder';
import type { TiledeskApi, TiledeskError } from '../../lib';
import type { Intents } from '../../lib/core/triggers';
import {
  type AnyTiledesk,
  bind,
  type BindingName,
  type BoundBot,
  type CommonOptions,
  type TestLogic,
  type TestTurn,
} from './bindings';
import { type RestifyServer, startHttpServer } from './bot-server';
import { FakeChannel, type FakeUser } from './fake-channel';
import { TiledeskStandIn, type StandInOptions } from './tiledesk-standin';

/**
 * The whole loop on loopback: a fake Bot Framework channel ⇄ a real CloudAdapter + restify bot
 * with the Tiledesk middleware ⇄ the Tiledesk stand-in (which posts webhooks back to the bot).
 */
export interface Harness {
  binding: BindingName;
  standin: TiledeskStandIn;
  channel: FakeChannel;
  bot: { url: string; messagesUrl: string; errors: Error[]; server: RestifyServer };
  /** The botbuilder adapter (botbuilder-only tests; throws under the Agents SDK binding). */
  adapter: CloudAdapter;
  tiledesk: AnyTiledesk;
  /** `handoff.status` (and other) events the default bot received. */
  events: { name: string | undefined; value: unknown }[];
  /** The bot's own proactive message into a conversation (through its SDK's adapter). */
  proactive(reference: Record<string, unknown>, text: string): Promise<void>;
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
  /** Which SDK binding runs the bot (default botbuilder). */
  binding?: BindingName;
  standin?: StandInOptions;
  /** Run against an existing stand-in and channel (left running by `stop()`). */
  shared?: { standin: TiledeskStandIn; channel: FakeChannel };
  /** The bot's logic, SDK-neutral; default: an echo bot ("Echo: <text>") recording events. */
  logic?: TestLogic;
  /** botbuilder only: the bot's own turn handler, used as is. */
  native?: (context: TurnContext) => Promise<void>;
  /** A recognizer's intents for a turn. */
  recognize?: (turn: TestTurn) => Promise<Intents>;
  tiledesk?: Partial<CommonOptions>;
  settings?: Record<string, string>;
  storage?: Storage;
  /** Do not call tiledesk.start() (no subscriptions). */
  noStart?: boolean;
  /** Builds the Tiledesk API the middleware uses, from the resolved app settings. */
  makeApi?: (settings: Record<string, string | undefined>) => TiledeskApi;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const standin =
    options.shared?.standin ??
    new TiledeskStandIn({
      commandDelayMs: 5,
      webhookRetryDelaysMs: [20, 40],
      ...options.standin,
    });
  const channel = options.shared?.channel ?? new FakeChannel();
  if (!options.shared) {
    await standin.start();
    await channel.start();
  }
  const events: Harness['events'] = [];
  const echo: TestLogic = async (turn) => {
    if (turn.activity.type === 'message') await turn.send(`Echo: ${turn.activity.text ?? ''}`);
    else if (turn.activity.type === 'event')
      events.push({ name: turn.activity.name, value: turn.activity.value });
  };
  let bound: BoundBot | undefined;
  let webhookDown = false;
  const http = await startHttpServer((server) => {
    server.post('/api/messages', async (req, res) => {
      if (!bound) throw new Error('bot not ready');
      await bound.process(req, res);
    });
    // Before restify's body parser (`pre`), as the README advises: the secret is checked
    // before the body is read.
    server.pre((req, res, next) => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/api/tiledesk') return next();
      if (!bound) throw new Error('webhook not ready');
      if (webhookDown) {
        res.statusCode = 503;
        res.end();
        return;
      }
      void bound.tiledesk.webhookHandler(req, res);
    });
  });
  const bot = {
    url: http.url,
    messagesUrl: `${http.url}/api/messages`,
    errors: [] as Error[],
    server: http.server,
  };
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
  const binding = options.binding ?? 'botbuilder';
  bound = bind(binding, {
    logic: options.logic ?? echo,
    ...(options.recognize ? { recognize: options.recognize } : {}),
    ...(options.native ? { native: options.native } : {}),
    tiledesk: {
      storage,
      onError: (e) => errors.push(e),
      appSettings,
      ...(options.makeApi ? { api: options.makeApi(appSettings) } : {}),
      ...options.tiledesk,
    },
  });
  bot.errors = bound.errors;
  const tiledesk = bound.tiledesk;
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
    binding,
    standin,
    channel,
    bot,
    get adapter(): CloudAdapter {
      if (bound.name !== 'botbuilder') throw new Error('a botbuilder-only test ran on ' + binding);
      return bound.adapter;
    },
    tiledesk,
    events,
    proactive: (reference, text) => bound.proactive(reference, text),
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
      await http.stop();
      if (options.shared) return;
      await channel.stop();
      await standin.stop();
    },
  };
}
