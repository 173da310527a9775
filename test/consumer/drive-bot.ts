import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { FakeChannel } from '../support/fake-channel';
import { TiledeskStandIn } from '../support/tiledesk-standin';
import { childEnv } from './shell';

/**
 * Runs one scratch bot as its own process against the Tiledesk stand-in and the fake channel,
 * through one handoff (mirror → keyword → agent joins → agent reply → close → bot again), then
 * sends SIGTERM and requires a clean exit: code 0 within `exitWithinMs`.
 */

export interface BotRun {
  name: string;
  cwd: string;
  /** Arguments to `node`. */
  args: string[];
  /** Default 5 s: the README's recipe closes the server, then `stop()` (≤ 5 s by default). */
  exitWithinMs?: number;
}

const EXPECTED = [
  'Echo: hi',
  'Connecting you to a human agent…',
  'Anna Rossi has joined the chat.',
  'Anna Rossi: Hello, Anna here.', // the agent's name opens their turn (TiledeskAgentPrefix)
  'The agent has closed the chat. You are back with the bot.',
  'Echo: bye',
];

export async function driveBot(o: BotRun): Promise<void> {
  const standin = new TiledeskStandIn({ commandDelayMs: 5, webhookRetryDelaysMs: [20, 40] });
  const channel = new FakeChannel();
  await standin.start();
  await channel.start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--disable-warning=DEP0111', ...o.args], {
    cwd: o.cwd,
    env: childEnv({
      PORT: String(port),
      MicrosoftAppId: '',
      TiledeskApiUrl: standin.url,
      TiledeskProjectId: standin.projectId,
      TiledeskEmail: standin.admin.email,
      TiledeskPassword: standin.admin.password,
      TiledeskWebhookUrl: `${url}/api/tiledesk`,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const fail = (what: string, err?: unknown): Error =>
    new Error(
      `${o.name}: ${what}${err instanceof Error ? `: ${err.message}` : ''}\n--- bot output ---\n${output.join('')}`,
    );
  try {
    await waitFor(() => portOpen(port), 30_000, exited).catch((e: unknown) => {
      throw fail('did not listen', e);
    });
    // start() has subscribed the webhooks (message.create, request.close, …).
    await waitFor(async () => standin.subscriptions().length > 0, 10_000, exited).catch(
      (e: unknown) => {
        throw fail('start() made no webhook subscription', e);
      },
    );

    const user = channel.user('consumer-conv');
    const messages = `${url}/api/messages`;
    const step = async (what: string, action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (err) {
        throw fail(what, err);
      }
    };
    await step('echo', async () => {
      await user.say(messages, 'hi');
      await channel.waitForTexts('consumer-conv', 1, 5000);
    });
    await step('handoff on the keyword', async () => {
      await user.say(messages, 'I need a human');
      await channel.waitForTexts('consumer-conv', 3, 5000);
    });
    const requestId = [...standin.requests.keys()][0];
    if (requestId === undefined) throw fail('no Tiledesk request was created');
    await step('agent reply reaches the user', async () => {
      standin.agentReply(requestId, 'Hello, Anna here.');
      await channel.waitForTexts('consumer-conv', 4, 5000);
    });
    await step('agent close hands back to the bot', async () => {
      standin.agentClose(requestId);
      await channel.waitForTexts('consumer-conv', 5, 5000);
      await user.say(messages, 'bye');
      await channel.waitForTexts('consumer-conv', 6, 5000);
    });
    const texts = channel.texts('consumer-conv');
    if (JSON.stringify(texts) !== JSON.stringify(EXPECTED)) {
      throw fail(`the user saw ${JSON.stringify(texts)}, expected ${JSON.stringify(EXPECTED)}`);
    }
    await step('mirrored into Tiledesk', () =>
      standin.waitFor(() => {
        const mirrored = standin.messages(requestId).map((m) => m.text);
        return ['hi', 'Echo: hi', 'I need a human', 'Hello, Anna here.'].every((t) =>
          mirrored.includes(t),
        );
      }, 5000),
    );

    // The README's shutdown recipe: SIGTERM → close the server → stop() → exit(0).
    const limit = o.exitWithinMs ?? 5000;
    const sent = Date.now();
    child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limit).unref());
    const end = await Promise.race([exited, timeout]);
    if (end === 'timeout') throw fail(`still running ${limit} ms after SIGTERM`);
    if (end.code !== 0 || end.signal !== null) {
      throw fail(`exited with ${end.code ?? end.signal} after SIGTERM, expected code 0`);
    }
    const log = output.join('');
    if (log.includes(standin.admin.password)) throw fail('printed the Tiledesk password');
    console.log(`      ${o.name}: handoff ok, exit 0 ${Date.now() - sent} ms after SIGTERM`);
  } finally {
    kill(child);
    await channel.stop();
    await standin.stop();
  }
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  exited: Promise<unknown>,
): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (gone) throw new Error('the bot process exited');
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

/** A port free right now on 127.0.0.1 (the bot listens on it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
