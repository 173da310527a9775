import { expect } from 'chai';
import { startHarness, type Harness } from '../support/harness';

/**
 * Issue 9 item 7, end to end: `''` for a `TiledeskText…` app setting sends nothing (the README's
 * "empty = nothing"), and `TiledeskHandoffKeywords=''` turns keyword triggers off.
 */
describe("settings: '' end to end (CloudAdapter + fake channel + Tiledesk stand-in)", () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('empty texts: the handoff happens and the user is told nothing of it', async () => {
    h = await startHarness({
      settings: {
        TiledeskTextConnecting: '',
        TiledeskTextAssigned: '',
        TiledeskTextClosed: '',
        TiledeskAgentPrefix: '',
      },
    });
    const u = h.user('conv-quiet');
    await u.sayAndWait('talk to a human');
    const [requestId] = [...h.standin.requests.keys()];
    expect(h.standin.request(requestId!)!.status).to.equal(200); // an agent took it
    h.standin.agentReply(requestId!, 'Hi, Anna here.');
    h.standin.agentClose(requestId!);
    await h.settle();
    await u.sayAndWait('bye');
    expect(h.channel.texts('conv-quiet')).to.deep.equal(['Hi, Anna here.', 'Echo: bye']);
    expect(h.errors).to.deep.equal([]);
  });

  it("TiledeskHandoffKeywords='': keywords start nothing, the bot answers", async () => {
    h = await startHarness({ settings: { TiledeskHandoffKeywords: '' } });
    const u = h.user('conv-off');
    await u.sayAndWait('human');
    await u.sayAndWait('I want to talk to a human');
    expect(h.channel.texts('conv-off')).to.deep.equal([
      'Echo: human',
      'Echo: I want to talk to a human',
    ]);
    expect([...h.standin.requests.values()].map((r) => r.status)).to.deep.equal([50]);
  });
});
