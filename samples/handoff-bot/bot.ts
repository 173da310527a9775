import { ActivityHandler, EventFactory, HandoffEventNames, type TurnContext } from 'botbuilder';

/**
 * TEST-ONLY (`TILEDESK_TEST_TRIGGERS=1`, read by the end-to-end suite, test/e2e): the bot starts
 * a handoff itself, the two ways a bot can: `[event] …` sends the Bot Framework
 * `handoff.initiate` event, `[api] …` calls `handoff` (the middleware's `handoff()`).
 */
export interface SampleTestTriggers {
  handoff(context: TurnContext, handoffContext: unknown): Promise<boolean>;
}

/**
 * The sample's own bot: an echo bot that knows nothing about Tiledesk except that it may
 * receive `handoff.status` events (standard Bot Framework handoff protocol).
 */
export class EchoBot extends ActivityHandler {
  constructor(triggers?: SampleTestTriggers) {
    super();
    this.onMessage(async (context, next) => {
      const text = context.activity.text ?? '';
      if (triggers && /^\[event\]/.test(text)) {
        await context.sendActivity('Let me find a person for you.');
        await context.sendActivity(EventFactory.createHandoffInitiation(context, { why: text }));
      } else if (triggers && /^\[api\]/.test(text)) {
        await triggers.handoff(context, { why: text });
      } else {
        await context.sendActivity(`Echo: ${text}`);
      }
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      for (const member of context.activity.membersAdded ?? []) {
        if (member.id !== context.activity.recipient.id) {
          await context.sendActivity(
            'Hi! I repeat what you say. Write "human" to talk to a person.',
          );
        }
      }
      await next();
    });
    this.onEvent(async (context, next) => {
      if (context.activity.name === HandoffEventNames.HandoffStatus)
        await this.onHandoffStatus(context);
      await next();
    });
  }

  private async onHandoffStatus(context: TurnContext): Promise<void> {
    const { state } = (context.activity.value ?? {}) as { state?: string };
    if (state === 'completed')
      await context.sendActivity("I'm back. Anything else I can repeat for you?");
  }
}
