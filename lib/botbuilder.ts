import {
  type Activity,
  type BotAdapter,
  ConfigurationServiceClientCredentialFactory,
  type ConversationReference,
  MemoryStorage,
  type Middleware,
  type RecognizerResult,
  type Storage,
  TurnContext,
} from 'botbuilder';
import type { Host, HostActivity } from './core/host';
import { TiledeskMiddleware, type TiledeskCommonOptions } from './core/middleware';
import type { ConversationRef } from './core/types';
import type { TiledeskSettings } from './settings';
import type { VersionedStorage } from './storage/versioned-storage';

/**
 * The botbuilder binding: the only file that knows botbuilder's types. It maps a `TurnContext`
 * onto the core's `HostTurn` and proactive sends onto `continueConversationAsync`; the turn
 * policy itself is the core's (lib/core/turn-policy.ts).
 */

/** Anything with botbuilder's `recognize(context)`: LuisRecognizer, a CLU or regex recognizer. */
export interface HandoffRecognizer {
  recognize(context: TurnContext): Promise<RecognizerResult>;
}

/** The bot's own turn handler (an `ActivityHandler`, or a function), for `handoff.status` events. */
export type BotLogic =
  { run(context: TurnContext): Promise<void> } | ((context: TurnContext) => Promise<void>);

export interface TiledeskHandoffOptions extends TiledeskCommonOptions {
  /** The adapter the middleware is `use`d on; used for proactive sends. */
  adapter: Pick<BotAdapter, 'continueConversationAsync'>;
  /**
   * Where conversation state lives; share one across instances (e.g. `BlobsStorage`). Default
   * `MemoryStorage`. A {@link VersionedStorage} of your own is accepted too.
   */
  storage?: Storage | VersionedStorage;
  /** Optional recognizer whose `TiledeskHandoffIntent` intent starts a handoff. */
  recognizer?: HandoffRecognizer;
  /** The bot's logic, so it receives `handoff.status` events through its turn pipeline. */
  bot?: BotLogic;
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
export class TiledeskHandoff extends TiledeskMiddleware<TurnContext> implements Middleware {
  constructor(options: TiledeskHandoffOptions) {
    super(
      (settings) => botbuilderHost(options, settings),
      options.storage ?? new MemoryStorage(),
      options,
    );
  }
}

function botbuilderHost(o: TiledeskHandoffOptions, settings: TiledeskSettings): Host<TurnContext> {
  const { bot, recognizer } = o;
  return {
    turn: (context) => ({
      activity: context.activity as HostActivity,
      reference: () => TurnContext.getConversationReference(context.activity) as ConversationRef,
      onSend: (hook) =>
        void context.onSendActivities((_c, activities, send) =>
          hook(activities as HostActivity[], send),
        ),
      send: async (activities) => {
        await context.sendActivities(activities.map(toActivity));
      },
      state: context.turnState,
    }),
    continueConversation: (reference, logic) =>
      o.adapter.continueConversationAsync(
        settings.microsoftAppId,
        // A reference stored by the Agents SDK binding names the bot `agent`, botbuilder `bot`.
        {
          ...reference,
          bot: reference['bot'] ?? reference['agent'],
        } as Partial<ConversationReference>,
        logic,
      ),
    ...(bot && {
      runBot: (context: TurnContext) =>
        typeof bot === 'function' ? bot(context) : bot.run(context),
    }),
    attachmentToken: o.attachmentToken ?? channelToken(o.appSettings ?? process.env, settings),
    ...(recognizer && {
      recognize: async (context: TurnContext) => (await recognizer.recognize(context)).intents,
    }),
  };
}

/**
 * The bot's Bot Framework token, for files on the channel's service (`/v3/attachments`, Direct
 * Line): from the same app settings `ConfigurationBotFrameworkAuthentication` reads
 * (`MicrosoftAppId`, `MicrosoftAppPassword`, `MicrosoftAppType`, `MicrosoftAppTenantId`; a
 * user-assigned managed identity works too). Without an app id (local runs): no token.
 */
function channelToken(
  appSettings: Record<string, string | undefined>,
  settings: TiledeskSettings,
): () => Promise<string | undefined> {
  const appId = settings.microsoftAppId;
  if (!appId) return () => Promise.resolve(undefined);
  let credentials: Promise<WithToken> | undefined;
  return async () => {
    credentials ??= new ConfigurationServiceClientCredentialFactory({
      MicrosoftAppId: appId,
      MicrosoftAppPassword: appSettings['MicrosoftAppPassword'],
      MicrosoftAppType: appSettings['MicrosoftAppType'],
      MicrosoftAppTenantId: appSettings['MicrosoftAppTenantId'],
    })
      // The default audience (api.botframework.com), as for replies.
      .createCredentials(appId, BOT_AUDIENCE, BOT_LOGIN_URL, true)
      .then((c) => c as WithToken);
    try {
      return await (await credentials).getToken?.();
    } catch (err) {
      credentials = undefined;
      throw err;
    }
  };
}

/** `AuthenticationConstants.ToChannelFromBotLoginUrl` and `…OAuthScope` (public cloud). */
const BOT_LOGIN_URL = 'https://login.microsoftonline.com/botframework.com';
const BOT_AUDIENCE = 'https://api.botframework.com';

/** `MicrosoftAppCredentials` and `ManagedIdentityAppCredentials` have `getToken()`. */
interface WithToken {
  getToken?(): Promise<string>;
}

function toActivity(a: HostActivity): Partial<Activity> {
  const out = { ...a } as Partial<Activity>;
  if (a.suggestedActions) {
    out.suggestedActions = { to: [], ...a.suggestedActions } as Activity['suggestedActions'];
  }
  return out;
}
