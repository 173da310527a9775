import * as bb from 'botbuilder';
import * as agents from '@microsoft/agents-hosting';
import { Activity as AgentsActivity } from '@microsoft/agents-activity';
import { TiledeskHandoff as BotbuilderHandoff, type TiledeskHandoffOptions } from '../../lib';
import {
  createHandoffInitiation,
  TiledeskHandoff as AgentsHandoff,
  type TiledeskHandoffOptions as AgentsHandoffOptions,
} from '../../lib/agents';
import type { Intents } from '../../lib/core/triggers';
import type { RestifyRequest, RestifyResponse } from './bot-server';

/**
 * The two SDK bindings, driven the same way, so one behavioural suite runs on both. A test bot
 * is written once against `TestTurn`; each driver maps it onto its SDK's `TurnContext`.
 */

export type BindingName = 'botbuilder' | 'agents';
export const BINDINGS: readonly BindingName[] = ['botbuilder', 'agents'];

/** A bot's turn, SDK-neutral: what the suite's bots do. */
export interface TestTurn {
  readonly activity: { type: string; id?: string; name?: string; text?: string; value?: unknown };
  send(activity: string | TestActivity): Promise<void>;
  /**
   * Sends the SDK's `handoff.initiate` event (botbuilder's EventFactory, or ours for agents),
   * with the bot's transcript when given.
   */
  initiateHandoff(handoffContext: unknown, transcript?: { activities: unknown[] }): Promise<void>;
  /** `tiledesk.handoff(context, handoffContext)`. */
  handoff(handoffContext?: unknown): Promise<boolean>;
  /** `tiledesk.endHandoff(context, reason)`. */
  endHandoff(reason?: string): Promise<boolean>;
  /** `tiledesk.statusOf(context)`. */
  statusOf(): ReturnType<BotbuilderHandoff['statusOf']>;
  /** The SDK's conversation reference of this turn. */
  reference(): Record<string, unknown>;
}
/** What a test bot sends besides text. */
export interface TestActivity {
  type?: string;
  text?: string;
  name?: string;
  value?: unknown;
  attachments?: { contentType: string; contentUrl?: string; content?: unknown; name?: string }[];
  attachmentLayout?: 'list' | 'carousel';
  suggestedActions?: { actions: { type: string; title?: string; value?: unknown }[]; to: string[] };
}
export type TestLogic = (turn: TestTurn) => Promise<void>;

/** The middleware as the suite uses it, whichever binding. */
export type AnyTiledesk = BotbuilderHandoff | AgentsHandoff;

/** The options both bindings take, minus the SDK-specific ones the driver fills in. */
export type CommonOptions = Omit<
  TiledeskHandoffOptions,
  'adapter' | 'bot' | 'recognizer' | 'storage'
> & { storage?: bb.Storage };

export type BoundBot = (
  | { name: 'botbuilder'; adapter: bb.CloudAdapter; tiledesk: BotbuilderHandoff }
  | { name: 'agents'; adapter: agents.CloudAdapter; tiledesk: AgentsHandoff }
) & {
  /** Handles `POST /api/messages` (the body already parsed). */
  process(req: RestifyRequest, res: RestifyResponse): Promise<void>;
  /** Errors that reached the adapter's `onTurnError`. */
  errors: Error[];
  /** The bot's own proactive message (`continueConversationAsync` / `continueConversation`). */
  proactive(reference: Record<string, unknown>, text: string): Promise<void>;
};

export interface BindOptions {
  logic: TestLogic;
  /** botbuilder only: the bot's own turn handler, used as is (e.g. a botbuilder-dialogs bot). */
  native?: (context: bb.TurnContext) => Promise<void>;
  recognize?: (turn: TestTurn) => Promise<Intents>;
  tiledesk: CommonOptions;
}

export function bind(name: BindingName, o: BindOptions): BoundBot {
  return name === 'botbuilder' ? bindBotbuilder(o) : bindAgents(o);
}

