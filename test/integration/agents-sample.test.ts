import { expect } from 'chai';
import { createServer } from 'node:net';
import { FakeChannel } from '../support/fake-channel';
import { type SampleProcess, startSampleProcess } from '../support/sample-process';
import { TiledeskStandIn } from '../support/tiledesk-standin';

/** A free loopback port (the Agents SDK's startServer takes a port, not 0, to tell us about). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** `npm run sample:agents` as a real process: the AgentApplication sample against the stand-in. */
describe('samples/agents-sdk-bot (npm run sample:agents)', function () {
  this.timeout(60_000);
  let standin: TiledeskStandIn;
  let channel: FakeChannel;
  let sample: SampleProcess | undefined;

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

  it('echoes, hands off, relays the agent, hands back on close, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    sample = await startSampleProcess({
      name: 'agents',
      entry: 'samples/agents-sdk-bot/index.ts',
      env: {
        PORT: String(port),
        TiledeskApiUrl: standin.url,
        TiledeskProjectId: standin.projectId,
        TiledeskEmail: standin.admin.email,
        TiledeskPassword: standin.admin.password,
        TiledeskProjectSecret: standin.projectSecret,
        TiledeskWebhookUrl: `http://127.0.0.1:${port}/api/tiledesk`,
      },
    });
    const user = channel.user('agents-conv');
    const texts = () => channel.texts('agents-conv');
    const until = (n: number) => standin.waitFor(() => texts().length >= n, 10_000);
    await user.say(sample.messagesUrl, 'hi');
    await until(1);
    await user.say(sample.messagesUrl, 'I need a human');
    await until(3);
    const requestId = [...standin.requests.keys()][0]!;
    standin.agentReply(requestId, 'Hello, Anna here.');
    await until(4);
    standin.agentClose(requestId);
    await until(6);
    await user.say(sample.messagesUrl, 'bye');
    await until(7);
    expect(texts()).to.deep.equal([
      'Echo: hi',
      'Connecting you to a human agent…',
      'Anna Rossi has joined the chat.',
      'Anna Rossi: Hello, Anna here.',
      'The agent has closed the chat. You are back with the bot.',
      "I'm back. Anything else I can repeat for you?",
      'Echo: bye',
    ]);
    const mirrored = standin.messages(requestId).map((m) => m.text);
    expect(mirrored.slice(0, 2)).to.deep.equal(['hi', 'Echo: hi']);

    sample.kill('SIGTERM');
    const exit = await sample.exited;
    expect(exit).to.include({ code: 0, signal: null });
  });
});
