/**
 * Agent messages reach the user with the agent's name before the first message of each agent
 * turn (`TiledeskAgentPrefix`, default "{agent}: "). Tests of delivery itself (order, losses,
 * duplicates) compare what the agents wrote: this takes that default prefix off. A duplicate
 * stays a duplicate: both copies of a message carry the same prefix (it is decided per message,
 * from the request's transcript).
 */
export function withoutAgentPrefix(
  texts: readonly string[],
  agents: readonly string[] = ['Anna Rossi'],
): string[] {
  return texts.map((text) => {
    const agent = agents.find((a) => text.startsWith(`${a}: `));
    return agent === undefined ? text : text.slice(agent.length + 2);
  });
}