function bindBotbuilder(o: BindOptions): BoundBot {
  const errors: Error[] = [];
  const adapter = new bb.CloudAdapter(
    new bb.ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }),
  );
  adapter.onTurnError = async (_c, error) => void errors.push(error);
  let tiledesk: BotbuilderHandoff;
  const turnOf = (context: bb.TurnContext): TestTurn => ({
    activity: context.activity,
    send: async (a) => void (await context.sendActivity(a as Partial<bb.Activity>)),
    initiateHandoff: async (value, transcript) =>
      void (await context.sendActivity(
        bb.EventFactory.createHandoffInitiation(context, value, transcript as bb.Transcript),
      )),
    handoff: (value) => tiledesk.handoff(context, value),
    endHandoff: (reason) => tiledesk.endHandoff(context, reason),
    statusOf: () => tiledesk.statusOf(context),
    reference: () => ({ ...bb.TurnContext.getConversationReference(context.activity) }),
  });
  const logic = o.native ?? ((context: bb.TurnContext) => o.logic(turnOf(context)));
  tiledesk = new BotbuilderHandoff({
    ...o.tiledesk,
    adapter,
    bot: logic,
    ...(o.recognize && {
      recognizer: {
        recognize: async (context: bb.TurnContext) => ({
          text: context.activity.text ?? '',
          intents: (await o.recognize!(turnOf(context))) as bb.RecognizerResult['intents'],
          entities: {},
        }),
      },
    }),
  });
  adapter.use(tiledesk);
  return {
    name: 'botbuilder',
    adapter,
    tiledesk,
    errors,
    proactive: (reference, text) =>
      adapter.continueConversationAsync(
        '',
        reference as Partial<bb.ConversationReference>,
        async (c) => {
          await c.sendActivity(text);
        },
      ),
    process: (req, res) => adapter.process(req, res, logic),
  };
}

function bindAgents(o: BindOptions): BoundBot {
  if (o.native) throw new Error('a botbuilder-only bot cannot run on the Agents SDK binding');
  const errors: Error[] = [];
  const adapter = new agents.CloudAdapter();
  adapter.onTurnError = async (_c, error) => void errors.push(error);
  let tiledesk: AgentsHandoff;
  const turnOf = (context: agents.TurnContext): TestTurn => ({
    activity: context.activity as TestTurn['activity'],
    send: async (a) =>
      void (await context.sendActivity(
        (typeof a === 'string'
          ? a
          : AgentsActivity.fromObject({ type: 'message', ...a })) as AgentsActivity,
      )),
    initiateHandoff: async (value, transcript) =>
      void (await context.sendActivity(createHandoffInitiation(context, value, transcript))),
    handoff: (value) => tiledesk.handoff(context, value),
    endHandoff: (reason) => tiledesk.endHandoff(context, reason),
    statusOf: () => tiledesk.statusOf(context),
    reference: () => ({ ...context.activity.getConversationReference() }),
  });
  const logic = (context: agents.TurnContext) => o.logic(turnOf(context));
  tiledesk = new AgentsHandoff({
    ...(o.tiledesk as Omit<AgentsHandoffOptions, 'adapter'>),
    adapter,
    agent: logic,
    ...(o.recognize && {
      recognizer: {
        recognize: async (context: agents.TurnContext) => ({
          intents: await o.recognize!(turnOf(context)),
        }),
      },
    }),
  });
  adapter.use(tiledesk);
  return {
    name: 'agents',
    adapter,
    tiledesk,
    errors,
    proactive: (reference, text) =>
      adapter.continueConversation(
        { aud: '' },
        reference as unknown as Parameters<agents.CloudAdapter['continueConversation']>[1],
        async (c) => {
          await c.sendActivity(text);
        },
      ),
    process: (req, res) =>
      adapter.process(
        req as unknown as agents.Request,
        res as unknown as Parameters<typeof adapter.process>[1],
        logic,
      ),
  };
}
