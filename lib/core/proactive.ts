import { randomUUID } from 'node:crypto';
import type { Host, HostActivity, HostTurn } from './host';
import type { ChatAccount, ConversationRef, UserChannel } from './types';

/**
 * How the core reaches the user: proactive turns through the host's adapter. Each one carries a
 * tag as its reference's `activityId`, which both SDKs hand back on the continuation activity
 * (`relatesTo.activityId`), so the middleware, which runs on these turns too, knows agent
 * messages and notices from the bot's own proactive turns and never mirrors them back.
 */

export type ProactiveIntent =
  | { kind: 'agent'; name: string | undefined }
  | { kind: 'typing' }
  | { kind: 'notice' }
  | { kind: 'status'; state: string; message: string | undefined };

const TAG = 'botbuilder-tiledesk:';

export class ProactiveTurns<C> {
  /** Tags of the proactive turns in flight in this process. */
  private readonly tags = new Map<string, ProactiveIntent>();

  constructor(private readonly host: Host<C>) {}

  /** The intent of one of our proactive turns, from its continuation activity. */
  intentOf(activity: HostActivity): ProactiveIntent | undefined {
    const tag = activity.relatesTo?.activityId;
    return tag?.startsWith(TAG) ? this.tags.get(tag) : undefined;
  }

  /** The `UserChannel` the engine sends through. */
  channel(): UserChannel {
    const host = this.host;
    return {
      ...(host.attachmentToken && {
        attachmentToken: (ref: ConversationRef) => host.attachmentToken!(ref),
      }),
      sendAgentActivities: (ref, activities) => {
        const agent = activities[0]?.from;
        return this.run(ref, { kind: 'agent', name: agent?.name }, async (turn) => {
          speakAs(turn, agent);
          await turn.send(activities.map(({ from: _from, ...a }) => a));
        });
      },
      sendTyping: (ref, agent) =>
        this.run(ref, { kind: 'typing' }, async (turn) => {
          speakAs(turn, agent);
          await turn.send([{ type: 'typing' }]);
        }),
      sendNotice: (ref, activity) =>
        this.run(ref, { kind: 'notice' }, (turn) => turn.send([activity])),
      emitHandoffStatus: async (ref, state, message) => {
        const runBot = this.host.runBot?.bind(this.host);
        if (!runBot) return;
        await this.run(ref, { kind: 'status', state, message }, undefined, runBot);
      },
    };
  }

  private async run(
    ref: ConversationRef,
    intent: ProactiveIntent,
    logic: ((turn: HostTurn) => Promise<void>) | undefined,
    native?: (context: C) => Promise<void>,
  ): Promise<void> {
    const tag = TAG + randomUUID();
    this.tags.set(tag, intent);
    try {
      await this.host.continueConversation({ ...ref, activityId: tag }, async (context) => {
        const turn = this.host.turn(context);
        // The continuation's id is one the channel never saw: a reply to it makes Web Chat hold
        // the message for 5 s and insert it above newer ones (toolchain.md). Send without one.
        delete turn.activity.id;
        if (logic) await logic(turn);
        if (native) await native(context);
      });
    } finally {
      this.tags.delete(tag);
    }
  }
}

/**
 * Activities go out as the bot (the channel knows no other sender: its id stays the bot's), with
 * the agent's name and `properties` (the avatar) in `from`, set where the SDK has filled it in.
 */
function speakAs(turn: HostTurn, agent: ChatAccount | undefined): void {
  const name = agent?.name;
  const properties = agent?.properties;
  if (!name && !properties) return;
  turn.onSend((sent, send) => {
    for (const a of sent) {
      if (!a.from) continue;
      const from = { ...a.from };
      if (name) from.name = name;
      if (properties) from.properties = { ...from.properties, ...properties };
      a.from = from;
    }
    return send();
  });
}
