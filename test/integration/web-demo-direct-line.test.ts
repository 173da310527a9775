import { expect } from 'chai';
import { startWebDemo, type WebDemo } from '../../samples/web-demo/server';

/**
 * The web demo's Direct Line service over loopback HTTP, as Web Chat's polling client uses it
 * (no browser needed): tokens, conversations, watermarks, the Bot Connector side, and the
 * agent console API.
 */
describe('web demo: Direct Line service and agent console API', function () {
  this.timeout(20_000);
  let demo: WebDemo;
  let origin: string;
  let logged: string[];

  beforeEach(async () => {
    logged = [];
    demo = await startWebDemo({ log: (line) => logged.push(line) });
    origin = demo.url.replace(/\/$/, '');
  });
  afterEach(async () => {
    await demo.stop();
  });

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(origin + path, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  type Polled = { activities: Record<string, unknown>[]; watermark: string };
  const poll = async (conversationId: string, token: string, watermark?: string) =>
    (
      await call(
        'GET',
        `/v3/directline/conversations/${conversationId}/activities` +
          (watermark === undefined ? '' : `?watermark=${watermark}`),
        undefined,
        token,
      )
    ).body as unknown as Polled;
  const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    for (let i = 0; i < 200; i += 1) {
      const value = await read();
      if (ok(value)) return value;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('timed out');
  };
  const start = async () => {
    const { token } = (await call('POST', '/api/directline/token')).body as { token: string };
    const started = await call('POST', '/v3/directline/conversations', undefined, token);
    expect(started.status).to.equal(201);
    return { token, conversationId: String(started.body['conversationId']) };
  };

  it('refuses a conversation without a token it issued', async () => {
    const res = await call('POST', '/v3/directline/conversations', undefined, 'made-up');
    expect(res.status).to.equal(403);
  });

  it('greets, echoes in order with increasing timestamps, and pages by watermark', async () => {
    const { token, conversationId } = await start();
    const greeted = await until(
      () => poll(conversationId, token),
      (p) => p.activities.some((a) => a['type'] === 'message'),
    );
    const sent = await call(
      'POST',
      `/v3/directline/conversations/${conversationId}/activities`,
      { type: 'message', text: 'Hello!', from: { id: 'someone-else' } },
      token,
    );
    expect(sent.status).to.equal(200);
    const later = await until(
      () => poll(conversationId, token, greeted.watermark),
      (p) => p.activities.some((a) => a['text'] === 'Echo: Hello!'),
    );
    expect(later.activities.map((a) => a['text'])).to.deep.equal(['Hello!', 'Echo: Hello!']);
    const [mine, echo] = later.activities;
    expect(mine?.['id']).to.equal(sent.body['id']);
    // The user is who the token names, whatever the client claims.
    expect((mine?.['from'] as { id?: string }).id).to.match(/^user-/);
    expect(echo?.['replyToId']).to.equal(mine?.['id']);
    const all = (await poll(conversationId, token)).activities.map((a) => String(a['timestamp']));
    expect([...all].sort()).to.deep.equal(all);
    expect(new Set(all).size).to.equal(all.length);
    expect(Number((await poll(conversationId, token, later.watermark)).activities.length)).to.equal(
      0,
    );
    expect(demo.directLine.strayReplies).to.deep.equal([]);
  });

  it('lists a bot reply to an activity the channel never carried, and keeps it', async () => {
    const { conversationId } = await start();
    const res = await call('POST', `/v3/conversations/${conversationId}/activities/not-ours`, {
      type: 'message',
      text: 'late',
    });
    expect(res.status).to.equal(200);
    expect(demo.directLine.strayReplies).to.deep.equal([
      { conversationId, replyToId: 'not-ours', text: 'late' },
    ]);
    expect(demo.directLine.activities(conversationId).at(-1)?.['replyToId']).to.equal('not-ours');
    expect(logged).to.deep.equal(['[direct-line] reply to unknown activity not-ours: late']);
  });

  it('the agent console API lists the request and relays a reply with buttons', async () => {
    const { token, conversationId } = await start();
    const say = (text: string) =>
      call(
        'POST',
        `/v3/directline/conversations/${conversationId}/activities`,
        { type: 'message', text },
        token,
      );
    await say('Hello!');
    await say('talk to a human');
    const requests = await until(
      async () => (await fetch(`${origin}/agent/requests`)).json() as Promise<unknown[]>,
      (r) => (r[0] as { statusText?: string } | undefined)?.statusText === 'with an agent',
    );
    const id = String((requests[0] as { id: string }).id);
    await call('POST', `/agent/requests/${encodeURIComponent(id)}/reply`, {
      text: 'Pick one',
      buttons: ['Tomorrow', ' ', 'Monday'],
    });
    const relayed = await until(
      async () => demo.directLine.activities(conversationId),
      (list) => list.some((a) => String(a['text']).endsWith('Pick one')),
    );
    const message = relayed.find((a) => String(a['text']).endsWith('Pick one'));
    expect(message?.['suggestedActions']).to.deep.include({
      actions: [
        { type: 'imBack', title: 'Tomorrow', value: 'Tomorrow' },
        { type: 'imBack', title: 'Monday', value: 'Monday' },
      ],
    });
    const history = (await fetch(
      `${origin}/agent/requests/${encodeURIComponent(id)}/messages`,
    ).then((r) => r.json())) as { text: string }[];
    expect(history.map((m) => m.text)).to.include.members(['Hello!', 'talk to a human']);
    expect((await call('POST', '/agent/requests/nope/close')).status).to.equal(404);
  });
});
