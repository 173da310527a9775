/**
 * What the real server (2.19.16, ../contract) showed the stand-in got wrong or lacked, each
 * pinned here so `npm test` keeps it without a real server.
 */
import { expect } from 'chai';
import { TiledeskStandIn } from '../support/tiledesk-standin';
import { mintCustomToken, newRequestId, WebhookTarget } from '../support/tiledesk-standin/testkit';
import { Rest } from '../e2e/rest';

const ANNA = {
  id: '65a1b2c3d4e5f6a7b8c9d0aa',
  firstname: 'Anna',
  lastname: 'Rossi',
  email: 'anna.rossi@acme.example',
  password: 'anna-password',
  available: true,
};

describe('TiledeskStandIn — as the real server does it (contract findings)', () => {
  let s: TiledeskStandIn;
  let target: WebhookTarget;
  let rest: Rest;
  let admin: string;
  let agent: string;
  let user: string;

  const start = async (chat21: boolean) => {
    s = new TiledeskStandIn({ chat21, agents: [ANNA], commandDelayMs: 5 });
    await s.start();
    rest = new Rest(s.url);
    admin = String((await rest.ok('POST', '/auth/signin', { body: s.admin }))['token']);
    agent = String(
      (
        await rest.ok('POST', '/auth/signin', {
          body: { email: ANNA.email, password: ANNA.password },
        })
      )['token'],
    );
    const id = `${s.projectId}_webchat_${'ab'.repeat(12)}`;
    user = mintCustomToken(s, { _id: id, firstname: 'Ada', lastname: 'Lovelace' });
    await rest.ok('POST', '/auth/signinWithCustomToken', { token: user, body: {} });
    for (const event of [
      'message.create.request.channel.botframework',
      'request.update',
      'request.close',
    ]) {
      await rest.ok('POST', `/${s.projectId}/subscriptions`, {
        token: admin,
        body: { event, target: target.url() },
      });
    }
  };
  const messages = (rid: string) => `/${s.projectId}/requests/${rid}/messages`;
  const open = async (rid: string, extra: Record<string, unknown> = {}) =>
    rest.ok('POST', messages(rid), {
      token: user,
      body: { text: 'Hello', channel: { name: 'botframework' }, request_status: 50, ...extra },
    });
  const payloads = (event: string) => target.ofEvent(event).map((r) => r.envelope.payload);

  beforeEach(async () => {
    target = new WebhookTarget();
    await target.start();
  });
  afterEach(async () => {
    await s.stop();
    await target.stop();
  });

  it('agents with a password sign in (JSON and Basic) and switch their availability with PUT /project_users/', async () => {
    await start(true);
    const basic = 'Basic ' + Buffer.from(`${ANNA.email}:${ANNA.password}`).toString('base64');
    const res = await rest.call('PUT', `/${s.projectId}/project_users/`, {
      authorization: basic,
      body: { user_available: false },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({
      id_user: ANNA.id,
      role: 'agent',
      user_available: false,
      createdBy: s.adminUserId,
      isAuthenticated: true,
    });
    expect((res.body as { id?: string }).id).to.be.a('string');
    const rid = newRequestId(s.projectId);
    await open(rid);
    const routed = await rest.ok('PUT', `/${s.projectId}/requests/${rid}/agent`, {
      token: admin,
      body: {},
    });
    expect(routed['status']).to.equal(100);
  });

  it('an agent joins with POST …/participants: 200, request.update, then TOUCHING_OPERATOR', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    await open(rid);
    const joined = await rest.ok('POST', `/${s.projectId}/requests/${rid}/participants`, {
      token: agent,
      body: { member: ANNA.id },
    });
    expect(joined).to.include({ status: 200 });
    expect(joined['participants']).to.deep.equal([ANNA.id]);
    await s.waitFor(() => target.received.length >= 3);
    expect(target.received.map((r) => r.envelope.hook.event)).to.deep.equal([
      'message.create.request.channel.botframework',
      'request.update',
      'message.create.request.channel.botframework',
    ]);
    expect(String(payloads('message.create.request.channel.botframework')[1]?.['text'])).to.match(
      /^A new support request has been assigned to you/,
    );
    const missing = await rest.call('POST', `/${s.projectId}/requests/${rid}/participants`, {
      token: agent,
      body: {},
    });
    expect(missing.status).to.equal(422);
  });

  it('chat21: false keeps REST messages at status 0 (a typed \\agent does nothing) and announces no joins', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    await open(rid);
    await rest.ok('POST', messages(rid), { token: user, body: { text: 'help \\agent' } });
    await new Promise((r) => setTimeout(r, 40));
    expect(s.request(rid)?.status).to.equal(50);
    expect(s.messages(rid).map((m) => m.status)).to.deep.equal([0, 0]);
    s.routeQueued(rid);
    expect(s.messages(rid).map((m) => m.attributes?.['messagelabel'])).to.deep.equal([
      undefined,
      undefined,
      { key: 'TOUCHING_OPERATOR' },
    ]);
  });

  it('message.create carries the request lean (no virtuals) with the previous last_message; answers and request.* carry the virtuals', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    const created = await open(rid, { attributes: { a: 1 } });
    await rest.ok('POST', messages(rid), { token: user, body: { text: 'second' } });
    await rest.ok('POST', messages(rid), { token: user, body: { text: 'third' } });
    await rest.ok('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
      token: admin,
      body: { b: 2 },
    });
    await s.waitFor(() => target.received.length >= 4);
    const [first, second, third] = payloads('message.create.request.channel.botframework').map(
      (p) => p['request'] as Record<string, unknown>,
    );
    for (const r of [first, second, third]) {
      expect(r).to.not.have.any.keys('id', 'requester_id');
      expect(r?.['requester']).to.not.have.any.keys('id', 'isAuthenticated');
      expect(r?.['department']).to.not.have.any.keys('id', 'hasBot');
    }
    const last = (r: Record<string, unknown> | undefined) =>
      (r?.['attributes'] as { last_message?: { text?: string } }).last_message?.text;
    expect([last(first), last(second), last(third)]).to.deep.equal([
      undefined,
      undefined,
      'second',
    ]);
    const answer = created['request'] as Record<string, unknown>;
    expect(answer).to.include.keys('id', 'requester_id');
    expect(answer['requester']).to.include({ isAuthenticated: true });
    expect(answer['department']).to.include({ hasBot: false });
    expect(answer['lead']).to.include({ phone: null });
    expect(answer['requester']).to.have.property('last_login_at').that.is.a('string');
    expect(payloads('request.update')[0]).to.include.keys('id', 'requester_id');
  });

  it('a request whose messages brought no attributes shows none (mongoose minimize)', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    const created = await rest.ok('POST', messages(rid), { token: user, body: { text: 'Hello' } });
    expect(created['request']).to.not.have.property('attributes');
  });

  it('an agent reply sets the waiting time only when it names its sender; system messages carry the language as metadata', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    await open(rid, { language: 'it' });
    await rest.ok('PUT', `/${s.projectId}/requests/${rid}/agent`, { token: admin, body: {} });
    await rest.ok('POST', messages(rid), { token: agent, body: { text: 'hi' } });
    expect(s.request(rid)?.first_response_at).to.equal(undefined);
    await rest.ok('POST', messages(rid), { token: agent, body: { text: 'hi', sender: ANNA.id } });
    expect(s.request(rid)?.first_response_at).to.be.a('string');
    const touching = s.messages(rid).find((m) => m.sender === 'system');
    expect(touching).to.include({ metadata: 'it' }).and.not.have.property('language');
  });

  it('close: request.update (1000) before transcript and closed_*; request.close has them; the 2nd routing emits request.update too', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    await open(rid);
    await rest.ok('PUT', `/${s.projectId}/requests/${rid}/agent`, { token: admin, body: {} });
    await rest.ok('PUT', `/${s.projectId}/requests/${rid}/agent`, { token: admin, body: {} });
    await rest.ok('PUT', `/${s.projectId}/requests/${rid}/close`, { token: agent, body: {} });
    await s.waitFor(() => payloads('request.close').length === 1);
    const updates = payloads('request.update');
    expect(updates.map((u) => u['status'])).to.deep.equal([200, 200, 1000]);
    expect(updates[2]).to.not.have.any.keys('transcript', 'closed_at', 'closed_by', 'duration');
    expect(payloads('request.close')[0]).to.include.keys(
      'transcript',
      'closed_at',
      'closed_by',
      'duration',
    );
  });

  it('PATCH …/requests/:id emits request.update (404 "Request not found"); the waiting time comes from the requests; a reply naming its sender sets it, then request.update', async () => {
    await start(false);
    const waiting = () =>
      rest.ok<unknown[]>('GET', `/${s.projectId}/publicanalytics/waiting/current`);
    expect(await waiting()).to.deep.equal([]);
    const rid = newRequestId(s.projectId);
    await open(rid);
    expect(await waiting()).to.deep.equal([{ _id: s.projectId, waiting_time_avg: null }]);
    const titled = await rest.ok('PATCH', `/${s.projectId}/requests/${rid}`, {
      token: admin,
      body: { first_text: 'My invoice', unknown: 'ignored' },
    });
    expect(titled).to.include({ first_text: 'My invoice' }).and.not.have.property('unknown');
    const missing = await rest.call('PATCH', `/${s.projectId}/requests/${rid}-x`, {
      token: admin,
      body: { first_text: 'x' },
    });
    expect([missing.status, missing.body]).to.deep.equal([
      404,
      { success: false, msg: 'Request not found' },
    ]);
    await rest.ok('PUT', `/${s.projectId}/requests/${rid}/agent`, { token: admin, body: {} });
    await rest.ok('POST', messages(rid), { token: agent, body: { text: 'hi', sender: ANNA.id } });
    await s.waitFor(() => payloads('request.update').length === 3);
    const events = target.received.map((r) => r.envelope.hook.event).slice(-2);
    expect(events).to.deep.equal(['message.create.request.channel.botframework', 'request.update']);
    expect(payloads('request.update')[2]).to.have.property('waiting_time').that.is.a('number');
    const [row] = (await waiting()) as { waiting_time_avg: unknown }[];
    expect(row?.waiting_time_avg).to.be.a('number');
  });

  it('profile photos: an upload (files bucket) is served at /files, not /images; an older one (images) at both', async () => {
    await start(false);
    const path = (id: string) =>
      encodeURIComponent(`uploads/users/${id}/images/thumbnails_200_200-photo.jpg`);
    const status = async (route: string, id: string) =>
      (await rest.call('GET', `${route}?path=${path(id)}`)).status;
    expect([await status('/files', ANNA.id), await status('/images', ANNA.id)]).to.deep.equal([
      404, 404,
    ]);
    const uploaded = await rest.call('POST', `/${s.projectId}/files/users/photo`, {
      token: agent,
      body: {},
    });
    expect(uploaded.status).to.equal(201);
    expect(uploaded.body).to.include({ thumbnail: path(ANNA.id) });
    expect([await status('/files', ANNA.id), await status('/images', ANNA.id)]).to.deep.equal([
      200, 404,
    ]);
    s.setUserPhoto(s.adminUserId, true, 'images');
    expect([
      await status('/files', s.adminUserId),
      await status('/images', s.adminUserId),
    ]).to.deep.equal([200, 200]);
  });

  it('POST /{p}/events: 422 without a name; answers the saved event, delivers it populated with the caller as user', async () => {
    await start(false);
    const rid = newRequestId(s.projectId);
    await open(rid);
    await rest.ok('POST', `/${s.projectId}/subscriptions`, {
      token: admin,
      body: { event: 'event.emit.typing.start', target: target.url() },
    });
    expect(
      (await rest.call('POST', `/${s.projectId}/events`, { token: agent, body: {} })).status,
    ).to.equal(422);
    const attributes = { recipient_id: rid, writer_id: ANNA.id, data: { name: 'Anna' } };
    const saved = await rest.ok('POST', `/${s.projectId}/events`, {
      token: agent,
      body: { name: 'typing.start', attributes },
    });
    expect(saved)
      .to.include({ name: 'typing.start', status: 'stardard' })
      .and.not.have.property('id');
    expect(saved['project_user']).to.be.a('string');
    await s.waitFor(() => target.ofEvent('event.emit.typing.start').length === 1);
    const delivered = target.ofEvent('event.emit.typing.start')[0]!.envelope.payload;
    expect(delivered).to.include({ id: saved['_id'] }).and.deep.include({ attributes });
    const pu = delivered['project_user'] as Record<string, unknown>;
    expect(pu).to.include({ id_user: pu['id_user'], isAuthenticated: true });
    expect(pu['id_user'])
      .to.include({ _id: ANNA.id, firstname: 'Anna' })
      .and.not.have.property('id');
    expect(delivered['user']).to.include({ _id: ANNA.id, email: ANNA.email });
  });

  it('401s: "Unauthorized" without Content-Type; signinWithCustomToken without a challenge; a new subscription shows global: false', async () => {
    await start(false);
    const route = await rest.call('GET', messages('x'), { authorization: 'Bearer x' });
    expect([route.status, route.body, route.headers.get('content-type')]).to.deep.equal([
      401,
      'Unauthorized',
      null,
    ]);
    expect(route.headers.get('www-authenticate')).to.equal('Basic realm="Users"');
    const custom = await rest.call('POST', '/auth/signinWithCustomToken', {
      token: mintCustomToken(s, { _id: 'x'.repeat(30) }, { secret: 'wrong' }),
      body: {},
    });
    expect(custom.status).to.equal(401);
    expect(custom.headers.get('www-authenticate')).to.equal(null);
    const sub = await rest.ok('POST', `/${s.projectId}/subscriptions`, {
      token: admin,
      body: { event: 'request.create', target: target.url() },
    });
    expect(sub['global']).to.equal(false);
  });
});
