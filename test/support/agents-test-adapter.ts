import { Activity } from '@microsoft/agents-activity';
import {
  CloudAdapter,
  type TurnContext as AgentsTurnContext,
  TurnContext,
} from '@microsoft/agents-hosting';

type Logic = (context: AgentsTurnContext) => Promise<void>;
type ConversationReference = Parameters<CloudAdapter['continueConversation']>[1];

/**
 * The smallest in-process harness for the Agents SDK, which ships no TestAdapter: its real
 * `CloudAdapter` (middleware pipeline, TurnContext, send pipeline), with the connector calls
 * replaced by a queue. `processActivity` runs a turn; `continueConversation` runs a proactive one.
 */
export class AgentsTestAdapter extends CloudAdapter {
  /** Everything the bot sent, in order (cleared by the caller). */
  readonly activeQueue: Activity[] = [];
  /** References of the proactive turns, in order. */
  readonly proactiveCalls: ConversationReference[] = [];

  constructor() {
    super({ clientId: '' } as ConstructorParameters<typeof CloudAdapter>[0]);
  }

  /** One incoming activity through the middleware and `logic`, as a channel POST would. */
  async processActivity(activity: Record<string, unknown>, logic: Logic): Promise<void> {
    const incoming = Activity.fromObject({
      serviceUrl: 'http://127.0.0.1:1/test',
      recipient: { id: 'bot', name: 'Bot' },
      id: `act-${++this.seq}`,
      ...activity,
    });
    await this.runMiddleware(new TurnContext(this, incoming), logic);
  }

  override async continueConversation(
    _botAppIdOrIdentity: unknown,
    reference: ConversationReference,
    logic: Logic,
  ): Promise<void> {
    this.proactiveCalls.push(reference);
    const context = new TurnContext(this, Activity.getContinuationActivity(reference));
    await this.runMiddleware(context, logic);
  }

  override async sendActivities(_context: AgentsTurnContext, activities: Activity[]) {
    this.activeQueue.push(...activities);
    return activities.map(() => ({ id: `sent-${++this.seq}` }));
  }

  private seq = 0;
}
