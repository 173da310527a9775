import { AgentApplication, type TurnState } from '@microsoft/agents-hosting';
import { isHandoffStatus, type HandoffStatusValue } from '../../lib/agents';

/**
 * The sample's own agent, written the way Microsoft's Agents SDK samples are: an
 * `AgentApplication` that echoes, greets, and knows nothing about Tiledesk except that it may
 * receive `handoff.status` events (the Bot Framework handoff protocol).
 */
export function createEchoAgent(): AgentApplication<TurnState> {
  const agent = new AgentApplication<TurnState>();
  agent.onConversationUpdate('membersAdded', async (context) => {
    for (const member of context.activity.membersAdded ?? []) {
      if (member.id !== context.activity.recipient?.id) {
        await context.sendActivity('Hi! I repeat what you say. Write "human" to talk to a person.');
      }
    }
  });
  agent.onActivity('message', async (context) => {
    await context.sendActivity(`Echo: ${context.activity.text ?? ''}`);
  });
  agent.onActivity(
    async (context) => isHandoffStatus(context.activity),
    async (context) => {
      const { state } = (context.activity.value ?? {}) as Partial<HandoffStatusValue>;
      if (state === 'completed') {
        await context.sendActivity("I'm back. Anything else I can repeat for you?");
      }
    },
  );
  return agent;
}
