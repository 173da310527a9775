import { MemoryStorage } from 'botbuilder';
import { expect } from 'chai';
import sinon from 'sinon';
import { ConversationStore, newRecord } from '../../lib/core/conversation-store';
import { Handoff } from '../../lib/core/handoff';
import { storageKeys } from '../../lib/core/ids';
import {
  type ChatActivity,
  type ConversationRef,
  systemClock,
  type UserChannel,
} from '../../lib/core/types';
import { WebhookReceiver, type WebhookRequest, type WebhookResponse } from '../../lib/core/webhook';
import type { TiledeskError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { envelope, F, type FixtureName, fixtureText, SCENARIO } from '../support/tiledesk-fixtures';

const SECRET = 's3cret';
const CONV = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const REQ = SCENARIO.requestId;
const REF: ConversationRef = {
  channelId: 'msteams',
  conversation: { id: 'a:1Xy-conv' },
  user: { id: '29:1f0c', name: 'John Smith' },
  serviceUrl: 'https://smba.example/emea/',
};

/** The activity the user must get for the agent-message fixture (lib/core/to-activity.ts). */
const ANNA_ACTIVITY: ChatActivity = {
  type: 'message',
  from: { id: SCENARIO.agentId, name: 'Anna Rossi', role: 'agent' },
  text: "Hi John, I'm Anna. Let me check order A-1042 for you.",
};

const OK: WebhookResponse = { status: 200, body: { ok: true } };

function headers(extra: Record<string, string | undefined> = {}): WebhookRequest['headers'] {
  return {
    'content-type': 'application/json',
    'x-hook-secret': SECRET,
    'user-agent': 'tiledesk-webhooks',
    ...extra,
  };
}

/** A fixture body with its payload changed (a fresh copy each time). */
function bodyWith(
  name: FixtureName,
  change: (payload: Record<string, unknown>) => void,
): Record<string, unknown> {
  const body = envelope(name);
  change(body.payload);
  return body;
}

describe('WebhookReceiver.handle', () => {
  let clock: sinon.SinonFakeTimers;
  let storage: MemoryStorage;
  let store: ConversationStore;
  let handoff: sinon.SinonStubbedInstance<Handoff>;
  let user: {
    sendAgentActivities: sinon.SinonStub<[ConversationRef, ChatActivity[]], Promise<void>>;
    sendNotice: sinon.SinonStub<[ConversationRef, string], Promise<void>>;
    emitHandoffStatus: sinon.SinonStub<Parameters<UserChannel['emitHandoffStatus']>, Promise<void>>;
  };
  let knownSecrets: sinon.SinonStub<[boolean], Promise<readonly string[]>>;
  let onError: sinon.SinonSpy<[TiledeskError], void>;
  let logger: { [K in keyof Logger]: sinon.SinonSpy<Parameters<Logger[K]>, void> };
  let receiver: WebhookReceiver;

  function makeReceiver(
    options: { maxBodyBytes?: number; deliveryMaxAgeMs?: number } = {},
  ): WebhookReceiver {
    return new WebhookReceiver({
      store,
      handoff,
      user,
      clock: systemClock, // global timers, faked by sinon
      logger,
      knownSecrets,
      ownSenders: new Set([SCENARIO.botSender]),
      onError,
      ...options,
    });
  }

  /** Delivers a fixture (as the raw JSON text Tiledesk sends) and waits for the processing. */
  async function deliver(
    body: unknown,
    extraHeaders: Record<string, string | undefined> = {},
  ): Promise<WebhookResponse> {
    const response = await receiver.handle({ headers: headers(extraHeaders), body });
    await receiver.whenIdle();
    return response;
  }

  beforeEach(async () => {
    clock = sinon.useFakeTimers({
      now: Date.parse('2026-11-26T14:00:40.700Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
    storage = new MemoryStorage();
    store = new ConversationStore(storage);
    await store.create(CONV, newRecord(REF, REQ));
    handoff = sinon.createStubInstance(Handoff);
    handoff.close.resolves();
    handoff.accept.resolves();
    user = {
      sendAgentActivities: sinon
        .stub<[ConversationRef, ChatActivity[]], Promise<void>>()
        .resolves(),
      sendNotice: sinon.stub<[ConversationRef, string], Promise<void>>().resolves(),
      emitHandoffStatus: sinon
        .stub<Parameters<UserChannel['emitHandoffStatus']>, Promise<void>>()
        .resolves(),
    };
    knownSecrets = sinon.stub<[boolean], Promise<readonly string[]>>().resolves([SECRET]);
    onError = sinon.spy<(error: TiledeskError) => void>(() => undefined);
    const logSpy = () =>
      sinon.spy<(message: string, context?: Record<string, unknown>) => void>(() => undefined);
    logger = { debug: logSpy(), info: logSpy(), warn: logSpy(), error: logSpy() };
    receiver = makeReceiver();
  });

  afterEach(() => {
    clock.restore();
  });

  function expectNothingHappened(): void {
    expect(user.sendAgentActivities.callCount, 'sendAgentActivities').to.equal(0);
    expect(user.sendNotice.callCount, 'sendNotice').to.equal(0);
    expect(user.emitHandoffStatus.callCount, 'emitHandoffStatus').to.equal(0);
    expect(handoff.accept.callCount, 'accept').to.equal(0);
    expect(handoff.close.callCount, 'close').to.equal(0);
    expect(onError.callCount, 'onError').to.equal(0);
  }

  describe('rejections (nothing is processed)', () => {
    const cases: {
      name: string;
      request: () => WebhookRequest;
      response: WebhookResponse;
      secretsAsked: boolean[][];
    }[] = [
      {
        name: 'missing x-hook-secret → 401',
        request: () => ({
          headers: headers({ 'x-hook-secret': undefined }),
          body: fixtureText(F.agent),
        }),
        response: { status: 401, body: { error: 'Missing or wrong x-hook-secret' } },
        secretsAsked: [],
      },
      {
        name: 'empty x-hook-secret → 401',
        request: () => ({ headers: headers({ 'x-hook-secret': '' }), body: fixtureText(F.agent) }),
        response: { status: 401, body: { error: 'Missing or wrong x-hook-secret' } },
        secretsAsked: [],
      },
      {
        name: 'wrong x-hook-secret → 401 (after one reload of the secrets)',
        request: () => ({
          headers: headers({ 'x-hook-secret': 's3cret-but-longer' }),
          body: fixtureText(F.agent),
        }),
        response: { status: 401, body: { error: 'Missing or wrong x-hook-secret' } },
        secretsAsked: [[false], [true]],
      },
      {
        name: 'a prefix of the secret → 401',
        request: () => ({
          headers: headers({ 'x-hook-secret': 's3cre' }),
          body: fixtureText(F.agent),
        }),
        response: { status: 401, body: { error: 'Missing or wrong x-hook-secret' } },
        secretsAsked: [[false], [true]],
      },
      {
        name: 'Content-Type text/plain → 415 (before the secret is checked)',
        request: () => ({
          headers: headers({ 'content-type': 'text/plain', 'x-hook-secret': 'wrong' }),
          body: fixtureText(F.agent),
        }),
        response: { status: 415, body: { error: 'Content-Type must be application/json' } },
        secretsAsked: [],
      },
      {
        name: 'Content-Type application/x-www-form-urlencoded → 415',
        request: () => ({
          headers: headers({ 'content-type': 'application/x-www-form-urlencoded' }),
          body: 'a=1',
        }),
        response: { status: 415, body: { error: 'Content-Type must be application/json' } },
        secretsAsked: [],
      },
      {
        name: 'Content-Length above 1 MiB → 413 (before the secret is checked)',
        request: () => ({
          headers: headers({ 'content-length': String(1024 * 1024 + 1), 'x-hook-secret': 'wrong' }),
          body: '{}',
        }),
        response: { status: 413, body: { error: 'Body too large' } },
        secretsAsked: [],
      },
      {
        name: 'raw body that is not JSON → 400',
        request: () => ({ headers: headers(), body: '{"hook": {"event": "message.create"' }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        secretsAsked: [[false]],
      },
      {
        name: 'valid JSON that is not an envelope → 400',
        request: () => ({
          headers: headers(),
          body: JSON.stringify({ event: 'message.create', data: {} }),
        }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        secretsAsked: [[false]],
      },
      {
        name: 'an envelope without hook.event → 400',
        request: () => ({ headers: headers(), body: { payload: {}, hook: { _id: 'h1' } } }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        secretsAsked: [[false]],
      },
      {
        name: 'an array body → 400',
        request: () => ({ headers: headers(), body: [envelope(F.agent)] }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        secretsAsked: [[false]],
      },
      {
        name: 'message.create whose payload is not a message (no recipient) → 400',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (p) => delete p['recipient']),
        }),
        response: { status: 400, body: { error: 'Unexpected payload for this event' } },
        secretsAsked: [[false]],
      },
      {
        name: 'request.close without request_id → 400',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.requestClose, (p) => delete p['request_id']),
        }),
        response: { status: 400, body: { error: 'Unexpected payload for this event' } },
        secretsAsked: [[false]],
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const response = await receiver.handle(c.request());
        expect(response).to.deep.equal(c.response);
        expect(knownSecrets.args).to.deep.equal(c.secretsAsked);
        expect(receiver.pending).to.equal(0);
        await receiver.whenIdle();
        expectNothingHappened();
      });
    }

    it('a raw string body longer than maxBodyBytes → 413 even without Content-Length', async () => {
      receiver = makeReceiver({ maxBodyBytes: 100 });
      const response = await receiver.handle({ headers: headers(), body: fixtureText(F.agent) });
      expect(response).to.deep.equal({ status: 413, body: { error: 'Body too large' } });
    });
  });

  describe('accepted content types and bodies', () => {
    const variants: {
      name: string;
      extra: Record<string, string | undefined>;
      body: () => unknown;
    }[] = [
      { name: 'raw JSON text', extra: {}, body: () => fixtureText(F.agent) },
      { name: 'a Buffer', extra: {}, body: () => Buffer.from(fixtureText(F.agent)) },
      { name: 'an already parsed object', extra: {}, body: () => envelope(F.agent) },
      {
        name: 'application/json; charset=utf-8',
        extra: { 'content-type': 'application/json; charset=utf-8' },
        body: () => fixtureText(F.agent),
      },
      {
        name: 'no Content-Type at all',
        extra: { 'content-type': undefined },
        body: () => fixtureText(F.agent),
      },
      { name: 'a header given as an array', extra: {}, body: () => fixtureText(F.agent) },
    ];
    for (const v of variants) {
      it(`${v.name} → 200 and delivered`, async () => {
        const request: WebhookRequest =
          v.name === 'a header given as an array'
            ? { headers: { ...headers(), 'x-hook-secret': [SECRET, 'other'] }, body: v.body() }
            : { headers: headers(v.extra), body: v.body() };
        expect(await receiver.handle(request)).to.deep.equal(OK);
        await receiver.whenIdle();
        expect(user.sendAgentActivities.args).to.deep.equal([[REF, [ANNA_ACTIVITY]]]);
      });
    }

    it('accepts a secret that only a reload knows (subscription recreated elsewhere)', async () => {
      knownSecrets.withArgs(false).resolves(['old-secret']);
      knownSecrets.withArgs(true).resolves(['old-secret', SECRET]);
      expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
      expect(knownSecrets.args).to.deep.equal([[false], [true]]);
      expect(user.sendAgentActivities.callCount).to.equal(1);
    });
  });

  it('an unknown event → 200 and ignored', async () => {
    expect(
      await receiver.handle({ headers: headers(), body: fixtureText(F.requestUpdate) }),
    ).to.deep.equal(OK);
    expect(receiver.pending).to.equal(0);
    await receiver.whenIdle();
    expectNothingHappened();
  });

  it('answers 200 before processing (Tiledesk must not wait)', async () => {
    const response = await receiver.handle({ headers: headers(), body: fixtureText(F.agent) });
    expect(response).to.deep.equal(OK);
    expect(user.sendAgentActivities.callCount).to.equal(0);
    await receiver.whenIdle();
    expect(user.sendAgentActivities.callCount).to.equal(1);
  });

  it('an agent message for a known request → sendAgentActivities once, with the mapped activity', async () => {
    expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);

    expect(user.sendAgentActivities.args).to.deep.equal([[REF, [ANNA_ACTIVITY]]]);
    expect(user.sendNotice.callCount).to.equal(0);
    expect(onError.callCount).to.equal(0);
    // The message is remembered, and a human now owns the conversation.
    expect(await store.get(CONV)).to.deep.equal({
      ...newRecord(REF, REQ),
      mode: 'handoff',
      handoff: { at: clock.now, trigger: 'agent', accepted: true },
      delivered: ['65a1b2c3d4e5f6a7b8c9e008@2026-11-26T14:00:40.500Z'],
    });
  });

  it('keeps an existing handoff as it is when delivering', async () => {
    const handoffState = { at: 1, trigger: 'keyword', accepted: false };
    await store.update(CONV, (r) => ({ ...r, mode: 'handoff', handoff: handoffState }));
    await deliver(fixtureText(F.agent));
    expect((await store.get(CONV))?.handoff).to.deep.equal(handoffState);
    expect(user.sendAgentActivities.callCount).to.equal(1);
  });

  it('the same delivery twice (Tiledesk retry, or both event names) → delivered once', async () => {
    await deliver(fixtureText(F.agent));
    await deliver(fixtureText(F.agent));
    const generic = envelope(F.agent);
    generic.hook.event = 'message.create';
    await deliver(generic);

    expect(user.sendAgentActivities.callCount).to.equal(1);
    expect((await store.get(CONV))?.delivered).to.deep.equal([
      '65a1b2c3d4e5f6a7b8c9e008@2026-11-26T14:00:40.500Z',
    ]);
  });

  it('the same delivery twice at once → delivered once', async () => {
    await Promise.all([
      receiver.handle({ headers: headers(), body: fixtureText(F.agent) }),
      receiver.handle({ headers: headers(), body: fixtureText(F.agent) }),
    ]);
    await receiver.whenIdle();
    expect(user.sendAgentActivities.callCount).to.equal(1);
  });

  it('two agent messages of one request are delivered in order', async () => {
    const second = bodyWith(F.agent, (p) => {
      p['_id'] = 'm-second';
      p['text'] = 'Found it: it ships tomorrow.';
    });
    await receiver.handle({ headers: headers(), body: fixtureText(F.agent) });
    await receiver.handle({ headers: headers(), body: second });
    await receiver.whenIdle();
    expect(user.sendAgentActivities.args.map((a) => a[1][0]?.text)).to.deep.equal([
      ANNA_ACTIVITY.text,
      'Found it: it ships tomorrow.',
    ]);
  });

  const ignored: { name: string; body: () => unknown }[] = [
    {
      name: 'our own user echo (bf_mirror mark)',
      body: () =>
        bodyWith(F.echo, (p) => (p['attributes'] = { bf_channel: 'msteams', bf_mirror: true })),
    },
    {
      name: 'our own bot echo (bot sender)',
      body: () =>
        bodyWith(F.agent, (p) => ((p['sender'] = SCENARIO.botSender), (p['attributes'] = {}))),
    },
    { name: 'TOUCHING_OPERATOR info', body: () => fixtureText(F.touching) },
    {
      name: 'a private note',
      body: () => bodyWith(F.agent, (p) => (p['attributes'] = { subtype: 'private' })),
    },
  ];
  for (const c of ignored) {
    it(`${c.name} → 200 and nothing`, async () => {
      expect(await deliver(c.body())).to.deep.equal(OK);
      expectNothingHappened();
      expect(await store.get(CONV)).to.deep.equal(newRecord(REF, REQ)); // still the bot's
    });
  }

  it('CHAT_CLOSED → handoff.close(conversation, request)', async () => {
    expect(await deliver(fixtureText(F.closed))).to.deep.equal(OK);
    expect(handoff.close.args).to.deep.equal([[CONV, REQ]]);
    expect(user.sendAgentActivities.callCount).to.equal(0);
  });

  it('request.close → handoff.close(conversation, request)', async () => {
    expect(await deliver(fixtureText(F.requestClose))).to.deep.equal(OK);
    expect(handoff.close.args).to.deep.equal([[CONV, REQ]]);
    expect(user.sendAgentActivities.callCount).to.equal(0);
  });

  it('MEMBER_JOINED_GROUP → handoff.accept(conversation, request, agent name)', async () => {
    expect(await deliver(fixtureText(F.joined))).to.deep.equal(OK);
    expect(handoff.accept.args).to.deep.equal([[CONV, REQ, 'Anna Rossi']]);
    expect(handoff.close.callCount).to.equal(0);
    expect(user.sendAgentActivities.callCount).to.equal(0);
  });

  it('an unknown request id → 200 and nothing (logged at debug)', async () => {
    const other = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-ffffffffffffffffffffffffffffffff';
    for (const body of [
      bodyWith(F.agent, (p) => (p['recipient'] = other)),
      bodyWith(F.closed, (p) => (p['recipient'] = other)),
      bodyWith(F.requestClose, (p) => (p['request_id'] = other)),
    ]) {
      expect(await deliver(body)).to.deep.equal(OK);
    }
    expectNothingHappened();
    expect(logger.debug.args).to.deep.equal([
      ['Tiledesk webhook for an unknown request ignored', { requestId: other }],
      ['Tiledesk webhook for an unknown request ignored', { requestId: other }],
      ['Tiledesk webhook for an unknown request ignored', { requestId: other }],
    ]);
  });

  it("an agent message for the conversation's previous (closed) request is not delivered", async () => {
    const next = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-00000000000000000000000000000002';
    await store.update(CONV, (r) => ({ ...r, generation: 1, requestId: next }));
    expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
    expectNothingHappened();
    expect((await store.get(CONV))?.delivered).to.deep.equal([]);
  });

  it('a failed proactive send is retried (backoff) and then delivered once', async () => {
    user.sendAgentActivities.onFirstCall().rejects(new Error('503 from the channel'));

    expect(await receiver.handle({ headers: headers(), body: fixtureText(F.agent) })).to.deep.equal(
      OK,
    );
    await clock.tickAsync(0);
    expect(user.sendAgentActivities.callCount).to.equal(1);
    expect(logger.warn.args).to.deep.equal([
      [
        'Sending an agent message to the user failed; retrying',
        { requestId: REQ, messageId: '65a1b2c3d4e5f6a7b8c9e008', error: '503 from the channel' },
      ],
    ]);

    await clock.tickAsync(250); // first backoff is at most 250 ms
    await receiver.whenIdle();
    expect(user.sendAgentActivities.callCount).to.equal(2);
    expect(user.sendAgentActivities.secondCall.args).to.deep.equal([REF, [ANNA_ACTIVITY]]);
    expect(onError.callCount).to.equal(0);

    // Tiledesk's own retry of the same delivery is not sent again.
    await deliver(fixtureText(F.agent));
    expect(user.sendAgentActivities.callCount).to.equal(2);
  });

  it('a proactive send failing past deliveryMaxAgeMs → one TILEDESK_DELIVERY error, then it stops', async () => {
    receiver = makeReceiver({ deliveryMaxAgeMs: 60_000 });
    user.sendAgentActivities.rejects(new Error('bot is offline'));

    await receiver.handle({ headers: headers(), body: fixtureText(F.agent) });
    await clock.tickAsync(10 * 60_000);
    await receiver.whenIdle();

    expect(onError.callCount).to.equal(1);
    const error = onError.firstCall.args[0];
    expect(error.code).to.equal('TILEDESK_DELIVERY');
    expect(error.message).to.equal(
      '[botbuilder-tiledesk] Could not deliver a Tiledesk message.create.request.channel.botframework to the user',
    );
    expect(error.context).to.include({
      requestId: REQ,
      messageId: '65a1b2c3d4e5f6a7b8c9e008',
      cause: 'proactive send failed',
    });
    const attempts = user.sendAgentActivities.callCount;
    expect(error.context['attempts']).to.equal(attempts);
    expect(attempts).to.be.greaterThan(2);

    await clock.tickAsync(10 * 60_000);
    expect(user.sendAgentActivities.callCount).to.equal(attempts);
    expect(receiver.pending).to.equal(0);
  });

  it('a storage failure while processing → one TILEDESK_DELIVERY error, no retry', async () => {
    await storage.write({ [storageKeys.conversation(CONV)]: { v: 99 } });
    await deliver(fixtureText(F.agent));
    expect(onError.callCount).to.equal(1);
    expect(onError.firstCall.args[0].code).to.equal('TILEDESK_DELIVERY');
    expect(onError.firstCall.args[0].context).to.include({
      requestId: REQ,
      attempts: 1,
      cause: `[botbuilder-tiledesk] Stored item ${storageKeys.conversation(CONV)} is not a valid conversation record`,
    });
    expect(user.sendAgentActivities.callCount).to.equal(0);
  });

  it('never logs or reports the secret', async () => {
    await receiver.handle({
      headers: headers({ 'x-hook-secret': 'wrong-secret-value' }),
      body: fixtureText(F.agent),
    });
    user.sendAgentActivities.rejects(new Error('down'));
    receiver = makeReceiver({ deliveryMaxAgeMs: 1 });
    await receiver.handle({ headers: headers(), body: fixtureText(F.agent) });
    await clock.tickAsync(60_000);
    await receiver.whenIdle();
    const everything = JSON.stringify([
      logger.debug.args,
      logger.info.args,
      logger.warn.args,
      logger.error.args,
      onError.args,
    ]);
    expect(everything).not.to.include(SECRET);
    expect(everything).not.to.include('wrong-secret-value');
  });
});
