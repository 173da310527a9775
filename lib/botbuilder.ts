import type { AxiosInstance } from 'axios';
import {
  type Activity,
  ActivityEventNames,
  ActivityTypes,
  type BotAdapter,
  HandoffEventNames,
  MemoryStorage,
  type Middleware,
  type RecognizerResult,
  type ResourceResponse,
  type Storage,
  TurnContext,
} from 'botbuilder';
import { Engine, type TurnBatch } from './core/engine';
import type { StartResult, TiledeskHealth } from './core/health';
import { findKeyword, type HandoffTrigger, handoffScore } from './core/triggers';
import type { ChatActivity, Clock, ConversationRef } from './core/types';
import { asTiledeskError, type TiledeskError } from './errors';
import { createUserChannel, type ProactiveIntent } from './botbuilder-proactive';
import { createNodeWebhookHandler, type NodeWebhookHandler } from './http-handler';
import type { Logger } from './logger';
import {
  type AppSettings,
  resolveSettings,
  type TiledeskSettings,
  type TiledeskSettingsInput,
} from './settings';
import type { VersionedStorage } from './storage/versioned-storage';
import type { TiledeskApi } from './tiledesk/client';

/**
 * The botbuilder binding: the only file that knows Bot Framework types. It maps turns onto the
 * core `Engine` and gives the engine a `UserChannel` built on `continueConversationAsync`.
 */

/** Anything with botbuilder's `recognize(context)`: LuisRecognizer, a CLU or regex recognizer. */
export interface HandoffRecognizer {
  recognize(context: TurnContext): Promise<RecognizerResult>;
}

/** The bot's own turn handler (an `ActivityHandler`, or a function), for `handoff.status` events. */
export type BotLogic =
  { run(context: TurnContext): Promise<void> } | ((context: TurnContext) => Promise<void>);

export interface TiledeskHandoffOptions {
  /** The adapter the middleware is `use`d on; used for proactive sends. */
  adapter: Pick<BotAdapter, 'continueConversationAsync'>;
  /** App settings with PascalCase keys (`TiledeskProjectId`, …); default `process.env`. */
  appSettings?: AppSettings;
  /** Programmatic settings (camelCase); they override `appSettings`. */
  settings?: TiledeskSettingsInput;
  /**
   * Where conversation state lives; share one across instances (e.g. `BlobsStorage`). Default
   * `MemoryStorage`. A {@link VersionedStorage} of your own is accepted too.
   */
  storage?: Storage | VersionedStorage;
  /** Optional recognizer whose `TiledeskHandoffIntent` intent starts a handoff. */
  recognizer?: HandoffRecognizer;
  /** The bot's logic, so it receives `handoff.status` events through its turn pipeline. */
  bot?: BotLogic;
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
}

/** Per-turn state, kept in `turnState` under a symbol (botbuilder's advice for middleware). */
const SCOPE = Symbol('botbuilder-tiledesk turn');
interface TurnScope {
  batch: TurnBatch;
  capturing: boolean;
  /** Texts we send that are already stored for mirroring (the connecting notice). */
  stored: string[];
}

/**
 * Human handoff to Tiledesk as Bot Framework middleware.
 *
 * @example
 * const tiledesk = new TiledeskHandoff({ adapter, bot: myBot });
 * adapter.use(tiledesk);
 * server.post('/api/tiledesk', tiledesk.webhookHandler);
 * await tiledesk.start();
 */
export class TiledeskHandoff implements Middleware {
  readonly settings: TiledeskSettings;
  /** Mount on your server: `server.post('/api/tiledesk', tiledesk.webhookHandler)`. */
  readonly webhookHandler: NodeWebhookHandler;
  private readonly engine: Engine;
  private readonly intents = new WeakMap<object, ProactiveIntent>();

  constructor(private readonly options: TiledeskHandoffOptions) {
    this.settings = resolveSettings(options.appSettings ?? process.env, options.settings);
    this.engine = new Engine(this.settings, {
      storage: options.storage ?? new MemoryStorage(),
      user: createUserChannel({
        adapter: options.adapter,
        appId: () => this.settings.microsoftAppId,
        bot: options.bot,
        intents: this.intents,
      }),
      ...pick(options, [
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
      ]),
    });
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
  async handoff(context: TurnContext, handoffContext?: unknown): Promise<boolean> {
    const trigger: HandoffTrigger = { trigger: 'api', context: handoffContext };
    const scope = context.turnState.get(SCOPE) as TurnScope | undefined;
    if (scope) return this.begin(context, scope, trigger);
    const own: TurnScope = { batch: this.engine.batch(), capturing: false, stored: [] };
    try {
      return await this.begin(context, own, trigger);
    } finally {
      own.batch.commit();
    }
  }

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const scope: TurnScope = { batch: this.engine.batch(), capturing: false, stored: [] };
    context.turnState.set(SCOPE, scope);
    try {
      await this.route(context, next, scope);
    } finally {
      scope.batch.commit(); // also when the bot threw: what it sent is mirrored
    }
  }

