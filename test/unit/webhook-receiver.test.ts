import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import sinon from 'sinon';
import { requestIdFor } from '../../lib/core/ids';
import type { KnownHook } from '../../lib/core/subscriptions';
import {
  MAX_TOKEN_AGE_MS,
  WebhookReadError,
  WebhookReceiver,
  type WebhookReceiverOptions,
  type WebhookRequest,
  type WebhookResponse,
} from '../../lib/core/webhook';
import type { Logger } from '../../lib/logger';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';
import { envelope, F, fixtureText, SCENARIO, type FixtureName } from '../support/tiledesk-fixtures';

/**
 * The receiver checks a delivery and hands what matters to `Delivery.notify` (conversation and
 * generation parsed from the request id). What `Delivery` then does is tested with the engine
 * (integration) and by the simulation. The fixtures are real HS256 tokens signed with the
 * placeholder secret of /work/shared/tiledesk-fixtures/README.md.
 */

const SECRET = '00000000-0000-4000-8000-000000000000';
/** Our two subscriptions, as the fixtures name them. */
const MESSAGE_HOOK: KnownHook = {
  id: '65b0c1d2e3f4a5b6c7d8e9f0',
  event: 'message.create.request.channel.botframework',
  secret: SECRET,
};
const CLOSE_HOOK: KnownHook = {
  id: '65b0c1d2e3f4a5b6c7d8e9f1',
  event: 'request.close',
  secret: SECRET,
};
/** Shortly after the fixtures' scenario (their tokens' iat). */
const NOW = 1_795_701_700_000;
/** The fixtures' request id is Tiledesk's convention, which is ours for a first request. */
const CONV = SCENARIO.requestId.slice(-32);
const AGENT_MESSAGE_ID = envelope(F.agent).payload['_id'] as string;
const OK: WebhookResponse = { status: 200, body: { ok: true } };
const SECRET_401: WebhookResponse = {
  status: 401,
  body: { error: 'Missing or wrong x-hook-secret' },
};

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
  change: (payload: Record<string, unknown>, body: Record<string, unknown>) => void,
): Record<string, unknown> {
  const body = JSON.parse(fixtureText(name)) as Record<string, unknown>;
  change(body['payload'] as Record<string, unknown>, body);
  return body;
}

/** A fixture as a JSON body parser hands it over. */
function parsed(name: FixtureName): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}

/** A token as Tiledesk signs it, for any hook fields and secret. */
function sign(hook: Record<string, unknown>, secret: string, iatMs = NOW): string {
  return jwt.sign({ ...hook, iat: Math.floor(iatMs / 1000) }, secret, {
    audience: `https://tiledesk.com/subscriptions/${String(hook['_id'])}`,
    issuer: 'https://tiledesk.com',
    subject: 'subscription',
  });
}

