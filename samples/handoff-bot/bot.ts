import { ActivityHandler, HandoffEventNames, type TurnContext } from 'botbuilder';

/**
 * The sample's own bot: an echo bot that knows nothing about Tiledesk except that it may
 * receive `handoff.status` events (standard Bot Framework handoff protocol).
 */
export class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`Echo: ${context.activity.text ?? ''}`);
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
