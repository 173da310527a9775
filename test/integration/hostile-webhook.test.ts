import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import axios from 'axios';
import { startHarness, type Harness } from '../support/harness';
import { signedDelivery } from '../support/signed-delivery';
import type { StandInSubscription } from '../support/tiledesk-standin';

/**
 * Hostile input at the bot's webhook endpoint: restify with its body parser, our handler mounted
 * before it (`server.pre`, as the README advises), the real Tiledesk stand-in subscribed. Each
 * row asserts the status AND that nothing reached the user (the fake channel got nothing).
 */

const OTHER_PROJECT = '65a1b2c3d4e5f6a7b8c9d0ff';
const READ_TIMEOUT_MS = 300;
const MESSAGE_EVENT = 'message.create.request.channel.botframework';

/** A GC to call, so heap figures mean live memory (mocha runs without --expose-gc). */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface RawResult {
  /** The status line's code, or undefined when the server answered nothing. */
  status: number | undefined;
  /** The server closed the connection (FIN or reset) while the client kept it open. */
  closedByServer: boolean;
  ms: number;
}

/**
 * A raw HTTP client that sends the headers and `bodyStart`, then never finishes the body (a
 * slowloris), and reports how the server answered and whether it closed the connection.
 */
function stalledPost(
  url: string,
  headers: Record<string, string>,
  bodyStart: string,
  declaredLength: number,
  waitMs: number,
): Promise<RawResult> {
  const { hostname, port, pathname } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let data = '';
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve({
        status: match ? Number(match[1]) : undefined,
        closedByServer,
        ms: Date.now() - started,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => {
      const lines = Object.entries({ ...headers, 'content-length': String(declaredLength) })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}\r\n${lines}\r\n\r\n${bodyStart}`,
      );
    });
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

describe('webhook hardening: hostile input', function () {
  this.timeout(60_000);
  let h: Harness;
  const logged: string[] = [];
  afterEach(async () => h?.stop());

  async function setUp(): Promise<{ requestId: string; sub: StandInSubscription; url: string }> {
    const capture = (level: string) => (message: string, context?: Record<string, unknown>) =>
      logged.push(`${level} ${message} ${JSON.stringify(context ?? {})}`);
    h = await startHarness({
      // Agent texts compared as written (no name prefix).
      settings: { TiledeskWebhookReadTimeoutMs: String(READ_TIMEOUT_MS), TiledeskAgentPrefix: '' },
      tiledesk: {
        logger: {
          debug: capture('debug'),
          info: capture('info'),
          warn: capture('warn'),
          error: capture('error'),
        },
      },
    });
    await h.user('conv-hostile').sayAndWait('human');
    const requestId = [...h.standin.requests.keys()][0]!;
    const sub = h.standin.subscriptions().find((s) => s.event === MESSAGE_EVENT)!;
    return { requestId, sub, url: `${h.bot.url}/api/tiledesk` };
  }

  it('answers each hostile request with its status and delivers nothing to the user', async () => {
    const { requestId, sub, url } = await setUp();
    const project = h.standin.projectId;
    const message = (id: string, text: string, extra: Record<string, unknown> = {}) => ({
      _id: id,
      sender: '65a1b2c3d4e5f6a7b8c9d0aa',
      senderFullname: 'Anna Rossi',
      recipient: requestId,
      id_project: project,
      type: 'text',
      text,
      status: 200,
      ...extra,
    });
    const json = { 'content-type': 'application/json' };
    const secret = { ...json, 'x-hook-secret': sub.secret };
    const post = async (body: unknown, headers: Record<string, string>) =>
      (
        await axios.post(url, typeof body === 'string' ? body : JSON.stringify(body), {
          headers,
          validateStatus: () => true,
          transformRequest: [(d: unknown) => d],
          maxBodyLength: Infinity,
        })
      ).status;
    let n = 0;
    const stamp = () => Date.now() + ++n;

    // A legitimate delivery (what the stand-in sent for the agent's reply), kept for the replay.
    h.standin.agentReply(requestId, 'the real agent message');
    await h.settle();
    const legit = h.standin.deliveries.find(
      (d) =>
        d.status === 200 &&
        (d.body as { payload: { text?: string } }).payload.text === 'the real agent message',
    )!;
    expect(legit, 'the stand-in delivered the agent message').to.not.equal(undefined);

    type Row = [name: string, send: () => Promise<number | undefined>, status: number];
    const rows: Row[] = [
      ['missing secret', () => post(signedDelivery(sub, message('r1', 'forged 1')), json), 401],
      [
        'wrong secret',
        () =>
          post(signedDelivery(sub, message('r2', 'forged 2')), {
            ...secret,
            'x-hook-secret': 'guess',
          }),
        401,
      ],
      [
        'wrong content type',
        () =>
          post('text=forged 3', { ...secret, 'content-type': 'application/x-www-form-urlencoded' }),
        415,
      ],
      [
        'oversize (declared)',
        () =>
          post(
            { ...signedDelivery(sub, message('r4', 'forged 4')), pad: 'x'.repeat(2 << 20) },
            secret,
          ),
        413,
      ],
      ['malformed JSON', () => post('{"payload": {"text": "forged 5"', secret), 400],
      ['not an envelope', () => post({ payload: 'forged 6', hook: 1 }, secret), 400],
      [
        // The issue's attack: another project's subscription (same server, same secret).
        'another project and another hook',
        () =>
          post(
            signedDelivery(
              { ...sub, _id: '65b0c1d2e3f4a5b6c7d8ffff', id_project: OTHER_PROJECT },
              message('r7', 'forged 7', { id_project: OTHER_PROJECT }),
            ),
            secret,
          ),
        403,
      ],
      [
        'wrong project in the payload only',
        () =>
          post(
            signedDelivery(sub, message('r8', 'forged 8', { id_project: OTHER_PROJECT })),
            secret,
          ),
        403,
      ],
      [
        'wrong hook (another subscription of our project, properly signed)',
        () =>
          post(
            signedDelivery({ ...sub, _id: '65b0c1d2e3f4a5b6c7d8eeee' }, message('r9', 'forged 9')),
            secret,
          ),
        403,
      ],
      [
        'forged token',
        () => post(signedDelivery(sub, message('r10', 'forged 10'), { secret: 'guessed' }), secret),
        403,
      ],
      [
        'stale token (an hour old)',
        () =>
          post(
            signedDelivery(sub, message('r11', 'forged 11'), { timestamp: Date.now() - 3_600_000 }),
            secret,
          ),
        403,
      ],
      ['replay of a delivery already accepted', () => post(legit.body, secret), 200],
      [
        'unknown request (not our id scheme)',
        () =>
          post(
            signedDelivery(sub, message('r13', 'forged 13', { recipient: 'support-group-nope' }), {
              timestamp: stamp(),
            }),
            secret,
          ),
        200,
      ],
      [
        'unknown request (our scheme, no such conversation)',
        () =>
          post(
            signedDelivery(
              sub,
              message('r14', 'forged 14', {
                recipient: `support-group-${project}-${'ab'.repeat(16)}`,
              }),
              { timestamp: stamp() },
            ),
            secret,
          ),
        200,
      ],
      [
        'slowloris with the secret (body never finished)',
        async () => (await stalledPost(url, secret, '{"payload":', 10_000, 5000)).status,
        408,
      ],
      [
        'slowloris without the secret',
        async () => (await stalledPost(url, json, '{"payload":', 10_000, 5000)).status,
        401,
      ],
    ];

    const table: string[] = [];
    for (const [name, send, status] of rows) {
      const before = h.channel.received.length;
      const got = await send();
      await h.settle();
      const delivered = h.channel.received.length - before;
      table.push(
        `${String(got).padEnd(4)} ${delivered === 0 ? 'nothing delivered' : `${delivered} DELIVERED`}  ${name}`,
      );
      expect(got, name).to.equal(status);
      expect(delivered, `${name}: nothing delivered`).to.equal(0);
    }
    console.log(`      status / delivered / row:\n${table.map((l) => `        ${l}`).join('\n')}`);

    const texts = h.channel.received.map((a) => a.text ?? '');
    expect(texts.filter((t) => t.startsWith('forged'))).to.deep.equal([]);
    expect(texts.filter((t) => t === 'the real agent message')).to.have.length(1);
    expect(h.tiledesk.health().webhook.refused).to.deep.equal({
      secret: 3,
      content_type: 1,
      too_large: 1,
      malformed: 1,
      envelope: 1,
      project: 2,
      hook: 1,
      token: 1,
      stale: 1,
      timeout: 1,
    });
    expect(h.tiledesk.health().webhook.ignored).to.deep.equal({ replay: 1, unknown_request: 1 });

    // Nothing crashed: the bot still mirrors and relays.
    await h.user('conv-hostile').sayAndWait('still here');
    h.standin.agentReply(requestId, 'yes');
    await h.settle();
    expect(h.channel.texts('conv-hostile').at(-1)).to.equal('yes');

    const secrets = [sub.secret, h.standin.admin.password, h.standin.projectSecret];
    const everything = [
      ...logged,
      ...h.errors.map((e) => `${e.message} ${JSON.stringify(e)}`),
    ].join('\n');
    for (const s of secrets) expect(everything).to.not.include(s);
    expect(everything).to.not.match(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT
  });

  it('a slow body is cut off: 408 and the connection closed by the server', async () => {
    const { sub, url } = await setUp();
    const r = await stalledPost(
      url,
      { 'content-type': 'application/json', 'x-hook-secret': sub.secret },
      '{',
      1000,
      10_000,
    );
    expect(r.status).to.equal(408);
    expect(r.closedByServer).to.equal(true);
    expect(r.ms)
      .to.be.at.least(READ_TIMEOUT_MS - 50)
      .and.below(5000); // generous
    console.log(
      `      slow body answered 408 and closed after ${r.ms} ms (limit ${READ_TIMEOUT_MS} ms)`,
    );
  });

  it('300 unauthenticated never-finished bodies pin no memory; a real delivery goes through meanwhile', async () => {
    const { requestId, url } = await setUp();
    const gc = gcFunction();
    const N = 300;
    const chunk = 'x'.repeat((1 << 20) - 1024);
    gc();
    // Bodies are Buffers, outside the JS heap: count both (before the fix: +300 MiB of Buffers).
    const live = () => {
      const m = process.memoryUsage();
      return { bytes: m.heapUsed + m.arrayBuffers, rss: m.rss };
    };
    const before = live();
    // Each client declares 1 MiB, sends its headers and all but 1 KiB of it, then stalls.
    const flood = Array.from({ length: N }, () =>
      stalledPost(url, { 'content-type': 'application/json' }, chunk, 1 << 20, 5000),
    );
    // Meanwhile an agent writes: Tiledesk's delivery must get through.
    h.standin.agentReply(requestId, 'during the flood');
    const results = await Promise.all(flood);
    await h.channel.waitFor(
      () => h.channel.texts('conv-hostile').includes('during the flood'),
      10_000,
    );
    gc();
    const after = live();
    const connections = await new Promise<number>((resolve) =>
      h.bot.server.server.getConnections((_err, count) => resolve(count)),
    );
    const statuses = new Map<string, number>();
    for (const r of results)
      statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(
      `      ${N} stalled unauthenticated bodies: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `closed by the server: ${results.filter((r) => r.closedByServer).length}; ` +
        `heap + buffers ${mib(before.bytes)} → ${mib(after.bytes)} MiB (${after.bytes >= before.bytes ? '+' : ''}${mib(after.bytes - before.bytes)}), ` +
        `rss ${mib(before.rss)} → ${mib(after.rss)} MiB; ` +
        `server connections left: ${connections}`,
    );
    expect(statuses.get('401')).to.equal(N);
    expect(results.every((r) => r.closedByServer)).to.equal(true);
    // Generous; before the fix the same flood left +300 MiB of Buffers (rss +273 MiB).
    expect(after.bytes - before.bytes).to.be.below(32 * 1024 * 1024);
    expect(h.tiledesk.health().webhook.refused).to.deep.equal({ secret: N });
    expect(h.channel.texts('conv-hostile').at(-1)).to.equal('during the flood');
  });

  it('bodies in flight per address are capped: the excess gets 429 at once, the rest 408', async () => {
    const { sub, url } = await setUp();
    const headers = { 'content-type': 'application/json', 'x-hook-secret': sub.secret };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => stalledPost(url, headers, '{', 1000, 10_000)),
    );
    const byStatus = (s: number) => results.filter((r) => r.status === s);
    console.log(
      `      20 stalled bodies with the secret from one address: ${byStatus(408).length}× 408 after ~${READ_TIMEOUT_MS} ms, ` +
        `${byStatus(429).length}× 429 (max ${Math.max(...byStatus(429).map((r) => r.ms))} ms)`,
    );
    expect(byStatus(408)).to.have.length(16); // TiledeskWebhookMaxReadsPerSource default
    expect(byStatus(429)).to.have.length(4);
    expect(results.every((r) => r.closedByServer)).to.equal(true);
    expect(h.tiledesk.health().webhook.readsInProgress).to.equal(0);
  });
});
