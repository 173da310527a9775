import type { AxiosInstance } from 'axios';
import type { TiledeskError } from '../errors';
import { createNodeWebhookHandler, type NodeWebhookHandler } from '../http-handler';
import { createLogger, type Logger } from '../logger';
import {
  type AppSettings,
  resolveSettings,
  type TiledeskSettings,
  type TiledeskSettingsInput,
} from '../settings';
import type { VersionedStorage } from '../storage/versioned-storage';
import type { TiledeskApi } from '../tiledesk/client';
import { Engine, type HandoffStatus } from './engine';
import type { StartResult, TiledeskHealth } from './health';
import type { Host } from './host';
import { ProactiveTurns } from './proactive';
import { TurnPolicy } from './turn-policy';
import type { Clock, ConversationRef, KeyValueStorage } from './types';

/**
 * Everything the middleware is, for any bot SDK: settings, the engine, the webhook handler and
 * the turn policy. A binding subclasses it with its SDK's `TurnContext` as `C` and a `Host`.
 */

/** The options every binding takes (the binding adds its adapter, bot and recognizer). */
export interface TiledeskCommonOptions {
  /** App settings with PascalCase keys (`TiledeskProjectId`, …); default `process.env`. */
  appSettings?: AppSettings;
  /** Programmatic settings (camelCase); they override `appSettings`. */
  settings?: TiledeskSettingsInput;
  logger?: Partial<Logger>;
  /** Every background failure lands here (default: `logger.error`). Never thrown into a turn. */
  onError?: (error: TiledeskError) => void;
  /** Advanced: HTTP client, Tiledesk API, clock, randomness and this instance's id. */
  http?: AxiosInstance;
  api?: TiledeskApi;
  clock?: Clock;
  random?: () => number;
  instanceId?: string;
  /** Advanced (tests, tuning): lease, handoff limit, delivery retry and reorder lengths, in ms. */
  leaseMs?: number;
  handoffLimitMs?: number;
  deliveryMaxAgeMs?: number;
  reorderWindowMs?: number;
  /**
   * Advanced: the bot's token for downloading users' files from the channel's service (default:
   * from the adapter's app credentials, see README "Files users send"); and the HTTP client used.
   */
  attachmentToken?: (reference: ConversationRef) => Promise<string | undefined>;
  attachmentHttp?: AxiosInstance;
}

const ENGINE_OPTIONS = [
  'logger',
  'onError',
  'http',
  'api',
  'clock',
  'random',
  'instanceId',
  'leaseMs',
  'handoffLimitMs',
  'deliveryMaxAgeMs',
  'reorderWindowMs',
  'attachmentHttp',
] as const;

export abstract class TiledeskMiddleware<C> {
  readonly settings: TiledeskSettings;
  /** Mount on your server: `server.post('/api/tiledesk', tiledesk.webhookHandler)`. */
  readonly webhookHandler: NodeWebhookHandler;
  /** @internal The core, for tests and benchmarks. */
  protected readonly engine: Engine;
  private readonly policy: TurnPolicy<C>;
  private readonly host: Host<C>;

  protected constructor(
    host: (settings: TiledeskSettings) => Host<C>,
    storage: KeyValueStorage | VersionedStorage,
    options: TiledeskCommonOptions,
  ) {
    this.settings = resolveSettings(
      options.appSettings ?? process.env,
      options.settings,
      createLogger(options.logger),
    );
    const sdk = host(this.settings);
    this.host = sdk;
    const proactive = new ProactiveTurns(sdk);
    const deps: Partial<Pick<TiledeskCommonOptions, (typeof ENGINE_OPTIONS)[number]>> = {};
    for (const k of ENGINE_OPTIONS)
      if (options[k] !== undefined) Object.assign(deps, { [k]: options[k] });
    this.engine = new Engine(this.settings, { ...deps, storage, user: proactive.channel() });
    this.policy = new TurnPolicy(sdk, this.engine, this.settings, proactive, this.engine.onError);
    this.webhookHandler = createNodeWebhookHandler((request) =>
      this.engine.webhook.handle(request),
    );
  }

  /**
   * Signs in, makes sure Tiledesk's webhook subscriptions exist (idempotent) and checks that the
   * webhook URL reaches this bot. Never rejects: resolves with what it could not do (also sent
   * to `onError`); the bot runs either way, and failed steps are retried periodically.
   */
  start(): Promise<StartResult> {
    return this.engine.start();
  }

  /** What works and what does not, for your health route (see README, Health and troubleshooting). */
  health(): TiledeskHealth {
    return this.engine.health();
  }

  /** Resolves once every queued post and delivery is done. */
  whenIdle(): Promise<void> {
    return this.engine.whenIdle();
  }

  /**
   * Graceful shutdown: finishes pending posts and deliveries within `deadlineMs`; whatever is
   * left stays in storage and is taken over by the next `start()` (here or on another instance).
   */
  stop(deadlineMs = 5000): Promise<void> {
    return this.engine.stop(deadlineMs);
  }

  /** Starts a handoff from bot code; false if the conversation already is with a human. */
  handoff(context: C, handoffContext?: unknown): Promise<boolean> {
    return this.policy.handoff(context, handoffContext);
  }

  /**
   * Ends the conversation's handoff from bot code: the user is told (`TiledeskTextEnded`, or
   * `text`), the bot gets `handoff.status completed` with `reason`, answers again at once, and the
   * request is closed in Tiledesk. Takes a turn's context or a stored conversation reference.
   * False if the conversation was not with a human.
   */
  endHandoff(
    contextOrReference: C | ConversationRef,
    reason = 'ended by the bot',
    text = this.settings.textEnded,
  ): Promise<boolean> {
    return this.engine.endHandoff(this.referenceOf(contextOrReference), reason, text);
  }

  /** Whether the conversation is with the bot, waiting for an agent, or with one (and whom). */
  statusOf(contextOrReference: C | ConversationRef): Promise<HandoffStatus> {
    return this.engine.statusOf(this.referenceOf(contextOrReference));
  }

  private referenceOf(contextOrReference: C | ConversationRef): ConversationRef {
    const ref = contextOrReference as ConversationRef;
    // A reference has the conversation at its top level; a turn context has it on its activity.
    if (typeof ref === 'object' && ref !== null && ref.conversation && !('activity' in ref))
      return ref;
    return this.host.turn(contextOrReference as C).reference();
  }

  /** The middleware hook (`adapter.use(tiledesk)`). */
  onTurn(context: C, next: () => Promise<void>): Promise<void> {
    return this.policy.onTurn(context, next);
  }
}
