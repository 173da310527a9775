/**
 * Small structural types the core works on. They are deliberately NOT botbuilder's: the
 * botbuilder binding (`lib/botbuilder.ts`) maps `TurnContext`/`Activity` onto these, and
 * the Agents SDK binding (`lib/agents.ts`) does the same for @microsoft/agents-hosting.
 */

export interface ChatAccount {
  id: string;
  name?: string;
  role?: string;
  /** Custom properties (`ChannelAccount.properties`): `avatarUrl` on agent messages. */
  properties?: Record<string, unknown>;
}

export interface ChatAttachment {
  contentType: string;
  contentUrl?: string;
  content?: unknown;
  name?: string;
}

export interface ChatCardAction {
  type: string;
  title?: string;
  value?: unknown;
  /** `messageBack`: the text the click sends. */
  text?: string;
  /** `messageBack`: what the user's transcript shows for the click (none: nothing shown). */
  displayText?: string;
}

/** The subset of an activity the core reads or produces. */
export interface ChatActivity {
  type: string;
  id?: string;
  name?: string;
  text?: string;
  value?: unknown;
  channelId?: string;
  locale?: string;
  from?: ChatAccount;
  conversation?: { id: string };
  attachments?: ChatAttachment[];
  /** `'carousel'` shows the attachments side by side (`'list'`, the default, one below another). */
  attachmentLayout?: string;
  suggestedActions?: { actions: ChatCardAction[]; to?: string[] };
}

/**
 * The bot framework's handle to a conversation, kept as opaque JSON (a botbuilder
 * `ConversationReference`). The core only reads the ids listed here.
 */
export interface ConversationRef {
  channelId?: string;
  conversation?: { id: string };
  user?: ChatAccount;
  locale?: string;
  [key: string]: unknown;
}

/** Same shape as botbuilder's `Storage`, so any botbuilder storage plugs in unchanged. */
export interface KeyValueStorage {
  read(keys: string[]): Promise<Record<string, unknown>>;
  write(changes: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<void>;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?(): unknown };
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What the core asks the bot framework binding to do towards the user. */
export interface UserChannel {
  /** Sends agent messages (proactively) into the conversation. */
  sendAgentActivities(reference: ConversationRef, activities: ChatActivity[]): Promise<void>;
  /**
   * Shows the user a typing indicator (a `typing` activity, proactively) for `agent`. Optional:
   * without it, agents' typing is not shown.
   */
  sendTyping?(reference: ConversationRef, agent: ChatAccount): Promise<void>;
  /** Sends a bot notice (queued / joined / closed texts, held bot messages) into the conversation. */
  sendNotice(reference: ConversationRef, activity: ChatActivity): Promise<void>;
  /**
   * The bot's token for downloading a user's file from the channel's own service (the Bot
   * Connector's `/v3/attachments`, Direct Line); `undefined` when the bot has none (no app id,
   * local runs). Optional: without it, such downloads are tried without a token.
   */
  attachmentToken?(reference: ConversationRef): Promise<string | undefined>;
  /** Runs the bot's own turn pipeline with a `handoff.status` event. */
  emitHandoffStatus(
    reference: ConversationRef,
    state: 'accepted' | 'failed' | 'completed',
    message?: string,
  ): Promise<void>;
}
