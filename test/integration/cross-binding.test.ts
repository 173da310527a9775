import { expect } from 'chai';
import { MemoryStorage } from 'botbuilder';
import { MemoryStorage as AgentsMemoryStorage } from '@microsoft/agents-hosting';
import type { BindingName } from '../support/bindings';
import { FakeChannel } from '../support/fake-channel';
import { startHarness, type Harness } from '../support/harness';
import { TiledeskStandIn } from '../support/tiledesk-standin';

/**
 * A bot moving from botbuilder to the Agents SDK (or back) keeps its Tiledesk requests: a
 * conversation handed off under one binding is served, suppressed, relayed and closed under the
 * other, from the same storage (conversation references written with `bot` are continued as
 * `agent`, and the other way round).
 */
const MOVES: [BindingName, BindingName, string][] = [
  ['botbuilder', 'agents', 'botbuilder MemoryStorage'],
  ['agents', 'botbuilder', 'Agents SDK MemoryStorage'],
];

for (const [from, to, storageName] of MOVES) {
  describe(`state written under ${from} is served under ${to} (${storageName})`, () => {
    let standin: TiledeskStandIn;
    let channel: FakeChannel;
    let h: Harness | undefined;
    beforeEach(async () => {
      standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [20, 40] });
      await standin.start();
      channel = new FakeChannel();
      await channel.start();
    });
    afterEach(async () => {
      await h?.stop();
      await channel.stop();
      await standin.stop();
    });

    it('a handoff started before the move continues after it, then the bot takes over', async () => {
      const storage = from === 'agents' ? new AgentsMemoryStorage() : new MemoryStorage();
      const shared = { standin, channel };
      h = await startHarness({ binding: from, storage, shared });
      const ada = h.user('conv-move');
      await ada.sayAndWait('hi');
      await ada.sayAndWait('human');
      await h.stop();

      h = await startHarness({ binding: to, storage, shared });
      const ada2 = h.user('conv-move');
      await ada2.sayAndWait('is anyone there?'); // suppressed: still with the agent
      const [requestId] = [...standin.requests.keys()];
      standin.agentReply(requestId!, 'Anna here, after the move.');
      await h.settle();
      standin.agentClose(requestId!);
      await h.settle();
      await ada2.sayAndWait('thanks');

      expect(channel.texts('conv-move')).to.deep.equal([
        'Echo: hi',
        'Connecting you to a human agent…',
        'Anna Rossi has joined the chat.',
        'Anna Rossi: Anna here, after the move.',
        'The agent has closed the chat. You are back with the bot.',
        'Echo: thanks',
      ]);
      expect(standin.messages(requestId!).map((m) => m.text)).to.include('is anyone there?');
      expect(h.events.map((e) => e.value)).to.deep.equal([
        { state: 'completed', message: 'agent closed' },
      ]);
      expect(h.errors).to.deep.equal([]);
    });
  });
}
