import { expect } from 'chai';
import { MemoryStorage, type StoreItems } from 'botbuilder';
import { type Clock, TiledeskHandoff, type TiledeskApi } from '../../lib';
import { apiWith } from '../support/api-with';
import { fastClock } from '../support/fast-clock';
import { startHarness, type Harness } from '../support/harness';

/**
 * Regressions of the state layer (issue 8), each over loopback with the real CloudAdapter,
 * restify and the Tiledesk stand-in. Every test failed on 6f0ffcf.
 */
describe('state layer regressions (issue 8)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  const requestOf = (conversationId: string) =>
    [...h.standin.requests.values()].find(
      (r) => r.attributes['bf_conversation'] === conversationId,
    )!;

  it('#4 Tiledesk unreachable: the user hears within the handoff limit, and the bot answers again', async () => {
    const { clock } = fastClock({ capMs: 20 });
    h = await startHarness({
      tiledesk: { clock, handoffLimitMs: 300 },
      settings: { TiledeskCatchUpIntervalMs: '0' },
    });
    h.standin.injectFault({ status: 503, times: Infinity }); // every call, a day of retries
    const user = h.user('conv-down');
    await user.say(h.bot.messagesUrl, 'hello');
    await user.say(h.bot.messagesUrl, 'I want a human');
    await new Promise((r) => setTimeout(r, 600));
    expect(h.channel.texts('conv-down')).to.deep.equal([
      'Echo: hello',
      'Connecting you to a human agent…',
      "Sorry, I couldn't reach a human agent right now. You can keep chatting with me.",
    ]);
    await user.say(h.bot.messagesUrl, 'still there?');
    expect(h.channel.texts('conv-down').at(-1)).to.equal('Echo: still there?');
    h.standin.clearFaults();
  });

  it('#11 a storage failure while starting a handoff never reaches the turn', async () => {
    let failWrites = false;
    const inner = new MemoryStorage();
    const flaky = {
      read: (keys: string[]) => inner.read(keys),
      delete: (keys: string[]) => inner.delete(keys),
      write: (changes: StoreItems) =>
        failWrites
          ? Promise.reject(Object.assign(new Error('429 Too Many Requests'), { statusCode: 429 }))
          : inner.write(changes),
    };
    const turnErrors: unknown[] = [];
    h = await startHarness({ storage: flaky, settings: { TiledeskCatchUpIntervalMs: '0' } });
    const onTurnError = h.adapter.onTurnError;
    h.adapter.onTurnError = async (context, error) => {
      turnErrors.push(error);
      await onTurnError?.(context, error);
    };
    failWrites = true;
    await h.user('conv-429').say(h.bot.messagesUrl, 'I want a human');
    failWrites = false;
    await h.settle();
    expect(turnErrors).to.deep.equal([]);
    expect(h.channel.texts('conv-429')).to.deep.equal(['Echo: I want a human']);
    expect(h.errors.map((e) => e.code)).to.include('TILEDESK_STORAGE');
  });

  it('#12 a routing whose response was lost is not routed again (no second PUT …/agent)', async () => {
    const { clock } = fastClock();
    h = await startHarness({ tiledesk: { clock }, settings: { TiledeskCatchUpIntervalMs: '0' } });
    h.standin.injectFault({ method: 'PUT', path: /\/agent$/, mode: 'drop-response', times: 1 });
    await h.user('conv-route').sayAndWait('human');
    const puts = h.standin.calls.filter((c) => c.method === 'PUT' && /\/agent$/.test(c.path));
    expect(puts).to.have.length(1);
    expect(h.channel.texts('conv-route')).to.deep.equal([
      'Connecting you to a human agent…',
      'Anna Rossi has joined the chat.',
    ]);
  });

  it('#5 a live instance waiting out a Retry-After longer than its lease keeps its posts', async () => {
    const storage = new MemoryStorage();
    const leaseMs = 600;
    h = await startHarness({
      storage,
      tiledesk: { leaseMs },
      settings: { TiledeskCatchUpIntervalMs: '0' },
    });
    h.standin.injectFault({
      method: 'POST',
      path: /\/messages$/,
      status: 429,
      retryAfterSeconds: 2,
      times: 1,
    });
    await h.user('conv-lease').say(h.bot.messagesUrl, 'wait for it');
    // Past the first lease, a second instance starts and looks for work to take over.
    await new Promise((r) => setTimeout(r, leaseMs + 400));
    let otherPosts = 0;
    const other = new TiledeskHandoff({
      adapter: h.adapter,
      storage,
      appSettings: h.settings,
      leaseMs,
      api: apiWith(h.settings, (real) => ({
        sendMessage: (token, requestId, body) => {
          otherPosts++;
          return real.sendMessage(token, requestId, body);
        },
      })),
    });
    await other.start();
    await h.settle();
    const texts = h.standin.messages(requestOf('conv-lease').request_id).map((m) => m.text);
    expect(texts.filter((t) => t === 'wait for it')).to.have.length(1);
    expect(otherPosts, 'posts made by the instance that must not take over').to.equal(0);
    await other.stop();
  });

  it('#8 a multi-part activity taken over after a crash: only the parts not posted are posted', async () => {
    const storage = new MemoryStorage();
    let posts = 0;
    const dying = (settings: Record<string, string | undefined>): TiledeskApi =>
      apiWith(settings, (real) => ({
        // The first two posts go through, then the process "dies" mid-activity.
        sendMessage: (token, requestId, body) =>
          ++posts <= 2
            ? real.sendMessage(token, requestId, body)
            : new Promise<never>(() => undefined),
      }));
    const { clock } = fastClock();
    h = await startHarness({
      storage,
      makeApi: dying,
      tiledesk: { clock },
      settings: { TiledeskCatchUpIntervalMs: '0' },
      logic: async (turn) => {
        if (turn.activity.type !== 'message') return;
        await turn.send({
          text: 'Here are two files',
          attachments: [
            { contentType: 'image/png', contentUrl: 'https://example.com/a.png', name: 'a.png' },
            {
              contentType: 'application/pdf',
              contentUrl: 'https://example.com/b.pdf',
              name: 'b.pdf',
            },
          ],
        });
      },
    });
    await h.user('conv-parts').say(h.bot.messagesUrl, 'files please');
    await h.standin.waitFor(() => posts >= 3);
    const survivor = new TiledeskHandoff({
      adapter: h.adapter,
      storage,
      appSettings: h.settings,
      clock: fastClock({ offsetMs: 120_000 }).clock, // the dead instance's lease has run out
    });
    await survivor.start();
    await survivor.whenIdle();
    const keys = h.standin
      .messages(requestOf('conv-parts').request_id)
      .map((m) => m.attributes?.['bf_key'])
      .filter((k): k is string => typeof k === 'string');
    expect(new Set(keys).size, `duplicates in ${keys.join(', ')}`).to.equal(keys.length);
    // the user message, then the bot's text, image and file (the crash hit the bot's 2nd part)
    expect(keys).to.have.length(4);
    await survivor.stop();
  });
});

