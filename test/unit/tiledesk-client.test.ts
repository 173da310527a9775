import axios, {
  AxiosError,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
  type RawAxiosResponseHeaders,
} from 'axios';
import { expect } from 'chai';
import sinon from 'sinon';
import { TiledeskApiError } from '../../lib/errors';
import { parseRetryAfter, TiledeskClient } from '../../lib/tiledesk/client';

const API = 'https://tiledesk.test/v3';
const PROJECT = '65a1b2c3d4e5f6a7b8c9d0e1';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.SIG-9f8e7d6c5b4a';
const REQ = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-4f9c2a7e1b3d4c5e8f6a0b1c2d3e4f5a';

const MESSAGE = { _id: 'm1', sender: 'u1', recipient: REQ, text: 'hi' };
const REQUEST = { request_id: REQ, status: 200, participants: ['a1'] };
const SUBSCRIPTION = {
  _id: 's1',
  event: 'message.create',
  target: 'https://bot.example/hook',
  secret: 'x',
};

/** What the fake adapter saw for one call. */
interface Seen {
  method: string | undefined;
  url: string;
  authorization: unknown;
  body: unknown;
  timeout: number | undefined;
}

type Reply =
  | { status: number; data?: unknown; headers?: RawAxiosResponseHeaders }
  | { error: (config: InternalAxiosRequestConfig) => Error };

function harness(reply: Reply | ((config: InternalAxiosRequestConfig) => Reply)) {
  const seen: Seen[] = [];
  const adapter = sinon.fake(async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    seen.push({
      method: config.method,
      url: axios.getUri(config),
      authorization: config.headers.get('Authorization'),
      body: typeof config.data === 'string' ? (JSON.parse(config.data) as unknown) : config.data,
      timeout: config.timeout,
    });
    const r = typeof reply === 'function' ? reply(config) : reply;
    if ('error' in r) throw r.error(config);
    return { status: r.status, statusText: '', headers: r.headers ?? {}, config, data: r.data };
  });
  const client = new TiledeskClient({
    apiUrl: API,
    projectId: PROJECT,
    timeoutMs: 4321,
    http: axios.create({ adapter }),
  });
  return { client, seen, adapter };
}

/** Runs `call` and returns the TiledeskApiError it must reject with. */
async function apiError(call: Promise<unknown>): Promise<TiledeskApiError> {
  try {
    await call;
  } catch (err) {
    expect(err).to.be.instanceOf(TiledeskApiError);
    return err as TiledeskApiError;
  }
  throw new Error('the call did not fail');
}

function expectNoToken(error: Error, token: string): void {
  expect(error.message).not.to.include(token);
  expect(JSON.stringify(error)).not.to.include(token);
  expect(String(error.stack)).not.to.include(token);
  // Nor any recognisable part of it.
  for (const part of token.split('.')) {
    expect(JSON.stringify(error)).not.to.include(part);
    expect(String(error.stack)).not.to.include(part);
  }
}

