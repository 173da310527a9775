import { expect } from 'chai';
import {
  ActivityHandler,
  ConversationState,
  HandoffEventNames,
  MemoryStorage,
  type TurnContext,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, TextPrompt, WaterfallDialog } from 'botbuilder-dialogs';
import { startHarness, type Harness } from '../support/harness';

/**
 * The README's reprompt recipe on a real botbuilder-dialogs dialog: a handoff in the middle of a
 * prompt, the agent closes, and the bot asks its question again instead of resuming silently.
 */
class OrderBot extends ActivityHandler {
  constructor(conversationState: ConversationState) {
    super();
    const dialogState = conversationState.createProperty('dialogState');
    const dialogs = new DialogSet(dialogState);
    dialogs.add(new TextPrompt('text'));
    dialogs.add(
      new WaterfallDialog('order', [
        async (step) => step.prompt('text', 'What is your order number?'),
        async (step) => {
          await step.context.sendActivity(`Looking up order ${String(step.result)}.`);
          return step.endDialog();
        },
      ]),
    );
    this.onMessage(async (context, next) => {
      const dc = await dialogs.createContext(context);
      const result = await dc.continueDialog();
      if (result.status === DialogTurnStatus.empty) await dc.beginDialog('order');
      await conversationState.saveChanges(context);
      await next();
    });
    // The recipe (README, "The handoff as the user lives it").
    this.onEvent(async (context, next) => {
      const { name, value } = context.activity;
      if (
        name === HandoffEventNames.HandoffStatus &&
        (value as { state?: string } | undefined)?.state === 'completed'
      ) {
        const dc = await dialogs.createContext(context);
        await context.sendActivity("I'm back. Where were we?");
        await dc.repromptDialog();
        await conversationState.saveChanges(context);
      }
      await next();
    });
  }
}

describe('dialog reprompt recipe (botbuilder-dialogs)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('after the agent closes, the prompt that was active asks again, and the dialog goes on', async () => {
    const bot = new OrderBot(new ConversationState(new MemoryStorage()));
    h = await startHarness({ native: (context: TurnContext) => bot.run(context) });
    const ada = h.user('conv-dialog');
    await ada.sayAndWait('where is my order?');
    await ada.sayAndWait('I want a human');
    const [requestId] = [...h.standin.requests.keys()];
    h.standin.agentClose(requestId!);
    await h.standin.waitFor(() => h.channel.texts('conv-dialog').length >= 6, 5000);
    await ada.sayAndWait('A-1042');
    expect(h.channel.texts('conv-dialog')).to.deep.equal([
      'What is your order number?',
      'Connecting you to a human agent…',
      'Anna Rossi has joined the chat.',
      'The agent has closed the chat. You are back with the bot.',
      "I'm back. Where were we?",
      'What is your order number?',
      'Looking up order A-1042.',
    ]);
  });
});
