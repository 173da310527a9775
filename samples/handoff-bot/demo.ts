import { createServer, type AddressInfo } from 'node:net';
import { FakeChannel } from '../../test/support/fake-channel';
import { TiledeskStandIn } from '../../test/support/tiledesk-standin';
import { startAgentsSample } from '../agents-sdk-bot/server';
import { runWebDemo } from '../web-demo';
import { startSampleServer } from './server';

/**
 * `npm run demo`: the sample bot against the local Tiledesk stand-in, no account or settings
 * needed. A scripted user talks to the bot through a fake Bot Framework channel; an agent
 * ("Anna") answers from the stand-in. Both sides are printed as they happen.
 * `npm run demo -- --agents` runs the Microsoft 365 Agents SDK sample instead of the botbuilder one.
 * `npm run demo -- --web` serves the same in a browser page instead (see samples/web-demo/).
 */

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const say = (who: string, text: string) => console.log(`${who.padEnd(14)} ${text}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const tiledesk = new TiledeskStandIn({ commandDelayMs: 50, webhookRetryDelaysMs: [200, 400] });
  await tiledesk.start();
  const channel = new FakeChannel();
  await channel.start();
  const env = {
    MicrosoftAppId: '',
    TiledeskApiUrl: tiledesk.url,
    TiledeskProjectId: tiledesk.projectId,
    TiledeskEmail: tiledesk.admin.email,
    TiledeskPassword: tiledesk.admin.password,
    TiledeskProjectSecret: tiledesk.projectSecret,
    TiledeskBotName: 'Echo Bot',
  };
  const agents = process.argv.includes('--agents');
  const settings = (url: string) => ({ ...env, TiledeskWebhookUrl: `${url}/api/tiledesk` });
  const bot = agents
    ? await startAgentsSample(settings, await freePort())
    : await startSampleServer(settings, 0);
  console.log(dim(`The bot runs on ${agents ? 'the Microsoft 365 Agents SDK' : 'botbuilder'}.`));

  console.log(
    dim(
      `Tiledesk stand-in on ${tiledesk.url}, bot on ${bot.url}, channel on ${channel.serviceUrl}\n`,
    ),
  );
  const user = channel.user('demo-conversation', 'demo-user', 'Ada Lovelace');
  let shown = 0;
  const showBot = async () => {
    await bot.tiledesk.whenIdle();
    await pause(150);
    for (const a of channel.received.slice(shown)) {
      const from = (a.activity['from'] as { name?: string } | undefined)?.name ?? 'bot';
      if (a.type === 'message') say(`${from}:`, a.text ?? '');
    }
    shown = channel.received.length;
  };
  const userSays = async (text: string) => {
    say('User:', text);
    await user.say(`${bot.url}/api/messages`, text);
    await showBot();
  };
  const requestId = () => [...tiledesk.requests.keys()].at(-1)!;

  await userSays('Hello!');
  await userSays('My parcel has not arrived.');
  await userSays('Can I talk to a human?');
  await userSays('Order A-1042, it was due Monday.');
  console.log(dim('   (the bot stays silent: the conversation is with a person now)'));
  const reply = "Hi Ada, I'm Anna. A-1042 left our warehouse today, you'll get it tomorrow.";
  console.log(dim('\n   Anna, in the Tiledesk agent console, replies:'));
  tiledesk.agentReply(requestId(), reply);
  await showBot();
  console.log(dim('\n   Anna closes the conversation:'));
  const closed = requestId();
  tiledesk.agentClose(closed);
  await showBot();
  await userSays('Thanks, bye!');

  console.log(dim('\nWhat the agent saw in Tiledesk (request ' + closed + '):'));
  for (const m of tiledesk.messages(closed)) {
    const hidden = (m.attributes as { subtype?: string } | undefined)?.subtype;
    if (!hidden) console.log(dim(`   ${String(m.senderFullname).padEnd(14)} ${m.text ?? ''}`));
  }
  await bot.stop();
  await channel.stop();
  await tiledesk.stop();
  if (agents) process.exit(0); // the Agents SDK's startServer keeps its listener open
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

(process.argv.includes('--web') ? runWebDemo() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
