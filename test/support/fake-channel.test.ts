import { expect } from 'chai';
import { ActivityTypes, TurnContext } from 'botbuilder';
import type { ConversationReference } from 'botbuilder';
import { startBotServer } from './bot-server';
import type { BotServer } from './bot-server';
import { FakeChannel } from './fake-channel';
import { ProactiveTestAdapter } from './proactive-test-adapter';

describe('test support: FakeChannel + startBotServer (CloudAdapter, empty MicrosoftAppId)', () => {
  const channel = new FakeChannel();
  let bot: BotServer;
  /** Latest reference per conversation id, captured from user messages. */
  const references = new Map<string, Partial<ConversationReference>>();

  before(async () => {
    await channel.start();
    bot = await startBotServer({
      logic: async (context) => {
        const { activity } = context;
        if (activity.type !== ActivityTypes.Message) return;
        references.set(activity.conversation.id, TurnContext.getConversationReference(activity));
        if (activity.text === 'edit me') {
          const sent = await context.sendActivity('v1');
          if (sent === undefined) throw new Error('no ResourceResponse');
          await context.updateActivity({ id: sent.id, type: ActivityTypes.Message, text: 'v2' });
          await context.deleteActivity(sent.id);
          return;
        }
        await context.sendActivity(`echo: ${activity.text ?? ''}`);
      },
    });
  });

  afterEach(() => {
    channel.reset();
    bot.errors.length = 0;
  });

  after(async () => {
    await bot.stop();
    await channel.stop();
  });

  it('delivers a user message to the bot and records its reply, anonymously', async () => {
    const ada = channel.user('conv-echo');
    const result = await ada.say(bot.messagesUrl, 'hello');

    expect(result.status).to.equal(200);
    expect(result.ms).to.be.greaterThan(0);
    // CloudAdapter answers the channel only after the whole turn, so the reply is already here.
    expect(channel.texts('conv-echo')).to.deep.equal(['echo: hello']);
    expect(await channel.waitForTexts('conv-echo', 1)).to.deep.equal(['echo: hello']);

    const [reply] = channel.activities('conv-echo');
    expect(reply?.kind).to.equal('reply');
    expect(reply?.replyToId).to.equal(result.activity.id);
    expect(reply?.type).to.equal('message');
    expect(reply?.authorization).to.equal(undefined);
    expect(reply?.activity.conversation).to.include({ id: 'conv-echo' });
    expect(reply?.activity.recipient).to.include({ id: 'user-1', name: 'Ada Lovelace' });
    expect(reply?.activity.serviceUrl).to.equal(channel.serviceUrl);
    expect(bot.errors).to.deep.equal([]);
  });

  it('keeps conversations apart and fills in sendToBot defaults', async () => {
    const result = await channel.sendToBot(bot.messagesUrl, {
      text: 'raw',
      conversation: { id: 'conv-raw' },
    });
    await channel.user('conv-other', 'user-2', 'Grace Hopper').say(bot.messagesUrl, 'hi');

    expect(result.status).to.equal(200);
    expect(result.activity).to.include({
      type: 'message',
      channelId: 'webchat',
      locale: 'en-US',
      serviceUrl: channel.serviceUrl,
    });
    expect(result.activity.from).to.deep.equal({
      id: 'user-1',
      name: 'Ada Lovelace',
      role: 'user',
    });
    expect(result.activity.recipient).to.deep.equal({ id: 'bot', name: 'Bot', role: 'bot' });
    expect(channel.texts('conv-raw')).to.deep.equal(['echo: raw']);
    expect(channel.texts('conv-other')).to.deep.equal(['echo: hi']);
    const other = await channel.waitFor((a) => a.conversationId === 'conv-other');
    expect(other.activity.recipient).to.include({ id: 'user-2', name: 'Grace Hopper' });
  });

  it('delivers a proactive continueConversationAsync("", reference) as a reply to the continuation id', async () => {
    await channel.user('conv-pro').say(bot.messagesUrl, 'remember me');
    const reference = references.get('conv-pro');
    if (reference === undefined) throw new Error('no reference captured');
    channel.reset();

    let continuationId: string | undefined;
    await bot.adapter.continueConversationAsync('', reference, async (context) => {
      expect(context.activity.type).to.equal('event');
      expect(context.activity.name).to.equal('ContinueConversation');
      continuationId = context.activity.id;
      await context.sendActivity('proactive');
    });

    const sent = await channel.waitFor((a) => a.text === 'proactive');
    expect(sent.conversationId).to.equal('conv-pro');
    expect(sent.authorization).to.equal(undefined);
    // Quirk (toolchain.md, Web Chat issue #3874): the proactive reply goes to
    // /activities/{continuation id} with replyToId = the synthetic ContinueConversation id, an
    // activity the user never saw; Web Chat then waits 5 s for it before showing the message.
    expect(sent.kind).to.equal('reply');
    expect(continuationId).to.be.a('string');
    expect(sent.replyToId).to.equal(continuationId);
    expect(sent.activity.replyToId).to.equal(continuationId);
  });

  it('sends a proactive message without replyToId once context.activity.id is deleted (the Web Chat workaround)', async () => {
    await channel.user('conv-pro2').say(bot.messagesUrl, 'remember me');
    const reference = references.get('conv-pro2');
    if (reference === undefined) throw new Error('no reference captured');

    await bot.adapter.continueConversationAsync('', reference, async (context) => {
      delete (context.activity as { id?: string }).id;
      await context.sendActivity('agent says hi');
    });

    const sent = await channel.waitFor((a) => a.text === 'agent says hi');
    expect(sent.kind).to.equal('send');
    expect(sent.replyToId).to.equal(undefined);
    expect(sent.activity.replyToId).to.equal(undefined);
  });

  it('rejects continueConversationAsync(undefined, ...) like production code with MicrosoftAppId unset', async () => {
    const reference = { conversation: { id: 'x', isGroup: false, conversationType: '', name: '' } };
    const cloudError = await bot.adapter
      .continueConversationAsync(undefined as unknown as string, reference, async () => {})
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(cloudError).to.be.instanceOf(TypeError);
    expect(String(cloudError)).to.include('getClaimValue');

    const testError = await new ProactiveTestAdapter()
      .continueConversationAsync(undefined as unknown as string, reference, async () => {})
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(testError).to.be.instanceOf(TypeError);
    expect(String(testError)).to.include('getClaimValue');
  });

  it('records updates and deletes with their kind', async () => {
    const result = await channel.user('conv-edit').say(bot.messagesUrl, 'edit me');
    expect(result.status).to.equal(200);
    const kinds = channel.activities('conv-edit').map((a) => [a.kind, a.text]);
    expect(kinds).to.deep.equal([
      ['reply', 'v1'],
      ['update', 'v2'],
      ['delete', undefined],
    ]);
    const [sent, updated, deleted] = channel.activities('conv-edit');
    expect(updated?.id).to.equal(sent?.id);
    expect(deleted?.id).to.equal(sent?.id);
    expect(channel.texts('conv-edit')).to.deep.equal(['v1']);
  });

  it('injects latency: the user-facing HTTP answer waits for the reply delivery', async () => {
    channel.setLatency(150);
    const result = await channel.user('conv-slow').say(bot.messagesUrl, 'hurry');
    expect(result.status).to.equal(200);
    expect(result.ms).to.be.at.least(140);
    expect(channel.texts('conv-slow')).to.deep.equal(['echo: hurry']);
  });

  it('injects failures: the failed send is rejected, reaches onTurnError, and the next one succeeds', async () => {
    // 4xx: the connector client retries 5xx answers on its own (≈ 0.75 s later), not 4xx.
    channel.failNext(400);
    const failed = await channel.user('conv-fail').say(bot.messagesUrl, 'first');
    expect(failed.status).to.equal(200); // onTurnError swallowed the error
    expect(channel.rejected).to.have.length(1);
    expect(channel.rejected[0]?.status).to.equal(400);
    expect(bot.errors).to.have.length(1);
    expect(channel.texts('conv-fail')).to.deep.equal([]);

    await channel.user('conv-fail').say(bot.messagesUrl, 'second');
    expect(channel.texts('conv-fail')).to.deep.equal(['echo: second']);
  });

  it('waitFor times out with a list of what was received', async () => {
    await channel.user('conv-wait').say(bot.messagesUrl, 'ping');
    const error = await channel
      .waitFor((a) => a.text === 'never', 50)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(Error);
    const message = (error as Error).message;
    expect(message).to.include('timed out after 50 ms');
    expect(message).to.include('reply conv=conv-wait type=message text="echo: ping"');
  });

  it('waitFor resolves for activities that arrive later', async () => {
    const pending = channel.waitForTexts('conv-later', 2, 2000);
    await channel.user('conv-later').say(bot.messagesUrl, 'a');
    await channel.user('conv-later').say(bot.messagesUrl, 'b');
    expect(await pending).to.deep.equal(['echo: a', 'echo: b']);
  });
});

