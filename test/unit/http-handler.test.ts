import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  WebhookReadError,
  type WebhookRequest,
  type WebhookResponse,
} from '../../lib/core/webhook';
import { createNodeWebhookHandler, type NodeLikeRequest } from '../../lib/http-handler';

/**
 * The Node shim: reads a body only when the core asks, within the core's limits (fake timers),
 * and closes the connection whenever a body was not read to its end.
 */

class FakeRequest extends EventEmitter implements NodeLikeRequest {
  headers = { 'content-type': 'application/json' };
  body?: unknown;
  readableEnded = false;
  paused = false;
  socket = {
    remoteAddress: '10.1.2.3',
    destroyed: false,
    destroy: sinon.spy(function (this: { destroyed: boolean }) {
      this.destroyed = true;
    }),
  };
  pause(): this {
    this.paused = true;
    return this;
  }
}

class FakeResponse extends EventEmitter {
  statusCode = 0;
  headers: Record<string, string> = {};
  sent: string | undefined;
  setHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  end(body?: string): void {
    this.sent = body;
    this.emit('finish');
  }
}

/** A core that reads the body with these limits and maps read failures to statuses. */
function readingCore(limits = { maxBytes: 10, timeoutMs: 1000 }) {
  const seen: WebhookRequest[] = [];
  const handle = async (request: WebhookRequest): Promise<WebhookResponse> => {
    seen.push(request);
    if (!request.readBody) return { status: 200, body: { ok: true } };
    try {
      const body = await request.readBody(limits);
      return { status: 200, body: { error: body.toString() } };
    } catch (err) {
      const reason = (err as WebhookReadError).reason;
      return {
        status: reason === 'timeout' ? 408 : reason === 'too_large' ? 413 : 400,
        body: { error: reason },
      };
    }
  };
  return { handle, seen };
}

describe('createNodeWebhookHandler', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('reads the body when asked and answers on a kept-alive connection', async () => {
    const core = readingCore();
    const req = new FakeRequest();
    const res = new FakeResponse();
    const done = createNodeWebhookHandler(core.handle)(req, res);
    req.emit('data', Buffer.from('{"a":'));
    req.emit('data', Buffer.from('1}'));
    req.emit('end');
    await done;
    expect(res.statusCode).to.equal(200);
    expect(res.sent).to.equal('{"error":"{\\"a\\":1}"}');
    expect(res.headers['connection']).to.equal(undefined);
    expect(core.seen[0]!.remoteAddress).to.equal('10.1.2.3');
    expect(req.listenerCount('data')).to.equal(0);
  });

  it('a body that does not arrive in time → 408, connection closed, socket destroyed', async () => {
    const req = new FakeRequest();
    const res = new FakeResponse();
    const done = createNodeWebhookHandler(readingCore().handle, { closeGraceMs: 500 })(req, res);
    req.emit('data', Buffer.from('{'));
    await clock.tickAsync(999);
    expect(res.statusCode, 'not yet').to.equal(0);
    await clock.tickAsync(1);
    await done;
    expect(res.statusCode).to.equal(408);
    expect(res.headers['connection']).to.equal('close');
    expect(req.paused).to.equal(true);
    expect(req.socket.destroy.callCount).to.equal(0);
    await clock.tickAsync(500);
    expect(req.socket.destroy.callCount).to.equal(1);
  });

  it('a body above the cap → 413 as soon as it passes the cap, socket destroyed', async () => {
    const req = new FakeRequest();
    const res = new FakeResponse();
    const done = createNodeWebhookHandler(readingCore().handle)(req, res);
    req.emit('data', Buffer.from('0123456789'));
    req.emit('data', Buffer.from('x'));
    await done;
    expect(res.statusCode).to.equal(413);
    expect(res.headers['connection']).to.equal('close');
    await clock.tickAsync(1000);
    expect(req.socket.destroy.callCount).to.equal(1);
  });

  it('a client that goes away mid-body settles the read (no timer left)', async () => {
    const req = new FakeRequest();
    const res = new FakeResponse();
    const done = createNodeWebhookHandler(readingCore().handle)(req, res);
    req.emit('close');
    await done;
    expect(res.statusCode).to.equal(400);
    expect(clock.countTimers()).to.equal(1); // only the close grace
  });

  it('a refusal without reading → connection closed; a socket Node left open is destroyed', async () => {
    const refuse = async (): Promise<WebhookResponse> => ({
      status: 401,
      body: { error: 'Missing or wrong x-hook-secret' },
    });
    const req = new FakeRequest();
    const res = new FakeResponse();
    await createNodeWebhookHandler(refuse)(req, res);
    expect(res.statusCode).to.equal(401);
    expect(res.headers['connection']).to.equal('close');
    expect(req.listenerCount('data'), 'never read').to.equal(0);
    await clock.tickAsync(1000);
    expect(req.socket.destroy.callCount).to.equal(1);
  });

  it('a body read by a body parser is handed over as is; the connection stays open', async () => {
    const core = readingCore();
    const req = new FakeRequest();
    req.body = { hook: {} };
    req.readableEnded = true;
    const res = new FakeResponse();
    await createNodeWebhookHandler(core.handle)(req, res);
    expect(core.seen[0]!.body).to.deep.equal({ hook: {} });
    expect(core.seen[0]!.readBody).to.equal(undefined);
    expect(res.headers['connection']).to.equal(undefined);
  });

  it('response headers from the core are set (Retry-After)', async () => {
    const busy = async (): Promise<WebhookResponse> => ({
      status: 429,
      body: { error: 'Too many bodies at once' },
      headers: { 'retry-after': '5' },
    });
    const res = new FakeResponse();
    await createNodeWebhookHandler(busy)(new FakeRequest(), res);
    expect(res.headers).to.include({ 'retry-after': '5', connection: 'close' });
  });

  it('a core that throws → 500 without details', async () => {
    const res = new FakeResponse();
    await createNodeWebhookHandler(() => Promise.reject(new Error('secret detail')))(
      new FakeRequest(),
      res,
    );
    expect(res.statusCode).to.equal(500);
    expect(res.sent).to.equal('{"error":"Internal error"}');
  });
});