describe('state layer regressions (issue 9 / real server)', () => {
  let h: Harness | undefined;
  afterEach(async () => h?.stop());

  /** The after-turn write lands 50 ms late: the next turn starts before it. */
  const lateFlush: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms === 0 ? 50 : ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };

  it('a handoff right after a turn is mirrored after that turn (not before it)', async () => {
    h = await startHarness({ tiledesk: { clock: lateFlush } });
    const ada = h.user('conv-quick');
    await ada.say(h.bot.messagesUrl, 'hi');
    await ada.say(h.bot.messagesUrl, 'I want to talk to a human');
    await h.settle();
    const request = [...h.standin.requests.values()][0]!;
    const texts = h.standin
      .messages(request.request_id)
      .filter((m) => (m.attributes as { subtype?: string } | undefined)?.subtype !== 'info')
      .filter((m) => m.sender !== 'system')
      .map((m) => m.text);
    expect(texts.slice(0, 4)).to.deep.equal([
      'hi',
      'Echo: hi',
      'I want to talk to a human',
      'Connecting you to a human agent…',
    ]);
    expect(request.first_text).to.equal('hi');
  });

  it('leaving right after a turn: that turn reaches the request being left', async () => {
    h = await startHarness({ tiledesk: { clock: lateFlush } });
    const ada = h.user('conv-quick-leave');
    await ada.sayAndWait('I want to talk to a human');
    const request = [...h.standin.requests.values()][0]!;
    await ada.say(h.bot.messagesUrl, 'are you there?');
    await ada.say(h.bot.messagesUrl, 'End chat');
    await h.settle();
    const texts = h.standin.messages(request.request_id).map((m) => m.text);
    expect(texts.indexOf('are you there?')).to.be.greaterThan(-1);
    expect(texts.indexOf('are you there?')).to.be.lessThan(texts.indexOf('End chat'));
  });
});
