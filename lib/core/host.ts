import type { Intents } from './triggers';
import type { ChatActivity, ConversationRef } from './types';

/**
 * What the core needs of a bot SDK, as small structural types. A binding (lib/botbuilder.ts,
 * lib/agents.ts) implements `Host` for its SDK's `TurnContext` (`C`) and nothing else: the turn
 * policy (which turns to mirror, suppress, or treat as handoff triggers) lives in the core.
 */

/** The activity fields the turn policy reads, and rewrites on our own proactive turns. */
export interface HostActivity extends Omit<ChatActivity, 'type'> {
  /** Absent on activities a bot sends without one (a message). */
  type?: string | undefined;
  /** On a ContinueConversation event: the reference it continues (our tag is its activityId). */
  relatesTo?: { activityId?: string } | undefined;
  replyToId?: string | undefined;
}

/** What a send returns per activity (botbuilder's and the Agents SDK's `ResourceResponse`). */
export interface SentActivity {
  id: string;
}

/**
 * Runs around every send of a turn: may remove entries from `activities` before calling `send`
 * (which sends what is left) and returns one response per activity the bot asked to send.
 */
export type SendHook = (
  activities: HostActivity[],
  send: () => Promise<SentActivity[]>,
) => Promise<SentActivity[]>;

/** One turn of the SDK, as the core uses it. */
export interface HostTurn {
  /** The incoming activity: the SDK's own object (rewritten in place on our proactive turns). */
  readonly activity: HostActivity;
  /** The conversation reference of the incoming activity (the SDK's own, kept as opaque JSON). */
  reference(): ConversationRef;
  /** `TurnContext.onSendActivities`. */
  onSend(hook: SendHook): void;
  /** `TurnContext.sendActivities`. */
  send(activities: ChatActivity[]): Promise<void>;
  /** `TurnContext.turnState`: per-turn scratch space. */
  readonly state: { get(key: symbol): unknown; set(key: symbol, value: unknown): unknown };
}

/** A bot SDK as the core drives it. `C` is the SDK's `TurnContext`. */
export interface Host<C> {
  /** The core's view of an SDK turn (called once per turn; cheap). */
  turn(context: C): HostTurn;
  /**
   * Starts a proactive turn with the adapter the middleware is used on (so the middleware runs
   * on it too, and sees `reference.activityId` as the continuation's `relatesTo.activityId`).
   */
  continueConversation(
    reference: ConversationRef,
    logic: (context: C) => Promise<void>,
  ): Promise<void>;
  /** Runs the bot's own turn logic (for `handoff.status`); absent when no bot was given. */
  runBot?(context: C): Promise<void>;
  /** The bot's token for the channel's attachment service (see `UserChannel.attachmentToken`). */
  attachmentToken?(reference: ConversationRef): Promise<string | undefined>;
  /** The handoff recognizer's intents for this turn; absent when no recognizer was given. */
  recognize?(context: C): Promise<Intents | undefined>;
}

/** The event names of Bot Framework's handoff protocol (botbuilder's `HandoffEventNames`). */
export const HandoffEvents = {
  /** The bot asks for a handoff (`EventFactory.createHandoffInitiation`). */
  initiate: 'handoff.initiate',
  /** The handoff's progress, sent to the bot: `accepted`, `failed`, `completed`. */
  status: 'handoff.status',
} as const;

/** The event a proactive turn starts from (botbuilder's `ActivityEventNames`). */
export const CONTINUE_CONVERSATION = 'ContinueConversation';
