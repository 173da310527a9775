import { expect } from 'chai';
import sinon from 'sinon';
import type { Delivery } from '../../lib/core/delivery';
import { requestIdFor } from '../../lib/core/ids';
import { WebhookReceiver, type WebhookRequest, type WebhookResponse } from '../../lib/core/webhook';
import type { Logger } from '../../lib/logger';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';
import { envelope, F, fixtureText, SCENARIO, type FixtureName } from '../support/tiledesk-fixtures';

/**
 * The receiver checks a delivery and hands what matters to `Delivery.notify` (conversation and
 * generation parsed from the request id). What `Delivery` then does is tested with the engine
 * (integration) and by the simulation.
 */

const SECRET = 's3cret';
/** The fixtures' request id is Tiledesk's convention, which is ours for a first request. */
const CONV = SCENARIO.requestId.slice(-32);
const AGENT_MESSAGE_ID = envelope(F.agent).payload['_id'] as string;
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
  let notify: sinon.SinonSpy<[string, number, TiledeskMessage | undefined], void>;
  let knownSecrets: sinon.SinonStub<[boolean], Promise<readonly string[]>>;
  let logger: { [K in keyof Logger]: sinon.SinonSpy<Parameters<Logger[K]>, void> };
  let receiver: WebhookReceiver;

  function makeReceiver(options: { maxBodyBytes?: number } = {}): WebhookReceiver {
    const delivery = { notify } as unknown as Delivery;
    return new WebhookReceiver({
      delivery,
      projectId: SCENARIO.projectId,
      logger,
      knownSecrets,
      ownSenders: new Set([SCENARIO.botSender]),
      ...options,
    });
  }

  async function deliver(body: unknown): Promise<WebhookResponse> {
    return receiver.handle({ headers: headers(), body });
  }

  /** What was handed to Delivery: [conversation, generation, message id or undefined]. */
  function notified(): [string, number, string | undefined][] {
    return notify.args.map(([c, g, m]) => [c, g, m?._id]);
  }

  beforeEach(() => {
    notify = sinon.spy<(c: string, g: number, m: TiledeskMessage | undefined) => void>(
      () => undefined,
    );
    knownSecrets = sinon.stub<[boolean], Promise<readonly string[]>>().resolves([SECRET]);
    const logSpy = () =>
      sinon.spy<(message: string, context?: Record<string, unknown>) => void>(() => undefined);
    logger = { debug: logSpy(), info: logSpy(), warn: logSpy(), error: logSpy() };
    receiver = makeReceiver();
  });

  function expectNothingHappened(): void {
    expect(notify.callCount, 'Delivery.notify').to.equal(0);
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
        expect(notified()).to.deep.equal([[CONV, 0, AGENT_MESSAGE_ID]]);
      });
    }

    it('accepts a secret that only a reload knows (subscription recreated elsewhere)', async () => {
      knownSecrets.withArgs(false).resolves(['old-secret']);
      knownSecrets.withArgs(true).resolves(['old-secret', SECRET]);
      expect(await deliver(fixtureText(F.agent))).to.deep.equal(OK);
      expect(knownSecrets.args).to.deep.equal([[false], [true]]);
      expect(notified()).to.have.length(1);
    });
  });

  it('an unknown event → 200 and ignored', async () => {
    expect(
      await receiver.handle({ headers: headers(), body: fixtureText(F.requestUpdate) }),
    ).to.deep.equal(OK);
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
    const body = bodyWith(F.agent, (p) => {
      p['recipient'] = requestIdFor(SCENARIO.projectId, CONV, 3);
    });
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
    it(`a request id of ${c.name} → 200 and nothing (no storage read either)`, async () => {
      const body = bodyWith(F.agent, (p) => {
        p['recipient'] = c.requestId;
      });
      expect(await deliver(body)).to.deep.equal(OK);
      expectNothingHappened();
    });
  }

  it('never logs the secret', async () => {
    await receiver.handle({ headers: headers({ 'x-hook-secret': 'wrong' }), body: '{}' });
    await deliver(fixtureText(F.agent));
    const logged = JSON.stringify(Object.values(logger).flatMap((spy) => spy.args));
    expect(logged).not.to.include(SECRET);
  });
});