describe('TiledeskClient', () => {
  describe('requests: URL, method, body and Authorization', () => {
    const P = `${API}/${PROJECT}`;
    const R = `${P}/requests/${REQ}`;
    const cases: {
      name: string;
      call: (c: TiledeskClient) => Promise<unknown>;
      data: unknown;
      method: string;
      url: string;
      body: unknown;
      authorization: string | undefined;
      result: unknown;
    }[] = [
      {
        name: 'signIn (no Authorization; "JWT " stripped from the token)',
        call: (c) => c.signIn('bot-admin@acme.example', 'pw'),
        data: {
          success: true,
          token: `JWT ${TOKEN}`,
          user: { _id: 'admin1', email: 'bot-admin@acme.example' },
        },
        method: 'post',
        url: `${API}/auth/signin`,
        body: { email: 'bot-admin@acme.example', password: 'pw' },
        authorization: undefined,
        result: { token: TOKEN, userId: 'admin1' },
      },
      {
        name: 'signIn strips a lower-case "jwt " too and reads user.id',
        call: (c) => c.signIn('a@acme.example', 'pw'),
        data: { token: `jwt   ${TOKEN}`, user: { id: 'admin2' } },
        method: 'post',
        url: `${API}/auth/signin`,
        body: { email: 'a@acme.example', password: 'pw' },
        authorization: undefined,
        result: { token: TOKEN, userId: 'admin2' },
      },
      {
        name: 'signInWithCustomToken (the custom JWT as Authorization, empty body)',
        call: (c) => c.signInWithCustomToken('custom.jwt.value'),
        data: { success: true, token: 'JWT custom.jwt.value', user: { _id: 'u1' } },
        method: 'post',
        url: `${API}/auth/signinWithCustomToken`,
        body: {},
        authorization: 'JWT custom.jwt.value',
        result: undefined,
      },
      {
        name: 'signInAnonymously (id_project + profile)',
        call: (c) => c.signInAnonymously({ firstname: 'John', email: 'john@example.com' }),
        data: { success: true, token: `JWT ${TOKEN}`, user: { _id: 'anon1', firstname: 'John' } },
        method: 'post',
        url: `${API}/auth/signinAnonymously`,
        body: { id_project: PROJECT, firstname: 'John', email: 'john@example.com' },
        authorization: undefined,
        result: { token: TOKEN, userId: 'anon1' },
      },
      {
        name: 'sendMessage',
        call: (c) =>
          c.sendMessage(TOKEN, REQ, {
            text: 'hello',
            channel: { name: 'botframework' },
            request_status: 50,
          }),
        data: MESSAGE,
        method: 'post',
        url: `${R}/messages`,
        body: { text: 'hello', channel: { name: 'botframework' }, request_status: 50 },
        authorization: `JWT ${TOKEN}`,
        result: { _id: MESSAGE._id }, // only the id is read: the rest is a large request doc
      },
      {
        name: 'sendMessage with a token that already has the scheme (not doubled)',
        call: (c) => c.sendMessage(`JWT ${TOKEN}`, REQ, { text: 'x' }),
        data: MESSAGE,
        method: 'post',
        url: `${R}/messages`,
        body: { text: 'x' },
        authorization: `JWT ${TOKEN}`,
        result: { _id: MESSAGE._id }, // only the id is read: the rest is a large request doc
      },
      {
        name: 'getMessages',
        call: (c) => c.getMessages(TOKEN, REQ),
        data: [MESSAGE, { ...MESSAGE, _id: 'm2' }],
        method: 'get',
        url: `${R}/messages`,
        body: undefined,
        authorization: `JWT ${TOKEN}`,
        result: [MESSAGE, { ...MESSAGE, _id: 'm2' }],
      },
      {
        name: 'routeToAgent (PUT …/agent)',
        call: (c) => c.routeToAgent(TOKEN, REQ),
        data: REQUEST,
        method: 'put',
        url: `${R}/agent`,
        body: {},
        authorization: `JWT ${TOKEN}`,
        result: REQUEST,
      },
      {
        name: 'closeRequest (PUT …/close)',
        call: (c) => c.closeRequest(TOKEN, REQ),
        data: { whatever: true },
        method: 'put',
        url: `${R}/close`,
        body: {},
        authorization: `JWT ${TOKEN}`,
        result: undefined,
      },
      {
        name: 'updateAttributes (PATCH …/attributes)',
        call: (c) => c.updateAttributes(TOKEN, REQ, { bf_handoff: { trigger: 'keyword' } }),
        data: REQUEST,
        method: 'patch',
        url: `${R}/attributes`,
        body: { bf_handoff: { trigger: 'keyword' } },
        authorization: `JWT ${TOKEN}`,
        result: undefined,
      },
      {
        name: 'createSubscription',
        call: (c) =>
          c.createSubscription(
            TOKEN,
            'message.create.request.channel.botframework',
            'https://bot.example/hook',
          ),
        data: SUBSCRIPTION,
        method: 'post',
        url: `${P}/subscriptions`,
        body: {
          event: 'message.create.request.channel.botframework',
          target: 'https://bot.example/hook',
        },
        authorization: `JWT ${TOKEN}`,
        result: SUBSCRIPTION,
      },
      {
        name: 'listSubscriptions',
        call: (c) => c.listSubscriptions(TOKEN),
        data: [SUBSCRIPTION],
        method: 'get',
        url: `${P}/subscriptions`,
        body: undefined,
        authorization: `JWT ${TOKEN}`,
        result: [SUBSCRIPTION],
      },
      {
        name: 'deleteSubscription (id URL-encoded)',
        call: (c) => c.deleteSubscription(TOKEN, 's1/../x'),
        data: '',
        method: 'delete',
        url: `${P}/subscriptions/s1%2F..%2Fx`,
        body: undefined,
        authorization: `JWT ${TOKEN}`,
        result: undefined,
      },
      {
        name: 'request ids are URL-encoded',
        call: (c) => c.routeToAgent(TOKEN, 'support-group-a/b?c'),
        data: REQUEST,
        method: 'put',
        url: `${P}/requests/support-group-a%2Fb%3Fc/agent`,
        body: {},
        authorization: `JWT ${TOKEN}`,
        result: REQUEST,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const { client, seen } = harness({ status: 200, data: c.data });
        const result = await c.call(client);
        expect(seen).to.deep.equal([
          {
            method: c.method,
            url: c.url,
            authorization: c.authorization,
            body: c.body,
            timeout: 4321,
          },
        ]);
        expect(result).to.deep.equal(c.result);
      });
    }

    it('keeps only what it reads of a message (the embedded request doc is not copied)', async () => {
      const { client } = harness({
        status: 200,
        data: [
          { ...MESSAGE, channel_type: 'group', request: { status: 50, participants: ['a1'] } },
        ],
      });
      const [message] = await client.getMessages(TOKEN, REQ);
      expect(message).to.not.have.property('channel_type');
      expect(message?.request).to.deep.equal({ participants: ['a1'] });
    });
  });

  describe('failures', () => {
    const SEND_PATH = `/${PROJECT}/requests/${REQ}/messages`;
    const send = (c: TiledeskClient) => c.sendMessage(TOKEN, REQ, { text: 'hello' });

    const cases: {
      name: string;
      reply: Reply;
      code: string;
      status: number | undefined;
      retryable: boolean;
      retryAfterMs?: number;
      message: string;
    }[] = [
      {
        name: '401 → TILEDESK_UNAUTHORIZED, not retryable',
        reply: {
          status: 401,
          data: 'Unauthorized',
          headers: { 'www-authenticate': 'Basic realm="Users"' },
        },
        code: 'TILEDESK_UNAUTHORIZED',
        status: 401,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (401): Unauthorized`,
      },
      {
        name: '403 → TILEDESK_HTTP with the msg',
        reply: { status: 403, data: { success: false, msg: 'you dont belong to the project.' } },
        code: 'TILEDESK_HTTP',
        status: 403,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (403): "you dont belong to the project."`,
      },
      {
        name: '422 → TILEDESK_HTTP with the errors',
        reply: { status: 422, data: { errors: ['text field is required'] } },
        code: 'TILEDESK_HTTP',
        status: 422,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (422): ["text field is required"]`,
      },
      {
        name: '503 → retryable',
        reply: { status: 503, data: '' },
        code: 'TILEDESK_HTTP',
        status: 503,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (503)`,
      },
      {
        name: '500 → retryable',
        reply: { status: 500, data: { success: false, msg: 'Error creating message', err: {} } },
        code: 'TILEDESK_HTTP',
        status: 500,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (500): "Error creating message"`,
      },
      {
        name: '429 with Retry-After: 3 → retryable, retryAfterMs 3000',
        reply: { status: 429, data: 'Too Many Requests', headers: { 'retry-after': '3' } },
        code: 'TILEDESK_HTTP',
        status: 429,
        retryable: true,
        retryAfterMs: 3000,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (429): Too Many Requests`,
      },
      {
        name: '302 (redirects are not followed) → not retryable',
        reply: { status: 302, data: '', headers: { location: 'https://elsewhere.example/' } },
        code: 'TILEDESK_HTTP',
        status: 302,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (302)`,
      },
      {
        name: 'network error (ECONNRESET) → TILEDESK_NETWORK, retryable',
        reply: { error: (config) => new AxiosError('socket hang up', 'ECONNRESET', config) },
        code: 'TILEDESK_NETWORK',
        status: undefined,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: ECONNRESET`,
      },
      {
        name: 'timeout (ECONNABORTED) → TILEDESK_TIMEOUT, retryable',
        reply: {
          error: (config) => new AxiosError('timeout of 4321ms exceeded', 'ECONNABORTED', config),
        },
        code: 'TILEDESK_TIMEOUT',
        status: undefined,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: timed out`,
      },
      {
        name: 'timeout (ETIMEDOUT) → TILEDESK_TIMEOUT',
        reply: { error: (config) => new AxiosError('connect ETIMEDOUT', 'ETIMEDOUT', config) },
        code: 'TILEDESK_TIMEOUT',
        status: undefined,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: timed out`,
      },
      {
        name: 'a non-axios error → TILEDESK_NETWORK "network error"',
        reply: { error: () => new TypeError(`adapter exploded with JWT ${TOKEN}`) },
        code: 'TILEDESK_NETWORK',
        status: undefined,
        retryable: true,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: network error`,
      },
      {
        name: 'bad response shape → TILEDESK_BAD_RESPONSE, not retryable',
        reply: { status: 200, data: { ok: true } },
        code: 'TILEDESK_BAD_RESPONSE',
        status: undefined,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: Invalid input: expected string, received undefined`,
      },
      {
        name: 'HTML instead of JSON → TILEDESK_BAD_RESPONSE',
        reply: { status: 200, data: '<html>proxy login</html>' },
        code: 'TILEDESK_BAD_RESPONSE',
        status: undefined,
        retryable: false,
        message: `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed: Invalid input: expected object, received string`,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const { client } = harness(c.reply);
        const error = await apiError(send(client));
        expect({
          code: error.code,
          status: error.status,
          retryable: error.retryable,
          retryAfterMs: error.retryAfterMs,
          method: error.method,
          path: error.path,
          message: error.message,
        }).to.deep.equal({
          code: c.code,
          status: c.status,
          retryable: c.retryable,
          retryAfterMs: c.retryAfterMs,
          method: 'POST',
          path: SEND_PATH,
          message: c.message,
        });
        expectNoToken(error, TOKEN);
      });
    }

    it('never copies the token, even when the AxiosError carries it in config and response', async () => {
      const { client } = harness({
        error: (config) => {
          const error = new AxiosError(
            `failed with Authorization: JWT ${TOKEN}`,
            'ECONNRESET',
            config,
          );
          error.response = { status: 0, statusText: '', headers: {}, config, data: TOKEN };
          return error;
        },
      });
      const error = await apiError(send(client));
      expect(error.code).to.equal('TILEDESK_NETWORK');
      expect(error).not.to.have.property('cause');
      expectNoToken(error, TOKEN);
    });

    it('signIn: a token-less response is TILEDESK_BAD_RESPONSE; the password is not in the error', async () => {
      const { client } = harness({ status: 200, data: { success: true, token: '' } });
      const error = await apiError(client.signIn('a@acme.example', 'Pw-d0-not-leak'));
      expect(error.code).to.equal('TILEDESK_BAD_RESPONSE');
      expect(error.path).to.equal('/auth/signin');
      expect(JSON.stringify(error) + String(error.stack)).not.to.include('Pw-d0-not-leak');
    });

    it('signIn: a 401 with the wrong-password message; the password is not in the error', async () => {
      const { client } = harness({
        status: 401,
        data: { success: false, msg: 'Authentication failed. Wrong password.' },
      });
      const error = await apiError(client.signIn('a@acme.example', 'Pw-d0-not-leak'));
      expect(error.message).to.equal(
        '[botbuilder-tiledesk] Tiledesk POST /auth/signin failed (401): "Authentication failed. Wrong password."',
      );
      expect(JSON.stringify(error) + String(error.stack)).not.to.include('Pw-d0-not-leak');
    });

    it('signInAnonymously without a user id → TILEDESK_BAD_RESPONSE "no user id"', async () => {
      const { client } = harness({ status: 200, data: { success: true, token: `JWT ${TOKEN}` } });
      const error = await apiError(client.signInAnonymously({}));
      expect(error.message).to.equal(
        '[botbuilder-tiledesk] Tiledesk POST /auth/signinAnonymously failed: no user id',
      );
      expectNoToken(error, TOKEN);
    });

    it('truncates long error bodies to 200 characters', async () => {
      const { client } = harness({ status: 400, data: 'x'.repeat(500) });
      const error = await apiError(send(client));
      expect(error.message).to.equal(
        `[botbuilder-tiledesk] Tiledesk POST ${SEND_PATH} failed (400): ${'x'.repeat(200)}`,
      );
    });

    it('asRetryable() keeps everything but marks it retryable', async () => {
      const { client } = harness({ status: 401, data: 'Unauthorized' });
      const error = await apiError(send(client));
      const again = error.asRetryable();
      expect([again.code, again.status, again.retryable, again.message]).to.deep.equal([
        'TILEDESK_UNAUTHORIZED',
        401,
        true,
        error.message,
      ]);
    });

    // Regression: `response.headers['retry-after']` is a
    // case-sensitive lookup, but AxiosHeaders keeps the case it was given; an injected adapter
    // (proxy, fetch wrapper, test double) that reports "Retry-After" loses the delay. Use
    // `AxiosHeaders.from(response.headers).get('retry-after')`.
    it('reads Retry-After whatever the case of the header name', async () => {
      const { client } = harness({ status: 429, data: '', headers: { 'Retry-After': '3' } });
      const error = await apiError(send(client));
      expect(error.retryAfterMs).to.equal(3000);
    });
  });

  describe('userPhotoUrl: the public URL that serves the photo (/files, then /images)', () => {
    const USER = '6b0beb078ab5914d39f5faf1';
    const FILE = encodeURIComponent(`uploads/users/${USER}/images/thumbnails_200_200-photo.jpg`);
    const image = {
      status: 200,
      data: Buffer.from('png'),
      headers: { 'content-type': 'image/png' },
    };
    const missing = { status: 404, data: { success: false, msg: 'Image not found.' } };

    it('a photo uploaded on 2.19.16 (files bucket): found at /files, which /images never serves', async () => {
      const { client, seen } = harness((c) =>
        axios.getUri(c).includes('/files?') ? image : missing,
      );
      expect(await client.userPhotoUrl(USER)).to.equal(`${API}/files?path=${FILE}`);
      expect(seen.map((s) => [s.method, s.url, s.authorization])).to.deep.equal([
        ['get', `${API}/files?path=${FILE}`, undefined],
      ]);
    });

    it('an older server or photo (images bucket only): found at /images after /files said 404', async () => {
      const { client, seen } = harness((c) =>
        axios.getUri(c).includes('/images?') ? image : missing,
      );
      expect(await client.userPhotoUrl(USER)).to.equal(`${API}/images?path=${FILE}`);
      expect(seen.map((s) => s.url)).to.deep.equal([
        `${API}/files?path=${FILE}`,
        `${API}/images?path=${FILE}`,
      ]);
    });

    it('no photo: undefined after both; a 200 that is no image counts as none; a 500 is an error', async () => {
      expect(await harness(missing).client.userPhotoUrl(USER)).to.equal(undefined);
      const page = { status: 200, data: '<html>', headers: { 'content-type': 'text/html' } };
      expect(await harness(page).client.userPhotoUrl(USER)).to.equal(undefined);
      const err = await harness({ status: 500, data: {} })
        .client.userPhotoUrl(USER)
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(TiledeskApiError).and.include({ status: 500, path: '/files' });
    });
  });

  describe('parseRetryAfter', () => {
    const now = Date.parse('2026-11-26T14:00:00.000Z');
    const cases: { value: unknown; expected: number | undefined }[] = [
      { value: '3', expected: 3000 },
      { value: '0', expected: 0 },
      { value: '1.5', expected: 1500 },
      { value: '-5', expected: 0 },
      { value: 'Thu, 26 Nov 2026 14:00:10 GMT', expected: 10_000 },
      { value: 'Thu, 26 Nov 2026 13:59:00 GMT', expected: 0 },
      { value: 'soon', expected: undefined },
      { value: '', expected: undefined },
      { value: undefined, expected: undefined },
      { value: 3, expected: undefined },
    ];
    for (const c of cases) {
      it(`${JSON.stringify(c.value)} → ${String(c.expected)}`, () => {
        expect(parseRetryAfter(c.value, now)).to.equal(c.expected);
      });
    }
  });
});