describe('test support: ProactiveTestAdapter', () => {
  it('runs the middleware on a ContinueConversation turn whose relatesTo is the reference itself', async () => {
    const seen: Array<{ type: string; name?: string; relatesTo?: unknown }> = [];
    const adapter = new ProactiveTestAdapter(async (context) => {
      await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
    });
    let reference: Partial<ConversationReference> | undefined;
    adapter.use(async (context, next) => {
      const { type, name, relatesTo } = context.activity;
      seen.push({ type, name, relatesTo });
      if (type === ActivityTypes.Message) {
        reference = TurnContext.getConversationReference(context.activity);
      }
      await next();
    });

    await adapter.send('hi').assertReply('echo: hi');
    expect(adapter.activeQueue).to.have.length(0);
    if (reference === undefined) throw new Error('no reference captured');

    let continuationId: string | undefined;
    await adapter.continueConversationAsync('', reference, async (context) => {
      continuationId = context.activity.id;
      await context.sendActivity('proactive');
    });

    expect(adapter.activeQueue).to.have.length(1);
    const reply = adapter.activeQueue[0];
    expect(reply?.text).to.equal('proactive');
    expect(reply?.replyToId).to.equal(continuationId);
    expect(reply?.conversation?.id).to.equal(reference.conversation?.id);

    const proactive = seen[1];
    expect(proactive?.type).to.equal('event');
    expect(proactive?.name).to.equal('ContinueConversation');
    expect(proactive?.relatesTo).to.equal(reference); // the same object, not a copy

    expect(adapter.proactiveCalls).to.have.length(1);
    expect(adapter.proactiveCalls[0]?.botAppId).to.equal('');
    expect(adapter.proactiveCalls[0]?.activity.id).to.equal(continuationId);
  });

  it('routes errors in the proactive logic to onTurnError, like a real adapter', async () => {
    const adapter = new ProactiveTestAdapter();
    const errors: Error[] = [];
    adapter.onTurnError = async (_context, error) => {
      errors.push(error);
    };
    await adapter.continueConversationAsync('', adapter.conversation, async () => {
      throw new Error('boom');
    });
    expect(errors.map((e) => e.message)).to.deep.equal(['boom']);
  });
});
