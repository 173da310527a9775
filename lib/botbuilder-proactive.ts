import type { Activity, BotAdapter, ConversationReference, TurnContext } from 'botbuilder';
import type { ChatActivity, ConversationRef, UserChannel } from './core/types';

/**
 * Part of the botbuilder binding: how the core reaches the user, with
 * `adapter.continueConversationAsync(MicrosoftAppId ?? '', reference, logic)`. Each proactive
 * turn's reference object is tagged in `intents` (the continuation activity's `relatesTo` is
 * that very object), so the middleware knows agent messages and notices from the bot's own
 * proactive turns and never mirrors them back to Tiledesk.
 */

export type ProactiveIntent =
  | { kind: 'agent'; name: string | undefined }
  | { kind: 'notice' }
  | { kind: 'status'; state: string; message: string | undefined };

export interface UserChannelOptions {
  adapter: Pick<BotAdapter, 'continueConversationAsync'>;
  appId(): string;
  bot:
    | { run(context: TurnContext): Promise<void> }
    | ((context: TurnContext) => Promise<void>)
    | undefined;
  intents: WeakMap<object, ProactiveIntent>;
}

export function createUserChannel(o: UserChannelOptions): UserChannel {
  const proactive = (
    ref: ConversationRef,
    intent: ProactiveIntent,
    logic: (c: TurnContext) => Promise<void>,
  ) => {
    const reference = { ...ref } as Partial<ConversationReference>;
    o.intents.set(reference, intent);
    return o.adapter.continueConversationAsync(o.appId(), reference, logic);
  };
  return {
    sendAgentActivities: (ref, activities) => {
      const name = activities[0]?.from?.name;
      return proactive(ref, { kind: 'agent', name }, async (context) => {
        delete (context.activity as Partial<Activity>).id; // else Web Chat waits 5 s (toolchain.md)
        context.onSendActivities(async (_c, sent, nextSend) => {
          for (const a of sent) if (a.from && name) a.from = { ...a.from, name };
          return nextSend();
        });
        await context.sendActivities(activities.map(fromChat));
      });
    },
    sendNotice: async (ref, text) => {
      if (!text) return;
      await proactive(ref, { kind: 'notice' }, async (context) => {
        delete (context.activity as Partial<Activity>).id;
        await context.sendActivity(text);
      });
    },
    emitHandoffStatus: async (ref, state, message) => {
      const bot = o.bot;
      if (!bot) return;
      await proactive(ref, { kind: 'status', state, message }, (context) =>
        typeof bot === 'function' ? bot(context) : bot.run(context),
      );
    },
  };
}

function fromChat(a: ChatActivity): Partial<Activity> {
  const out: Partial<Activity> = { type: a.type };
  if (a.text) out.text = a.text;
  if (a.attachments) out.attachments = a.attachments;
  if (a.suggestedActions) {
    out.suggestedActions = { to: [], ...a.suggestedActions } as Activity['suggestedActions'];
  }
  return out;
}