describe('WebhookReceiver.handle', () => {
  let notify: sinon.SinonSpy<[string, number, TiledeskMessage | undefined], void>;
  let known: sinon.SinonStub<[boolean], Promise<readonly KnownHook[]>>;
  let logger: { [K in keyof Logger]: sinon.SinonSpy<Parameters<Logger[K]>, void> };
  let now: number;
  let receiver: WebhookReceiver;

  function makeReceiver(options: Partial<WebhookReceiverOptions> = {}): WebhookReceiver {
    return new WebhookReceiver({
      delivery: { notify, joined: () => undefined },
      projectId: SCENARIO.projectId,
      logger,
      known,
      ownSenders: new Set([SCENARIO.botSender]),
      clock: { now: () => now, setTimeout: () => ({}), clearTimeout: () => undefined },
      ...options,
    });
  }

  async function deliver(body: unknown, extra: Record<string, string | undefined> = {}) {
    return receiver.handle({ headers: headers(extra), body });
  }

  /** What was handed to Delivery: [conversation, generation, message id or undefined]. */
  function notified(): [string, number, string | undefined][] {
    return notify.args.map(([c, g, m]) => [c, g, m?._id]);
  }

  function refused(): Record<string, number> {
    return receiver.snapshot().refused as Record<string, number>;
  }

  beforeEach(() => {
    now = NOW;
    notify = sinon.spy<(c: string, g: number, m: TiledeskMessage | undefined) => void>(
      () => undefined,
    );
    known = sinon
      .stub<[boolean], Promise<readonly KnownHook[]>>()
      .resolves([MESSAGE_HOOK, CLOSE_HOOK]);
    const logSpy = () =>
      sinon.spy<(message: string, context?: Record<string, unknown>) => void>(() => undefined);
    logger = { debug: logSpy(), info: logSpy(), warn: logSpy(), error: logSpy() };
    receiver = makeReceiver();
  });

  function expectNothingHappened(): void {
    expect(notify.callCount, 'Delivery.notify').to.equal(0);
  }

  describe('refusals (nothing is processed, each counted by reason)', () => {
    const cases: {
      name: string;
      request: () => WebhookRequest;
      response: WebhookResponse;
      reason: string;
    }[] = [
      {
        name: 'missing x-hook-secret → 401',
        request: () => ({
          headers: headers({ 'x-hook-secret': undefined }),
          body: fixtureText(F.agent),
        }),
        response: SECRET_401,
        reason: 'secret',
      },
      {
        name: 'empty x-hook-secret → 401',
        request: () => ({ headers: headers({ 'x-hook-secret': '' }), body: fixtureText(F.agent) }),
        response: SECRET_401,
        reason: 'secret',
      },
      {
        name: 'wrong x-hook-secret → 401',
        request: () => ({
          headers: headers({ 'x-hook-secret': `${SECRET}-x` }),
          body: fixtureText(F.agent),
        }),
        response: SECRET_401,
        reason: 'secret',
      },
      {
        name: 'a prefix of the secret → 401',
        request: () => ({
          headers: headers({ 'x-hook-secret': SECRET.slice(0, 8) }),
          body: fixtureText(F.agent),
        }),
        response: SECRET_401,
        reason: 'secret',
      },
      {
        name: 'Content-Type text/plain with a wrong secret → 401 (the secret comes first)',
        request: () => ({
          headers: headers({ 'content-type': 'text/plain', 'x-hook-secret': 'wrong' }),
          body: fixtureText(F.agent),
        }),
        response: SECRET_401,
        reason: 'secret',
      },
      {
        name: 'Content-Type application/x-www-form-urlencoded → 415',
        request: () => ({
          headers: headers({ 'content-type': 'application/x-www-form-urlencoded' }),
          body: 'a=1',
        }),
        response: { status: 415, body: { error: 'Content-Type must be application/json' } },
        reason: 'content_type',
      },
      {
        name: 'no Content-Type at all → 415 (Tiledesk always sends one)',
        request: () => ({
          headers: headers({ 'content-type': undefined }),
          body: fixtureText(F.agent),
        }),
        response: { status: 415, body: { error: 'Content-Type must be application/json' } },
        reason: 'content_type',
      },
      {
        name: 'Content-Length above 1 MiB → 413',
        request: () => ({
          headers: headers({ 'content-length': String(1024 * 1024 + 1) }),
          body: '{}',
        }),
        response: { status: 413, body: { error: 'Body too large' } },
        reason: 'too_large',
      },
      {
        name: 'raw body that is not JSON → 400',
        request: () => ({ headers: headers(), body: '{"hook": {"event": "message.create"' }),
        response: { status: 400, body: { error: 'Body is not JSON' } },
        reason: 'malformed',
      },
      {
        name: 'valid JSON that is not an envelope → 400',
        request: () => ({
          headers: headers(),
          body: JSON.stringify({ event: 'message.create', data: {} }),
        }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        reason: 'envelope',
      },
      {
        name: 'an array body → 400',
        request: () => ({ headers: headers(), body: [envelope(F.agent)] }),
        response: { status: 400, body: { error: 'Not a Tiledesk webhook envelope' } },
        reason: 'envelope',
      },
      {
        name: 'hook of another project → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(
            F.agent,
            (_p, b) =>
              ((b['hook'] as Record<string, unknown>)['id_project'] = '65a1b2c3d4e5f6a7b8c9d0ff'),
          ),
        }),
        response: { status: 403, body: { error: 'Not a delivery for this project' } },
        reason: 'project',
      },
      {
        name: 'payload of another project → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (p) => (p['id_project'] = '65a1b2c3d4e5f6a7b8c9d0ff')),
        }),
        response: { status: 403, body: { error: 'Not a delivery for this project' } },
        reason: 'project',
      },
      {
        name: 'a hook without id_project → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(
            F.agent,
            (_p, b) => delete (b['hook'] as Record<string, unknown>)['id_project'],
          ),
        }),
        response: { status: 403, body: { error: 'Not a delivery for this project' } },
        reason: 'project',
      },
      {
        name: 'another subscription of our project (properly signed for it) → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (_p, b) => {
            const hook = {
              ...(b['hook'] as Record<string, unknown>),
              _id: '65b0c1d2e3f4a5b6c7d8e9ff',
            };
            b['hook'] = hook;
            b['token'] = sign(hook, SECRET);
          }),
        }),
        response: { status: 403, body: { error: 'Not a delivery of our subscriptions' } },
        reason: 'hook',
      },
      {
        name: 'our hook id with another event → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(
            F.agent,
            (_p, b) => ((b['hook'] as Record<string, unknown>)['event'] = 'request.close'),
          ),
        }),
        response: { status: 403, body: { error: 'Not a delivery of our subscriptions' } },
        reason: 'hook',
      },
      {
        name: 'no token → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (_p, b) => delete b['token']),
        }),
        response: { status: 403, body: { error: 'Invalid token' } },
        reason: 'token',
      },
      {
        name: 'token signed with another secret (forged) → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(
            F.agent,
            (_p, b) => (b['token'] = sign(b['hook'] as Record<string, unknown>, 'guessed')),
          ),
        }),
        response: { status: 403, body: { error: 'Invalid token' } },
        reason: 'token',
      },
      {
        name: 'token of another subscription (shared secret) on our hook → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (_p, b) => (b['token'] = envelope(F.requestClose).token)),
        }),
        response: { status: 403, body: { error: 'Invalid token' } },
        reason: 'token',
      },
      {
        name: 'token with alg none → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (_p, b) => {
            const claims = { ...(b['hook'] as Record<string, unknown>), iat: NOW / 1000 };
            b['token'] = jwt.sign(claims, '', {
              algorithm: 'none',
              audience: `https://tiledesk.com/subscriptions/${MESSAGE_HOOK.id}`,
              issuer: 'https://tiledesk.com',
              subject: 'subscription',
            });
          }),
        }),
        response: { status: 403, body: { error: 'Invalid token' } },
        reason: 'token',
      },
      {
        name: 'token issued an hour ago → 403',
        request: () => ({
          headers: headers(),
          body: bodyWith(
            F.agent,
            (_p, b) =>
              (b['token'] = sign(b['hook'] as Record<string, unknown>, SECRET, NOW - 3_600_000)),
          ),
        }),
        response: { status: 403, body: { error: 'Delivery too old' } },
        reason: 'stale',
      },
      {
        name: 'message.create whose payload is not a message (no recipient) → 400',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.agent, (p) => delete p['recipient']),
        }),
        response: { status: 400, body: { error: 'Unexpected payload for this event' } },
        reason: 'payload',
      },
      {
        name: 'request.close without request_id → 400',
        request: () => ({
          headers: headers(),
          body: bodyWith(F.requestClose, (p) => delete p['request_id']),
        }),
        response: { status: 400, body: { error: 'Unexpected payload for this event' } },
        reason: 'payload',
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const response = await receiver.handle(c.request());
        expect(response).to.deep.equal(c.response);
        expect(refused()).to.deep.equal({ [c.reason]: 1 });
        expect(receiver.snapshot().accepted).to.equal(0);
        expectNothingHappened();
      });
    }

    it('no secret asked for a request without x-hook-secret; one reload for a wrong one', async () => {
      await receiver.handle({ headers: headers({ 'x-hook-secret': undefined }), body: '{}' });
      expect(known.args).to.deep.equal([]);
      await receiver.handle({ headers: headers({ 'x-hook-secret': 'wrong' }), body: '{}' });
      expect(known.args).to.deep.equal([[false], [true]]);
    });

    it('no subscription known yet → 503 (Tiledesk retries), whatever the secret', async () => {
      known.resolves([]);
      const response = await deliver(fixtureText(F.agent));
      expect(response).to.deep.equal({
        status: 503,
        body: { error: 'No webhook subscription known yet' },
        headers: { 'retry-after': '5' },
      });
      expect(refused()).to.deep.equal({ not_ready: 1 });
      expectNothingHappened();
    });

    it('subscriptions unreadable (storage down) → 503', async () => {
      known.rejects(new Error('storage down'));
      expect((await deliver(fixtureText(F.agent))).status).to.equal(503);
      expectNothingHappened();
    });

    it('a raw string body longer than maxBodyBytes → 413 even without Content-Length', async () => {
      receiver = makeReceiver({ maxBodyBytes: 100 });
      const response = await deliver(fixtureText(F.agent));
      expect(response).to.deep.equal({ status: 413, body: { error: 'Body too large' } });
    });

    it("the probe's own token is answered 401 but not counted", async () => {
      const response = await receiver.handle({
        headers: headers({
          'x-hook-secret': undefined,
          'x-botbuilder-tiledesk-probe': receiver.probeToken,
        }),
        body: '{}',
      });
      expect(response).to.deep.equal(SECRET_401);
      expect(refused()).to.deep.equal({});
      expect(receiver.snapshot().lastProbeAt).to.equal(NOW);
    });

    it('logs one warning per reason per minute, the rest at debug', async () => {
      for (let i = 0; i < 5; i++) await deliver('{}', { 'x-hook-secret': 'wrong' });
      now += 61_000;
      await deliver('{}', { 'x-hook-secret': 'wrong' });
      const warnings = logger.warn.args.filter(([m]) => m === 'webhook.refused');
      expect(
        warnings.map(([, c]) => [c?.['reason'], c?.['status'], c?.['suppressed']]),
      ).to.deep.equal([
        ['secret', 401, undefined],
        ['secret', 401, 4],
      ]);
      expect(refused()).to.deep.equal({ secret: 6 });
    });
  });

  describe('reading the body (hosts without a body parser)', () => {
    function reading(read: WebhookRequest['readBody'], remoteAddress = '10.0.0.1'): WebhookRequest {
      return { headers: headers(), readBody: read, remoteAddress };
    }

    it('reads only after the headers passed, with the configured limits', async () => {
      receiver = makeReceiver({ maxBodyBytes: 65536, readTimeoutMs: 250 });
      const read = sinon.stub<
        Parameters<NonNullable<WebhookRequest['readBody']>>,
        Promise<Buffer>
      >();
      read.resolves(Buffer.from(fixtureText(F.agent)));
      await receiver.handle({ ...reading(read), headers: headers({ 'x-hook-secret': 'wrong' }) });
      expect(read.callCount).to.equal(0);
      expect(await receiver.handle(reading(read))).to.deep.equal(OK);
      expect(read.args).to.deep.equal([[{ maxBytes: 65536, timeoutMs: 250 }]]);
      expect(notified()).to.deep.equal([[CONV, 0, AGENT_MESSAGE_ID]]);
    });

    for (const [reason, status] of [
      ['too_large', 413],
      ['timeout', 408],
      ['aborted', 400],
    ] as const) {
      it(`a read that fails with ${reason} → ${status}`, async () => {
        const response = await receiver.handle(
          reading(() => Promise.reject(new WebhookReadError(reason))),
        );
        expect(response.status).to.equal(status);
        expect(refused()).to.deep.equal({ [reason]: 1 });
        expectNothingHappened();
      });
    }

    it('caps concurrent reads per address (429, retried by Tiledesk); other addresses go on', async () => {
      receiver = makeReceiver({ maxReadsPerSource: 2 });
      const pending: (() => void)[] = [];
      const slow = () =>
        new Promise<Buffer>((resolve) =>
          pending.push(() => resolve(Buffer.from(fixtureText(F.agent)))),
        );
      const a = receiver.handle(reading(slow));
      const b = receiver.handle(reading(slow));
      await new Promise((r) => setImmediate(r));
      expect(receiver.snapshot().readsInProgress).to.equal(2);
      expect(await receiver.handle(reading(slow))).to.deep.equal({
        status: 429,
        body: { error: 'Too many bodies at once' },
        headers: { 'retry-after': '5' },
      });
      const other = receiver.handle(reading(slow, '10.0.0.2'));
      await new Promise((r) => setImmediate(r));
      for (const release of pending) release();
      expect((await Promise.all([a, b, other])).map((r) => r.status)).to.deep.equal([
        200, 200, 200,
      ]);
      expect(receiver.snapshot().readsInProgress).to.equal(0);
      // The same delivery three times: processed once.
      expect(notify.callCount).to.equal(1);
      expect(receiver.snapshot().ignored).to.deep.equal({ replay: 2 });
    });
  });

  describe('accepted', () => {
    const variants: {
      name: string;
      extra: Record<string, string | undefined>;
      body: () => unknown;
    }[] = [
      { name: 'raw JSON text', extra: {}, body: () => fixtureText(F.agent) },
      { name: 'a Buffer', extra: {}, body: () => Buffer.from(fixtureText(F.agent)) },
      { name: 'an already parsed object', extra: {}, body: () => parsed(F.agent) },
      {
        name: 'application/json; charset=utf-8',
        extra: { 'content-type': 'application/json; charset=utf-8' },
        body: () => fixtureText(F.agent),
      },
    ];
    for (const v of variants) {
      it(`${v.name} → 200 and delivered`, async () => {
        expect(await deliver(v.body(), v.extra)).to.deep.equal(OK);
        expect(notified()).to.deep.equal([[CONV, 0, AGENT_MESSAGE_ID]]);
        expect(receiver.snapshot()).to.include({ accepted: 1, lastAcceptedAt: NOW });
      });
    }

    it('a header given as an array', async () => {
      const request = {
        headers: { ...headers(), 'x-hook-secret': [SECRET, 'other'] },
        body: fixtureText(F.agent),
      };
      expect(await receiver.handle(request)).to.deep.equal(OK);
    });

    it('a parsed body (a body parser ran first) warns once how to mount the handler', async () => {
      await deliver(parsed(F.agent));
      await deliver(parsed(F.joined));
      const warned = logger.warn.args.filter(([m]) => m === 'webhook.body_parsed_before_check');
      expect(warned).to.have.length(1);
    });

    it('a hook that only a reload knows (subscription recreated elsewhere)', async () => {
      known.withArgs(false).resolves([CLOSE_HOOK]);
      known.withArgs(true).resolves([MESSAGE_HOOK, CLOSE_HOOK]);
      expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
      expect(notified()).to.have.length(1);
    });

    it('a token issued a little in the future (clock skew within the limit)', async () => {
      now = NOW - MAX_TOKEN_AGE_MS + 60_000;
      expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
    });
  });

  it('the same delivery again (Tiledesk retry or replay) → 200, processed once', async () => {
    for (let i = 0; i < 3; i++) expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
    expect(notify.callCount).to.equal(1);
    expect(receiver.snapshot()).to.deep.include({ accepted: 1, ignored: { replay: 2 } });
  });

  it('the same message with another timestamp is another delivery (Delivery dedupes by id)', async () => {
    await deliver(fixtureText(F.agent));
    await deliver(bodyWith(F.agent, (_p, b) => (b['timestamp'] = (b['timestamp'] as number) + 1)));
    expect(notify.callCount).to.equal(2);
  });

  it('an unknown event → 200 and ignored', async () => {
    const hook: KnownHook = {
      id: '65b0c1d2e3f4a5b6c7d8e9f2',
      event: 'request.update',
      secret: SECRET,
    };
    known.resolves([MESSAGE_HOOK, CLOSE_HOOK, hook]);
    expect(await deliver(fixtureText(F.requestUpdate))).to.deep.equal(OK);
    expectNothingHappened();
  });

  it('an agent message → Delivery.notify(conversation, generation 0, message)', async () => {
    expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
    expect(notified()).to.deep.equal([[CONV, 0, AGENT_MESSAGE_ID]]);
    expect(notify.firstCall.args[2]?.text).to.equal(
      "Hi John, I'm Anna. Let me check order A-1042 for you.",
    );
  });

  it('a later request of the conversation → its generation', async () => {
    const body = bodyWith(
      F.agent,
      (p) => (p['recipient'] = requestIdFor(SCENARIO.projectId, CONV, 3)),
    );
    expect(await deliver(body)).to.deep.equal(OK);
    expect(notified()).to.deep.equal([[CONV, 3, AGENT_MESSAGE_ID]]);
  });

  it('CHAT_CLOSED and MEMBER_JOINED_GROUP are handed on', async () => {
    await deliver(fixtureText(F.closed));
    await deliver(fixtureText(F.joined));
    expect(notified().map(([c, g]) => [c, g])).to.deep.equal([
      [CONV, 0],
      [CONV, 0],
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
    });
  }

  it('request.close → Delivery.notify(conversation, generation, no message)', async () => {
    expect(await deliver(fixtureText(F.requestClose))).to.deep.equal(OK);
    expect(notified()).to.deep.equal([[CONV, 0, undefined]]);
  });

  const foreign: { name: string; requestId: string }[] = [
    { name: 'another project', requestId: `support-group-65a1b2c3d4e5f6a7b8c9d0ff-${CONV}` },
    {
      name: 'not ours (uuid with dashes)',
      requestId: `support-group-${SCENARIO.projectId}-4f9c2a7e-1b3d`,
    },
    {
      name: 'a connector id',
      requestId: `support-group-${SCENARIO.projectId}-${CONV.slice(0, 8)}-wab-1-2`,
    },
    { name: 'generation with a leading zero', requestId: `${SCENARIO.requestId}-01` },
  ];
  for (const c of foreign) {
    it(`a request id of ${c.name} → 200, ignored as unknown_request, nothing delivered`, async () => {
      const body = bodyWith(F.agent, (p) => (p['recipient'] = c.requestId));
      expect(await deliver(body)).to.deep.equal(OK);
      expectNothingHappened();
      expect(receiver.snapshot().ignored).to.deep.equal({ unknown_request: 1 });
    });
  }

  it('never logs the secret or a token', async () => {
    await deliver('{}', { 'x-hook-secret': 'wrong' });
    await deliver(
      bodyWith(F.agent, (_p, b) => (b['token'] = sign(b['hook'] as Record<string, unknown>, 'x'))),
    );
    await deliver(fixtureText(F.agent));
    const logged = JSON.stringify(Object.values(logger).flatMap((spy) => spy.args));
    expect(logged).not.to.include(SECRET);
    expect(logged).not.to.match(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
