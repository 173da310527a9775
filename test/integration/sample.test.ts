import { expect } from 'chai';
import { startSampleServer, type SampleServer } from '../../samples/handoff-bot/server';
import { FakeChannel } from '../support/fake-channel';
import { TiledeskStandIn } from '../support/tiledesk-standin';

/** The README quick start is the sample's code: run it end to end against the stand-in. */
describe('samples/handoff-bot (README quick start)', () => {
  let standin: TiledeskStandIn;
  let channel: FakeChannel;
  let sample: SampleServer | undefined;

  beforeEach(async () => {
    standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [20, 40] });
    await standin.start();
    channel = new FakeChannel();
    await channel.start();
  });
  afterEach(async () => {
    await sample?.stop();
    await channel.stop();
    await standin.stop();
  });

  it('echoes, hands off to an agent, relays the agent and takes over again', async () => {
    sample = await startSampleServer(
      (url) => ({
        MicrosoftAppId: '',
        TiledeskApiUrl: standin.url,
        TiledeskProjectId: standin.projectId,
        TiledeskEmail: standin.admin.email,
        TiledeskPassword: standin.admin.password,
        TiledeskWebhookUrl: `${url}/api/tiledesk`, // no project secret: anonymous end users
      }),
      0,
    );
    const user = channel.user('sample-conv');
    const say = async (text: string) => {
      await user.say(`${sample!.url}/api/messages`, text);
      await sample!.tiledesk.whenIdle();
    };
    await say('hi');
    await say('I need a human');
    const requestId = [...standin.requests.keys()][0]!;
    standin.agentReply(requestId, 'Hello, Anna here.');
    await standin.waitFor(() =>
      channel.texts('sample-conv').includes('Anna Rossi: Hello, Anna here.'),
    );
    standin.agentClose(requestId);
    await standin.waitFor(() => channel.texts('sample-conv').length >= 6);
    await say('bye');
    expect(channel.texts('sample-conv')).to.deep.equal([
      'Echo: hi',
      'Connecting you to a human agent…',
      'Anna Rossi has joined the chat.',
      'Anna Rossi: Hello, Anna here.',
      'The agent has closed the chat. You are back with the bot.',
      "I'm back. Anything else I can repeat for you?",
      'Echo: bye',
    ]);
    // Anonymous identity (no TiledeskProjectSecret): one guest user, token kept in storage.
    expect(standin.calls.filter((c) => c.path === '/auth/signinAnonymously')).to.have.length(1);
  });
});
