import { Activity } from '@microsoft/agents-activity';
import {
  type AuthConfiguration,
  type CloudAdapter,
  MemoryStorage,
  MsalTokenProvider,
  type Middleware,
  type Storage,
  type TurnContext,
} from '@microsoft/agents-hosting';
import { type Host, type HostActivity, HandoffEvents } from './core/host';
import { TiledeskMiddleware, type TiledeskCommonOptions } from './core/middleware';
import type { Intents } from './core/triggers';
import type { ChatActivity, ConversationRef } from './core/types';
import type { TiledeskSettings } from './settings';
import type { VersionedStorage } from './storage/versioned-storage';

/**
 * The Microsoft 365 Agents SDK binding (`botbuilder-tiledesk/agents`): the only file that knows
 * `@microsoft/agents-hosting`'s types. Same core and turn policy as the botbuilder binding; this
 * file maps a `TurnContext` onto `HostTurn` and proactive sends onto
 * `CloudAdapter.continueConversation`.
 */

/** Anything with `recognize(context)` returning `{ intents }` (a CLU or regex recognizer). */
type ConversationReference = Parameters<CloudAdapter['continueConversation']>[1];

export interface HandoffRecognizer {
  recognize(context: TurnContext): Promise<{ intents?: Intents }>;
}

/** The agent's own turn handler (an `AgentApplication`, an `ActivityHandler` or a function). */
export type AgentLogic =
  { run(context: TurnContext): Promise<void> } | ((context: TurnContext) => Promise<void>);

export interface TiledeskHandoffOptions extends TiledeskCommonOptions {
  /** The adapter the middleware is `use`d on (e.g. `agent.adapter`); used for proactive sends. */
  adapter: Pick<CloudAdapter, 'continueConversation'>;
  /**
   * Where conversation state lives; share one across instances. Default `MemoryStorage`. A
   * {@link VersionedStorage} of your own is accepted too.
   */
  storage?: Storage | VersionedStorage;
  /** Optional recognizer whose `TiledeskHandoffIntent` intent starts a handoff. */
  recognizer?: HandoffRecognizer;
  /** The agent's logic, so it receives `handoff.status` events through its turn pipeline. */
  agent?: AgentLogic;
}

/**
 * Human handoff to Tiledesk as Microsoft 365 Agents SDK middleware.
 *
 * @example
 * const tiledesk = new TiledeskHandoff({ adapter, agent });
 * adapter.use(tiledesk);
 * startServer(agent, { beforeListen: (app) => app.post('/api/tiledesk', tiledesk.webhookHandler) });
 * await tiledesk.start();
 */
export class TiledeskHandoff extends TiledeskMiddleware<TurnContext> implements Middleware {
  constructor(options: TiledeskHandoffOptions) {
    super(
      (settings) => agentsHost(options, settings),
      options.storage ?? new MemoryStorage(),
      options,
    );
  }
}

function agentsHost(o: TiledeskHandoffOptions, settings: TiledeskSettings): Host<TurnContext> {
  const { agent, recognizer } = o;
  return {
    turn: (context) => ({
      activity: context.activity as HostActivity,
      reference: () => context.activity.getConversationReference() as ConversationRef,
      onSend: (hook) =>
        void context.onSendActivities((_c, activities, send) =>
          hook(activities as HostActivity[], send),
        ),
      send: async (activities) => {
        // The SDK validates the wire schema: suggested actions need their `to` list.
        await context.sendActivities(activities.map(toActivity));
      },
      state: context.turnState,
    }),
    continueConversation: (reference, logic) =>
      o.adapter.continueConversation(
        // `MicrosoftAppId`, else the adapter's own `clientId`; without either (local runs) an
        // identity whose `aud` is empty means anonymous (an empty string is refused).
        settings.microsoftAppId || clientIdOf(o.adapter) || { aud: '' },
        // A reference stored by the botbuilder binding names the bot `bot`, this SDK `agent`.
        { ...reference, agent: reference['agent'] ?? reference['bot'] } as ConversationReference,
        logic,
      ),
    attachmentToken: o.attachmentToken ?? channelToken(o.adapter),
    ...(agent && {
      runBot: (context: TurnContext) =>
        typeof agent === 'function' ? agent(context) : agent.run(context),
    }),
    ...(recognizer && {
      recognize: async (context: TurnContext) => (await recognizer.recognize(context)).intents,
    }),
  };
}

function toActivity(a: ChatActivity): Activity {
  const out = a.suggestedActions
    ? { ...a, suggestedActions: { to: [], ...a.suggestedActions } }
    : a;
  return out as unknown as Activity;
}

/**
 * The agent's Bot Framework token, for files on the channel's service (`/v3/attachments`, Direct
 * Line): MSAL with the adapter's own `authConfig` (client secret, certificate or managed
 * identity, as configured). Without a `clientId` (local runs): no token.
 */
function channelToken(adapter: object): () => Promise<string | undefined> {
  const config = (adapter as { authConfig?: AuthConfiguration }).authConfig;
  if (!config || !clientIdOf(adapter)) return () => Promise.resolve(undefined);
  const provider = new MsalTokenProvider(config);
  return () => provider.getAccessToken(config, 'https://api.botframework.com');
}

/** The app id the Agents SDK adapter was configured with (`clientId`; a protected field). */
function clientIdOf(adapter: object): string | undefined {
  const config = (adapter as { authConfig?: { clientId?: unknown } }).authConfig;
  return typeof config?.clientId === 'string' && config.clientId ? config.clientId : undefined;
}

/** The handoff protocol's event names (the Agents SDK has none of its own). */
export const HandoffEventNames = {
  InitiateHandoff: HandoffEvents.initiate,
  HandoffStatus: HandoffEvents.status,
} as const;

/** The value of a `handoff.status` event this middleware sends the agent. */
export interface HandoffStatusValue {
  state: 'accepted' | 'failed' | 'completed';
  message?: string;
}

/**
 * A `handoff.initiate` event to send from the agent (`context.sendActivity(...)`): the
 * middleware intercepts it and starts the handoff (botbuilder's
 * `EventFactory.createHandoffInitiation`, which the Agents SDK lacks).
 */
export function createHandoffInitiation(
  context: Pick<TurnContext, 'activity'>,
  handoffContext?: unknown,
  transcript?: { activities: unknown[] },
): Activity {
  const { activity } = context;
  return Activity.fromObject({
    type: 'event',
    name: HandoffEvents.initiate,
    value: handoffContext,
    ...(activity.conversation ? { conversation: activity.conversation } : {}),
    ...(transcript
      ? {
          attachments: [
            { contentType: 'application/json', name: 'Transcript', content: transcript },
          ],
        }
      : {}),
  });
}

/** True for the `handoff.status` event the middleware sends (route it with `onActivity`). */
export function isHandoffStatus(activity: Pick<Activity, 'type' | 'name'>): boolean {
  return activity.type === 'event' && activity.name === HandoffEvents.status;
}

// Everything not tied to an SDK (settings, errors, storage adapters, the core's parts)
export * from './common';