  private async route(context: TurnContext, next: () => Promise<void>, scope: TurnScope) {
    const activity = context.activity;
    if (
      activity.type === ActivityTypes.Event &&
      activity.name === ActivityEventNames.ContinueConversation
    ) {
      const intent = activity.relatesTo ? this.intents.get(activity.relatesTo) : undefined;
      if (intent?.kind === 'agent' || intent?.kind === 'notice') return next(); // never mirrored
      if (intent?.kind === 'status') {
        // Turn the synthetic ContinueConversation into the handoff.status event the bot expects.
        Object.assign(activity, {
          name: HandoffEventNames.HandoffStatus,
          value: { state: intent.state, ...(intent.message ? { message: intent.message } : {}) },
        });
      }
    }
    if (activity.type !== ActivityTypes.Message) {
      this.capture(context, scope);
      return next();
    }
    const state = await this.engine.turn(referenceOf(activity));
    scope.batch.begin(state);
    scope.batch.user(toChat(activity));
    if (state.mode === 'handoff') return; // a human answers: the bot stays silent
    const trigger = await this.detect(context);
    if (trigger && (await this.begin(context, scope, trigger))) return;
    this.capture(context, scope);
    await next();
  }

  private async detect(context: TurnContext): Promise<HandoffTrigger | undefined> {
    const text = context.activity.text;
    const keyword = findKeyword(text, this.settings.handoffKeywords);
    if (keyword) return { trigger: 'keyword', keyword, ...(text ? { text } : {}) };
    if (!this.options.recognizer) return undefined;
    try {
      const result = await this.options.recognizer.recognize(context);
      const intent = this.settings.handoffIntent;
      const score = handoffScore(result.intents, intent, this.settings.handoffMinScore);
      if (score !== undefined)
        return { trigger: 'intent', intent, score, ...(text ? { text } : {}) };
    } catch (err) {
      this.report(err); // a failing recognizer never blocks the bot
    }
    return undefined;
  }

  private async begin(context: TurnContext, scope: TurnScope, trigger: HandoffTrigger) {
    // A bot that sent handoff.initiate speaks for itself; otherwise tell the user. The notice is
    // stored (to be mirrored) in the same write as the switch, before the user sees it.
    const notice = trigger.trigger !== 'event' ? this.settings.textConnecting : '';
    const started = await scope.batch.handoff(referenceOf(context.activity), trigger, notice);
    if (started && notice) {
      this.capture(context, scope);
      scope.stored.push(notice);
      await context.sendActivity(notice);
    }
    return started;
  }

  /**
   * Mirrors what the bot really sent (after the send succeeded), in order, and intercepts
   * `handoff.initiate` events: they start a handoff and are not sent to the channel.
   */
  private capture(context: TurnContext, scope: TurnScope): void {
    if (scope.capturing) return;
    scope.capturing = true;
    context.onSendActivities(async (_ctx, activities, nextSend) => {
      const initiations = removeHandoffInitiations(activities);
      const responses: ResourceResponse[] = activities.length > 0 ? await nextSend() : [];
      const messages = activities.filter(
        (a) => (a.type ?? ActivityTypes.Message) === ActivityTypes.Message,
      );
      if (messages.length > 0 || initiations.length > 0) {
        const ref = referenceOf(context.activity);
        for (const a of messages) {
          const stored = a.text === undefined ? -1 : scope.stored.indexOf(a.text);
          if (stored >= 0) scope.stored.splice(stored, 1);
          else scope.batch.bot(ref, toChat(a));
        }
        for (const ev of initiations) {
          await this.begin(context, scope, { trigger: 'event', context: ev.value });
        }
      }
      for (const { index } of initiations) responses.splice(index, 0, { id: '' });
      return responses;
    });
  }

  private report(err: unknown): void {
    const error = asTiledeskError(err, 'TILEDESK_RECOGNIZER');
    if (this.options.onError) this.options.onError(error);
    else this.engine.logger.error(error.message, { code: error.code });
  }
}

function referenceOf(activity: Activity): ConversationRef {
  return TurnContext.getConversationReference(activity) as ConversationRef;
}

function removeHandoffInitiations(
  activities: Partial<Activity>[],
): { index: number; value: unknown }[] {
  const removed: { index: number; value: unknown }[] = [];
  for (let i = 0; i < activities.length; i++) {
    const a = activities[i]!;
    if (a.type === ActivityTypes.Event && a.name === HandoffEventNames.InitiateHandoff) {
      removed.push({ index: i + removed.length, value: a.value });
      activities.splice(i--, 1);
    }
  }
  return removed;
}

/** Shallow copy of the fields the core reads (cheap; runs inside the turn). */
function toChat(a: Partial<Activity>): ChatActivity {
  const chat: ChatActivity = { type: a.type ?? ActivityTypes.Message };
  if (a.id) chat.id = a.id;
  if (a.text) chat.text = a.text;
  if (a.locale) chat.locale = a.locale;
  if (a.channelId) chat.channelId = a.channelId;
  if (a.attachments?.length) chat.attachments = a.attachments;
  if (a.suggestedActions) chat.suggestedActions = a.suggestedActions;
  return chat;
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
