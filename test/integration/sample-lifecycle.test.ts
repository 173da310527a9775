import { expect } from 'chai';
import { startSampleServer, type SampleServer } from '../../samples/handoff-bot/server';
import { FakeChannel } from '../support/fake-channel';
import { TiledeskStandIn } from '../support/tiledesk-standin';

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';

/**
 * The sample bot (as users run it) through the handoff as a customer lives it: leave by phrase,
 * leave by the End chat button, queue timeout, inactivity timeout and agent typing, and nothing
 * it sends replies to an activity the channel never sent (Web Chat would hold it 5 s).
 * Short timeouts and a short periodic pass (the sample's test-only lease) keep it to seconds.
 */
describe('samples/handoff-bot: the handoff lifecycle end to end', function () {
  this.timeout(30_000);
  let standin: TiledeskStandIn;
  let channel: FakeChannel;
  let sample: SampleServer | undefined;

  beforeEach(async () => {
    standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [20, 40] });
    await standin.start();
    channel = new FakeChannel();
    await channel.start();
    sample = await startSampleServer(
      (url) => ({
        MicrosoftAppId: '',
        TiledeskApiUrl: standin.url,
        TiledeskProjectId: standin.projectId,
        TiledeskEmail: standin.admin.email,
        TiledeskPassword: standin.admin.password,
        TiledeskProjectSecret: standin.projectSecret,
        TiledeskWebhookUrl: `${url}/api/tiledesk`,
        TiledeskQueueTimeoutMs: '1500',
        TiledeskInactivityTimeoutMs: '1500',
        TiledeskCatchUpIntervalMs: '200',
      }),
      0,
      '127.0.0.1',
      { leaseMs: 900 }, // the periodic pass runs every 300 ms
    );
  });
  afterEach(async () => {
    await sample?.stop();
    await channel.stop();
    await standin.stop();
  });

  const texts = (conv: string) => channel.texts(conv);
  const until = (check: () => boolean, ms = 10_000) => standin.waitFor(check, ms);
  const say = async (conv: string, text: string) => {
    await channel.user(conv).say(`${sample!.url}/api/messages`, text);
    await sample!.tiledesk.whenIdle();
  };
  const requestOf = (conv: string) =>
    [...standin.requests.values()].find((r) => r.attributes['bf_conversation'] === conv)!;
  const LEFT = 'You have left the chat with the agent. I am here again: how can I help?';

  it('leave by phrase, then by the button; typing shows; the bot answers again each time', async () => {
    await say('s-leave', 'I want to talk to a human');
    await until(() => texts('s-leave').includes('Anna Rossi has joined the chat.'));
    standin.agentTyping(requestOf('s-leave').request_id);
    await until(() => channel.activities('s-leave').some((a) => a.type === 'typing'));
    await say('s-leave', 'end chat please');
    await until(() => texts('s-leave').includes(LEFT));
    await say('s-leave', 'hello again');
    await until(() => texts('s-leave').at(-1) === 'Echo: hello again');

    await say('s-leave', 'agent');
    await until(
      () => texts('s-leave').filter((t) => t === 'Anna Rossi has joined the chat.').length === 2,
    );
    await say('s-leave', 'End chat'); // what the button sends
    await until(() => texts('s-leave').filter((t) => t === LEFT).length === 2);
    expect(channel.strayReplies()).to.deep.equal([]);
  });

  it('queue timeout and inactivity timeout', async () => {
    standin.setAgentAvailable(ANNA, false);
    await say('s-queue', 'agent');
    await until(() =>
      texts('s-queue').includes(
        'Sorry, no agent was free to take your chat. You can keep chatting with me, or ask again later.',
      ),
    );
    standin.setAgentAvailable(ANNA, true);
    await say('s-idle', 'agent');
    await until(() => texts('s-idle').includes('Anna Rossi has joined the chat.'));
    await until(() =>
      texts('s-idle').includes(
        'The chat with the agent was closed because nobody wrote for a while. You are back with the bot.',
      ),
    );
    await say('s-idle', 'still there?');
    await until(() => texts('s-idle').at(-1) === 'Echo: still there?');
    expect(channel.strayReplies()).to.deep.equal([]);
  });
});
