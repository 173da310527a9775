import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import jwt from 'jsonwebtoken';
import { expect } from 'chai';
import { TiledeskStandIn, type StandInOptions } from '../support/tiledesk-standin';
import { mintCustomToken, newRequestId, WebhookTarget } from '../support/tiledesk-standin/testkit';

interface HttpResult {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
  ms: number;
}

const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';
const MARCO = '65a1b2c3d4e5f6a7b8c9d0ab';
const FAST: StandInOptions = { commandDelayMs: 5, webhookRetryDelaysMs: [10, 10] };

let s: TiledeskStandIn;
let target: WebhookTarget;

async function call(
  method: string,
  path: string,
  opts: { auth?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const started = Date.now();
  const res = await axios.request<unknown>({
    method,
    url: s.url + path,
    data: opts.raw ?? opts.body,
    validateStatus: () => true,
    headers: {
      ...(opts.auth !== undefined && { Authorization: opts.auth }),
      ...(opts.raw !== undefined && { 'Content-Type': 'application/json' }),
      ...opts.headers,
    },
    transformResponse: [(d: unknown) => d],
    ...(opts.raw !== undefined && { transformRequest: [(d: unknown) => d] }),
  });
  const type = String(res.headers['content-type'] ?? '');
  const data: unknown =
    type.includes('json') && typeof res.data === 'string' ? JSON.parse(res.data) : res.data;
  return { status: res.status, data, headers: { ...res.headers }, ms: Date.now() - started };
}

function rec(value: unknown): Record<string, unknown> {
  expect(value, 'expected an object').to.be.an('object').and.not.be.an('array');
  return value as Record<string, unknown>;
}

function arr(value: unknown): unknown[] {
  expect(value, 'expected an array').to.be.an('array');
  return value as unknown[];
}

async function restart(options: StandInOptions): Promise<void> {
  await s.stop();
  s = new TiledeskStandIn({ ...FAST, ...options });
  await s.start();
}

async function adminAuth(): Promise<string> {
  const res = await call('POST', '/auth/signin', { body: s.admin });
  expect(res.status).to.equal(200);
  return String(rec(res.data)['token']);
}

async function endUser(
  id = `${s.projectId}_test_${Math.random().toString(16).slice(2)}`,
): Promise<{ id: string; auth: string }> {
  const auth =
    'JWT ' +
    mintCustomToken(s, {
      _id: id,
      firstname: 'John',
      lastname: 'Smith',
      email: 'john@example.com',
    });
  const res = await call('POST', '/auth/signinWithCustomToken', { auth });
  expect(res.status).to.equal(200);
  return { id, auth };
}

function post(auth: string, requestId: string, body: Record<string, unknown>): Promise<HttpResult> {
  return call('POST', `/${s.projectId}/requests/${requestId}/messages`, { auth, body });
}

async function subscribe(
  admin: string,
  event: string,
  url = target.url(),
): Promise<Record<string, unknown>> {
  const res = await call('POST', `/${s.projectId}/subscriptions`, {
    auth: admin,
    body: { event, target: url },
  });
  expect(res.status).to.equal(200);
  return rec(res.data);
}

/** Key set of a fixture's payload (and of its `payload.request` when present). */
function fixtureKeys(name: string): { payload: string[]; request: string[] } {
  const file = join(__dirname, '..', 'fixtures', 'tiledesk', `${name}.json`);
  const payload = rec(rec(JSON.parse(readFileSync(file, 'utf8')))['payload']);
  const request = payload['request'];
  return {
    payload: Object.keys(payload).sort(),
    request: request === undefined ? [] : Object.keys(rec(request)).sort(),
  };
}

function labelKeys(requestId: string): unknown[] {
  return s.messages(requestId).map((m) => rec(m.attributes?.['messagelabel'] ?? {})['key']);
}

describe('TiledeskStandIn', () => {
  beforeEach(async () => {
    s = new TiledeskStandIn(FAST);
    await s.start();
    target = new WebhookTarget();
    await target.start();
  });

  afterEach(async () => {
    await s.stop();
    await target.stop();
  });

  describe('TiledeskStandIn — auth (§1)', () => {
    it('signin: JWT token without exp; bad password 401 JSON; invalid email / empty password 422', async () => {
      const ok = await call('POST', '/auth/signin', { body: s.admin });
      expect(ok.status).to.equal(200);
      const body = rec(ok.data);
      expect(body['success']).to.equal(true);
      expect(String(body['token'])).to.match(/^JWT ey/);
      expect(rec(body['user'])).to.include({ email: s.admin.email, _id: s.adminUserId });
      const claims = rec(jwt.decode(String(body['token']).slice(4)));
      expect(claims).to.include({
        sub: 'user',
        aud: 'https://tiledesk.com',
        iss: 'https://tiledesk.com',
      });
      expect(claims).to.not.have.property('exp');

      const bad = await call('POST', '/auth/signin', {
        body: { email: s.admin.email, password: 'nope' },
      });
      expect(bad.status).to.equal(401);
      expect(bad.data).to.deep.equal({
        success: false,
        msg: 'Authentication failed. Wrong password.',
      });
      const unknown = await call('POST', '/auth/signin', {
        body: { email: 'x@example.com', password: 'x' },
      });
      expect(rec(unknown.data)['msg']).to.equal('Authentication failed. User not found.');
      expect(
        (await call('POST', '/auth/signin', { body: { email: 'nope', password: 'x' } })).status,
      ).to.equal(422);
      expect(
        (await call('POST', '/auth/signin', { body: { email: s.admin.email, password: '' } }))
          .status,
      ).to.equal(422);
    });

    it('custom token: 403 before signinWithCustomToken, same token back, then accepted', async () => {
      const id = `${s.projectId}_teams_abc123`;
      const token = mintCustomToken(s, { _id: id, firstname: 'John', lastname: 'Smith' });
      const rid = newRequestId(s.projectId);
      const before = await post('JWT ' + token, rid, { text: 'hi' });
      expect(before.status).to.equal(403);
      expect(before.data).to.deep.equal({ success: false, msg: 'you dont belong to the project.' });

      const signin = await call('POST', '/auth/signinWithCustomToken', { auth: 'JWT ' + token });
      expect(signin.status).to.equal(200);
      expect(rec(signin.data)['token']).to.equal('JWT ' + token);
      expect(rec(rec(signin.data)['user'])).to.include({ _id: id, sub: 'userexternal' });

      const after = await post('JWT ' + token, rid, { text: 'hi' });
      expect(after.status).to.equal(200);
      expect(rec(after.data)).to.include({ sender: id, senderFullname: 'John Smith' });
      // a freshly minted token for the same _id works without signing in again; scheme is case-insensitive
      expect(
        (await post('jwt ' + mintCustomToken(s, { _id: id }), rid, { text: 'again' })).status,
      ).to.equal(200);
    });

    it('custom token: expired → 401, wrong secret → 401, no aud → 401 (verified with the server secret)', async () => {
      const id = `${s.projectId}_teams_exp`;
      const expired = mintCustomToken(s, { _id: id }, { expiresInSeconds: -10 });
      const r1 = await call('POST', '/auth/signinWithCustomToken', { auth: 'JWT ' + expired });
      expect(r1.status).to.equal(401);
      await endUser(id);
      expect(
        (await post('JWT ' + expired, newRequestId(s.projectId), { text: 'x' })).status,
      ).to.equal(401);
      const wrong = mintCustomToken(s, { _id: id }, { secret: 'other' });
      expect(
        (await call('POST', '/auth/signinWithCustomToken', { auth: 'JWT ' + wrong })).status,
      ).to.equal(401);
      const noAud = mintCustomToken(s, { _id: id }, { aud: null });
      expect(
        (await call('POST', '/auth/signinWithCustomToken', { auth: 'JWT ' + noAud })).status,
      ).to.equal(401);
    });

    it('Bearer or missing Authorization → 401 "Unauthorized" (no Content-Type) with WWW-Authenticate', async () => {
      const { auth } = await endUser();
      for (const header of [auth.replace(/^JWT/, 'Bearer'), undefined]) {
        const res = await call(
          'GET',
          `/${s.projectId}/requests/x/messages`,
          header === undefined ? {} : { auth: header },
        );
        expect(res.status).to.equal(401);
        expect(res.data).to.equal('Unauthorized');
        expect(res.headers['content-type']).to.equal(undefined); // passport: res.end() only
        expect(res.headers['www-authenticate']).to.equal('Basic realm="Users"');
      }
    });

    it('project id checks run before auth; roles: end user cannot PUT /agent or use subscriptions', async () => {
      expect((await call('GET', '/nope/requests/x/messages')).data).to.deep.equal({
        error: 'Invalid project id: nope',
      });
      const other = await call('GET', '/65a1b2c3d4e5f6a7b8c9ffff/requests/x/messages');
      expect(other.status).to.equal(400);
      expect(other.data).to.deep.equal({
        error: 'Project not found with id: 65a1b2c3d4e5f6a7b8c9ffff',
      });
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hi', request_status: 50 });
      const role = { success: false, msg: 'you dont have the required role.' };
      expect(
        (await call('PUT', `/${s.projectId}/requests/${rid}/agent`, { auth })).data,
      ).to.deep.equal(role);
      expect((await call('GET', `/${s.projectId}/subscriptions`, { auth })).data).to.deep.equal(
        role,
      );
      const admin = await adminAuth();
      expect(
        (await call('GET', `/${s.projectId}/requests/${rid}`, { auth: admin })).status,
      ).to.equal(200);
      expect((await call('GET', `/${s.projectId}/requests/nope`, { auth: admin })).status).to.equal(
        404,
      );
    });

    it('connector style: custom token signed with the subscription secret; Basic auth for the admin', async () => {
      const admin = await adminAuth();
      const sub = await subscribe(admin, 'message.create.request.channel.whatsapp');
      const aud = `https://tiledesk.com/subscriptions/${String(sub['_id'])}`;
      const token = mintCustomToken(
        s,
        { _id: 'wab-391234567' },
        { aud, secret: String(sub['secret']) },
      );
      const signin = await call('POST', '/auth/signinWithCustomToken', { auth: 'JWT ' + token });
      expect(signin.status).to.equal(200);
      const rid = newRequestId(s.projectId);
      expect(
        (await post('JWT ' + token, rid, { text: 'ciao', request_status: 50 })).status,
      ).to.equal(200);
      const basic =
        'Basic ' + Buffer.from(`${s.admin.email}:${s.admin.password}`).toString('base64');
      expect((await call('GET', `/${s.projectId}/subscriptions`, { auth: basic })).status).to.equal(
        200,
      );
      const wrong = 'Basic ' + Buffer.from(`${s.admin.email}:nope`).toString('base64');
      expect((await call('GET', `/${s.projectId}/subscriptions`, { auth: wrong })).status).to.equal(
        401,
      );
      const malformed = 'Basic ' + Buffer.from('no-colon').toString('base64');
      expect(
        (await call('GET', `/${s.projectId}/subscriptions`, { auth: malformed })).status,
      ).to.equal(400);
    });

    it('signinAnonymously: 422 without id_project; guest token can post', async () => {
      expect((await call('POST', '/auth/signinAnonymously', { body: {} })).status).to.equal(422);
      const res = await call('POST', '/auth/signinAnonymously', {
        body: { id_project: s.projectId, firstname: 'Ann' },
      });
      expect(res.status).to.equal(200);
      const token = String(rec(res.data)['token']);
      expect(rec(jwt.decode(token.slice(4)))).to.include({ sub: 'guest', firstname: 'Ann' });
      expect(
        (await post(token, newRequestId(s.projectId), { text: 'hello', request_status: 50 }))
          .status,
      ).to.equal(200);
    });

    it('body limit 413, invalid JSON → 500 {err:"error"} (generic error handler)', async () => {
      const { auth } = await endUser();
      const big = await post(auth, newRequestId(s.projectId), { text: 'x'.repeat(600 * 1024) });
      expect(big.status).to.equal(413);
      expect(big.data).to.deep.equal({ err: 'Request entity too large', limit: '500KB' });
      const bad = await call('POST', `/${s.projectId}/requests/x/messages`, {
        auth,
        raw: '{"text":',
      });
      expect(bad.status).to.equal(500);
      expect(bad.data).to.deep.equal({ err: 'error' });
    });
  });

  describe('TiledeskStandIn — messages and implicit creation (§2.2, §3)', () => {
    it('request_status 50: stored as TEMP, not routed; message has the wire shape', async () => {
      const { id, auth } = await endUser();
      const rid = newRequestId(s.projectId);
      const res = await post(auth, rid, {
        text: 'Hi, I need help',
        channel: { name: 'botframework' },
        request_status: 50,
        attributes: { bf_channel: 'msteams' },
        departmentid: '65a1b2c3d4e5f6a7b8c9d0d1',
      });
      expect(res.status).to.equal(200);
      const msg = rec(res.data);
      expect(msg).to.include({
        sender: id,
        recipient: rid,
        type: 'text',
        channel_type: 'group',
        text: 'Hi, I need help',
        id_project: s.projectId,
        status: 0,
        __v: 0,
        createdBy: id,
      });
      expect(String(msg['_id'])).to.match(/^[0-9a-f]{24}$/);
      expect(msg['channel']).to.deep.equal({ name: 'botframework' });
      expect(new Date(String(msg['createdAt'])).toISOString()).to.equal(msg['createdAt']);
      const req = rec(msg['request']);
      expect(req).to.include({ status: 50, request_id: rid, first_text: 'Hi, I need help' });
      expect(req['participants']).to.deep.equal([]);
      const stored = s.request(rid);
      expect(stored?.channel).to.deep.equal({ name: 'botframework' });
      expect(stored?.department._id).to.equal('65a1b2c3d4e5f6a7b8c9d0d1');
      expect(stored?.attributes).to.deep.equal({ bf_channel: 'msteams' });
      expect(stored?.lead).to.include({
        lead_id: id,
        fullname: 'John Smith',
        email: 'john@example.com',
      });
      expect(s.messages(rid)).to.have.length(1);
    });

    it('without request_status: routed at once to an available agent (status 200 + info messages)', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      const res = await post(auth, rid, { text: 'Hi, I need help with my order please' });
      const req = rec(rec(res.data)['request']);
      expect(req['status']).to.equal(200);
      expect(req['participants']).to.deep.equal([ANNA]);
      expect(s.request(rid)?.department.name).to.equal('Default Department');
      const msgs = s.messages(rid);
      expect(labelKeys(rid)).to.deep.equal([undefined, 'TOUCHING_OPERATOR', 'MEMBER_JOINED_GROUP']);
      expect(msgs[1]).to.include({ sender: 'system', senderFullname: 'Bot', status: 0 });
      expect(msgs[1]?.text).to.equal(
        'A new support request has been assigned to you: Hi, I need help with my order ',
      );
      expect(msgs[2]).to.include({
        sender: 'system',
        senderFullname: 'System',
        status: 200,
        text: 'Anna added to group',
      });
      expect(msgs[2]?.attributes).to.deep.equal({
        subtype: 'info',
        updateconversation: true,
        messagelabel: {
          key: 'MEMBER_JOINED_GROUP',
          parameters: {
            member_id: ANNA,
            fullname: 'Anna Rossi',
            firstname: 'Anna',
            lastname: 'Rossi',
          },
        },
      });
    });

    it('no available agent → status 100, no participants', async () => {
      s.setAgentAvailable(ANNA, false);
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      const res = await post(auth, rid, { text: 'Hi' });
      expect(rec(rec(res.data)['request'])).to.include({ status: 100 });
      expect(s.request(rid)?.participants).to.deep.equal([]);
      expect(s.messages(rid)).to.have.length(1);
    });

    it('new request: 422 without text, 500 for a non-text type without text, 403 for an unknown sender', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      const r422 = await post(auth, rid, { attributes: {} });
      expect(r422.status).to.equal(422);
      expect(r422.data).to.deep.equal({ errors: ['text field is required'] });
      const r500 = await post(auth, rid, { type: 'image', metadata: { src: 'http://x/y.png' } });
      expect(r500.status).to.equal(500);
      expect(rec(r500.data)['msg']).to.equal('Error creating request');
      const r403 = await post(auth, rid, { text: 'x', sender: 'bot_nobody' });
      expect(r403.status).to.equal(403);
      expect(r403.data).to.deep.equal({
        success: false,
        msg: 'Unauthorized. Project_user not found with user id  : bot_nobody',
      });
      expect(s.request(rid)).to.equal(undefined);
    });

    it('existing request: any sender accepted; closed request stores the message without reopening', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hi', request_status: 50 });
      const bot = await post(auth, rid, {
        text: 'Bot here',
        sender: 'bot_123',
        senderFullname: 'Acme Bot',
      });
      expect(rec(bot.data)).to.include({ sender: 'bot_123', senderFullname: 'Acme Bot' });
      expect(s.request(rid)?.attributes['last_message']).to.include({ text: 'Bot here' });
      s.agentClose(rid);
      const late = await post(auth, rid, { text: 'are you there?' });
      expect(late.status).to.equal(200);
      expect(s.request(rid)?.status).to.equal(1000);
      expect(s.messages(rid).map((m) => m.text)).to.include('are you there?');
    });

    it('GET messages in creation order with increasing ids; labels replace the whole text', async () => {
      await restart({ labels: { GREETING: 'Hello from the label' } });
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      for (const text of ['one', 'two ${GREETING} three', 'three'])
        await post(auth, rid, { text, request_status: 50 });
      const res = await call('GET', `/${s.projectId}/requests/${rid}/messages`, { auth });
      const list = arr(res.data).map(rec);
      expect(list.map((m) => m['text'])).to.deep.equal(['one', 'Hello from the label', 'three']);
      const ids = list.map((m) => String(m['_id']));
      expect([...ids].sort()).to.deep.equal(ids);
      expect(new Set(ids).size).to.equal(3);
    });

    it('GET /requests/me lists the caller’s open requests of a channel', async () => {
      const { auth } = await endUser();
      const a = newRequestId(s.projectId);
      const b = newRequestId(s.projectId);
      await post(auth, a, { text: 'a', channel: { name: 'botframework' }, request_status: 50 });
      await post(auth, b, { text: 'b', channel: { name: 'other' }, request_status: 50 });
      const res = rec(
        (await call('GET', `/${s.projectId}/requests/me?channel=botframework`, { auth })).data,
      );
      expect(res['count']).to.equal(1);
      expect(rec(arr(res['requests'])[0])['request_id']).to.equal(a);
    });
  });

  describe('TiledeskStandIn — routing, commands and webhooks (§4, §5)', () => {
    it('PUT /agent: assigned → 200 + info messages delivered with envelope, secret header and token', async () => {
      const admin = await adminAuth();
      const sub = await subscribe(admin, 'message.create.request.channel.botframework');
      await subscribe(admin, 'request.update');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, {
        text: 'hello',
        channel: { name: 'botframework' },
        request_status: 50,
      });
      const res = await call('PUT', `/${s.projectId}/requests/${rid}/agent`, { auth: admin });
      expect(rec(res.data)).to.include({ status: 200 });
      expect(rec(res.data)['participants']).to.deep.equal([ANNA]);
      expect(rec(res.data)['assigned_at']).to.be.a('string');

      await s.waitFor(() => target.received.length >= 4);
      const msgHooks = target.ofEvent('message.create.request.channel.botframework');
      expect(msgHooks.map((r) => r.envelope.payload['text'])).to.have.members([
        'hello',
        'A new support request has been assigned to you: hello',
        'Anna added to group',
      ]);
      const joined = msgHooks.find((r) => r.envelope.payload['text'] === 'Anna added to group');
      expect(rec(joined?.envelope.payload['request'])).to.include({ status: 200 });
      const first = msgHooks[0];
      expect(first?.headers).to.include({
        'x-hook-secret': String(sub['secret']),
        'user-agent': 'tiledesk-webhooks',
        origin: 'http://localhost:3000',
        accept: 'application/json',
        'content-type': 'application/json',
      });
      expect(first?.envelope.hook).to.include({
        _id: sub['_id'],
        event: 'message.create.request.channel.botframework',
        target: target.url(),
      });
      const claims = rec(
        jwt.verify(first?.envelope.token ?? '', String(sub['secret']), {
          audience: `https://tiledesk.com/subscriptions/${String(sub['_id'])}`,
        }),
      );
      expect(claims).to.include({
        sub: 'subscription',
        iss: 'https://tiledesk.com',
        _id: sub['_id'],
      });
      expect(target.ofEvent('request.update')[0]?.envelope.payload).to.include({
        status: 200,
        request_id: rid,
      });
    });

    it('PUT /agent with nobody available → 100; a second, unchanged route emits request.update again', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'request.update');
      s.setAgentAvailable(ANNA, false);
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', request_status: 50 });
      const first = await call('PUT', `/${s.projectId}/requests/${rid}/agent`, { auth: admin });
      expect(rec(first.data)).to.include({ status: 100 });
      expect(rec(first.data)['participants']).to.deep.equal([]);
      await call('PUT', `/${s.projectId}/requests/${rid}/agent`, { auth: admin });
      // 2.19.16 emits it even when nothing changed (verified against the real server).
      await s.waitFor(() => target.ofEvent('request.update').length >= 2);
      await new Promise((r) => setTimeout(r, 30));
      expect(
        target.ofEvent('request.update').map((d) => d.envelope.payload['status']),
      ).to.deep.equal([100, 100]);
      expect(labelKeys(rid)).to.deep.equal([undefined]);
      expect(
        (await call('PUT', `/${s.projectId}/requests/nope/agent`, { auth: admin })).status,
      ).to.equal(404);
    });

    it('round robin across available agents', async () => {
      await restart({
        agents: [
          {
            id: ANNA,
            firstname: 'Anna',
            lastname: 'Rossi',
            email: 'anna@example.com',
            available: true,
          },
          {
            id: MARCO,
            firstname: 'Marco',
            lastname: 'Bianchi',
            email: 'marco@example.com',
            available: true,
          },
        ],
      });
      const { auth } = await endUser();
      const picked: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(auth, newRequestId(s.projectId), { text: 'hi' });
        picked.push(arr(rec(rec(res.data)['request'])['participants'])[0]);
      }
      expect(picked).to.deep.equal([ANNA, MARCO, ANNA]);
    });

    it('\\agent fires only after the chat21 round trip (commandDelayMs); status 0 → 200', async () => {
      await restart({ commandDelayMs: 60 });
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', request_status: 50 });
      const sent = Date.now();
      await post(auth, rid, { text: 'Connecting you \\agent', attributes: { subtype: 'info' } });
      await new Promise((r) => setTimeout(r, 20));
      expect(s.request(rid)?.status).to.equal(50);
      expect(s.messages(rid)[1]?.status).to.equal(0);
      await s.waitFor(() => s.request(rid)?.status === 200, 1000);
      expect(Date.now() - sent).to.be.at.least(55);
      expect(s.request(rid)?.participants).to.deep.equal([ANNA]);
      expect(s.messages(rid)[1]?.status).to.equal(200);
    });

    it('\\agent needs a support-group request id and the command as the whole tail', async () => {
      const { auth } = await endUser();
      const plain = `${s.projectId}-plain-id`;
      const tail = newRequestId(s.projectId);
      await post(auth, plain, { text: 'hello', request_status: 50 });
      await post(auth, plain, { text: '\\agent' });
      await post(auth, tail, { text: 'hello', request_status: 50 });
      await post(auth, tail, { text: '\\agent please' });
      await new Promise((r) => setTimeout(r, 40));
      expect(s.request(plain)?.status).to.equal(50);
      expect(s.request(tail)?.status).to.equal(50);
    });

    it('\\close closes with closed_by = sender; request.close carries messages + transcript; "Chat closed" follows', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'request.close');
      await subscribe(admin, 'message.create');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', request_status: 50 });
      await post(auth, rid, { text: '\\close', sender: 'bot_x', senderFullname: 'Bot X' });
      await s.waitFor(() => s.request(rid)?.status === 1000);
      expect(s.request(rid)).to.include({ closed_by: 'bot_x' });
      await s.waitFor(
        () =>
          target.ofEvent('request.close').length === 1 &&
          target.ofEvent('message.create').length === 3,
      );
      const closeEvt = target.ofEvent('request.close')[0]?.envelope.payload;
      expect(arr(closeEvt?.['messages'])).to.have.length(2);
      expect(String(closeEvt?.['transcript'])).to.match(
        /^\d\d\/\d\d\/\d{4}, \d\d:\d\d:\d\d John Smith: hello\r\n/,
      );
      expect(s.messages(rid)[2]).to.include({
        text: 'Chat closed',
        sender: 'system',
        senderFullname: 'Bot',
      });
      const closed = target
        .ofEvent('message.create')
        .map((r) => r.envelope.payload)
        .find((p) => p['text'] === 'Chat closed');
      expect(closed).to.include({ status: 0, createdBy: 'system' }); // 0 when emitted, 200 after the round trip
      expect(closed?.['attributes']).to.deep.equal({
        subtype: 'info/support',
        updateconversation: false,
        messagelabel: { key: 'CHAT_CLOSED' },
      });
    });

    it('agentReply / agentNote / agentClose are delivered like console messages; re-close repeats', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'message.create.request.channel.botframework');
      await subscribe(admin, 'request.close');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', channel: { name: 'botframework' } });
      const reply = s.agentReply(rid, 'Hi John, I am Anna');
      expect(reply).to.include({ sender: ANNA, senderFullname: 'Anna Rossi', status: 200 });
      expect(reply.channel).to.deep.equal({ name: 'chat21' });
      s.agentNote(rid, 'internal only');
      s.agentClose(rid);
      s.agentClose(rid);
      await s.waitFor(
        () => target.ofEvent('request.close').length === 2 && target.received.length >= 9,
      );
      const texts = target
        .ofEvent('message.create.request.channel.botframework')
        .map((r) => r.envelope.payload);
      const agentMsg = texts.find((p) => p['text'] === 'Hi John, I am Anna');
      expect(agentMsg).to.include({ sender: ANNA, status: 200 });
      expect(rec(agentMsg?.['attributes'])).to.include({ userFullname: 'Anna Rossi' });
      expect(
        rec(texts.find((p) => p['text'] === 'internal only')?.['attributes'])['subtype'],
      ).to.equal('private');
      expect(texts.filter((p) => p['text'] === 'Chat closed')).to.have.length(2);
      expect(s.request(rid)).to.include({ status: 1000, closed_by: ANNA });
      expect(s.request(rid)?.first_response_at).to.be.a('string');
    });

    it('PATCH attributes: shallow merge + request.update', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'request.update');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, {
        text: 'hello',
        request_status: 50,
        attributes: { a: 1, b: { c: 1 } },
      });
      const res = await call('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
        auth: admin,
        body: { b: { d: 2 }, e: 3 },
      });
      expect(rec(res.data)['attributes']).to.deep.equal({ a: 1, b: { d: 2 }, e: 3 });
      await s.waitFor(() => target.ofEvent('request.update').length === 1);
    });
  });

  describe('TiledeskStandIn — wire shapes match the fixtures (test/fixtures/tiledesk)', () => {
    it('replays the fixture scenario; payload and payload.request keys equal the fixtures', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'message.create.request.channel.botframework');
      await subscribe(admin, 'request.update');
      await subscribe(admin, 'request.close');
      const { auth } = await endUser(`${s.projectId}_teams_29f1c0de`);
      const rid = newRequestId(s.projectId);
      const bot = { sender: 'bot_65a1b2c3d4e5f6a7b8c9d0b0', senderFullname: 'Acme Assistant' };
      await post(auth, rid, {
        text: 'Hi, I need help with my order',
        channel: { name: 'botframework' },
        request_status: 50,
        departmentid: '65a1b2c3d4e5f6a7b8c9d0d1',
        attributes: { bf_channel: 'msteams' },
      });
      await post(auth, rid, {
        ...bot,
        text: "Sure! What's your order number?",
        channel: { name: 'botframework' },
      });
      await post(auth, rid, {
        ...bot,
        text: '\\agent',
        attributes: { subtype: 'info' },
        channel: { name: 'botframework' },
      });
      await s.waitFor(() => s.request(rid)?.status === 200);
      s.agentReply(rid, "Hi John, I'm Anna. Let me check order A-1042 for you.");
      s.agentClose(rid);
      // Deliveries are not ordered (§7): wait for each expected one, not for a count.
      const expectedTexts = [
        'Hi, I need help',
        'A new support request',
        'Anna added to group',
        'Hi John',
        'Chat closed',
      ];
      const delivered = () =>
        target
          .ofEvent('message.create.request.channel.botframework')
          .map((r) => String(r.envelope.payload['text']));
      await s.waitFor(
        () =>
          target.ofEvent('request.close').length === 1 &&
          expectedTexts.every((t) => delivered().some((d) => d.startsWith(t))),
      );

      const msgs = target
        .ofEvent('message.create.request.channel.botframework')
        .map((r) => r.envelope.payload);
      const byText = (t: string): Record<string, unknown> =>
        rec(msgs.find((p) => String(p['text']).startsWith(t)));
      const cases: Array<[string, Record<string, unknown>]> = [
        ['echo-own-user-message', byText('Hi, I need help')],
        ['info-touching-operator', byText('A new support request')],
        ['info-member-joined-group', byText('Anna added to group')],
        ['agent-message', byText('Hi John')],
        ['info-chat-closed', byText('Chat closed')],
      ];
      for (const [name, payload] of cases) {
        const expected = fixtureKeys(`message.create.request.channel.botframework--${name}`);
        expect(Object.keys(payload).sort(), name).to.deep.equal(expected.payload);
        // Ours also carries the `id`/`requester_id` virtuals (as the request.update/close fixtures
        // do) and, after close, `transcript`: a plain field of models/request.js that a request
        // loaded after close has, although the chat-closed fixture leaves it out.
        const extra = ['id', 'requester_id', 'transcript'];
        const ours = Object.keys(rec(payload['request'])).filter((k) => !extra.includes(k));
        expect(ours.sort(), `${name} request`).to.deep.equal(expected.request);
      }
      const update = target
        .ofEvent('request.update')
        .map((r) => r.envelope.payload)
        .find((p) => p['status'] === 200);
      expect(Object.keys(rec(update)).sort()).to.deep.equal(
        fixtureKeys('request.update--after-agent-handoff').payload,
      );
      const close = target.ofEvent('request.close')[0]?.envelope.payload;
      expect(Object.keys(rec(close)).sort()).to.deep.equal(fixtureKeys('request.close').payload);
    });
  });

  describe('TiledeskStandIn — subscriptions (§5.1) and delivery retries (§5.3)', () => {
    it('one secret for all subscriptions; duplicate returns the first of that event; GET hides the secret', async () => {
      const admin = await adminAuth();
      const res = await call('POST', `/${s.projectId}/subscriptions`, {
        auth: admin,
        body: { event: 'message.create', target: target.url('/a') },
      });
      const a = rec(res.data);
      expect(res.headers['x-hook-secret']).to.equal(a['secret']);
      const b = await subscribe(admin, 'message.create', target.url('/b'));
      const c = await subscribe(admin, 'request.close', target.url('/c'));
      expect(b['secret']).to.equal(a['secret']);
      expect(c['secret']).to.equal(a['secret']);
      expect(b['_id']).to.not.equal(a['_id']);
      const dup = await subscribe(admin, 'message.create', target.url('/b'));
      expect(dup['_id']).to.equal(a['_id']); // findOne by event: /a, not /b
      expect(s.subscriptions()).to.have.length(3);
      const list = arr(
        (await call('GET', `/${s.projectId}/subscriptions`, { auth: admin })).data,
      ).map(rec);
      expect(list).to.have.length(3);
      for (const x of list) expect(x).to.not.have.property('secret');
      const one = rec(
        (await call('GET', `/${s.projectId}/subscriptions/${String(b['_id'])}`, { auth: admin }))
          .data,
      );
      expect(one)
        .to.include({ target: target.url('/b') })
        .and.not.have.property('secret');
      const del = await call('DELETE', `/${s.projectId}/subscriptions/${String(b['_id'])}`, {
        auth: admin,
      });
      expect(rec(del.data)['_id']).to.equal(b['_id']);
      expect(s.subscriptions()).to.have.length(2);
      expect(
        (await call('POST', `/${s.projectId}/subscriptions`, { auth: admin, body: { event: 'x' } }))
          .status,
      ).to.equal(500);
    });

    it('retries a 503 from the target, then succeeds; 3 attempts max; no retry on 4xx', async () => {
      const admin = await adminAuth();
      await subscribe(admin, 'request.update');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', request_status: 50 });
      target.statuses.push(503);
      await call('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
        auth: admin,
        body: { n: 1 },
      });
      await s.waitFor(() => s.deliveries.length === 2);
      expect(s.deliveries.map((d) => [d.attempt, d.status])).to.deep.equal([
        [1, 503],
        [2, 200],
      ]);
      const [r1, r2] = target.received;
      expect(r2?.envelope).to.deep.equal(r1?.envelope); // same body re-sent

      target.statuses.push(500, 500, 500, 500);
      await call('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
        auth: admin,
        body: { n: 2 },
      });
      await s.waitFor(() => s.deliveries.length === 5);
      await new Promise((r) => setTimeout(r, 40));
      expect(s.deliveries.slice(2).map((d) => [d.attempt, d.status])).to.deep.equal([
        [1, 500],
        [2, 500],
        [3, 500],
      ]);

      target.statuses.length = 0;
      target.statuses.push(404);
      await call('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
        auth: admin,
        body: { n: 3 },
      });
      await s.waitFor(() => s.deliveries.length === 6);
      await new Promise((r) => setTimeout(r, 40));
      expect(s.deliveries.length).to.equal(6);
      expect(rec(rec(s.deliveries[5]?.body)['payload'])['attributes']).to.deep.include({ n: 3 });
    });

    it('network errors are retried and recorded as "error"; stop() cancels pending retries', async () => {
      await restart({ webhookRetryDelaysMs: [10, 10_000] });
      const admin = await adminAuth();
      await subscribe(admin, 'request.update', 'http://127.0.0.1:1/unreachable');
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      await post(auth, rid, { text: 'hello', request_status: 50 });
      await call('PATCH', `/${s.projectId}/requests/${rid}/attributes`, {
        auth: admin,
        body: { n: 1 },
      });
      await s.waitFor(() => s.deliveries.length === 2);
      expect(s.deliveries.map((d) => d.status)).to.deep.equal(['error', 'error']);
      const started = Date.now();
      await s.stop();
      expect(Date.now() - started).to.be.lessThan(500);
      expect(s.deliveries.length).to.equal(2);
    });
  });

  describe('TiledeskStandIn — project and departments (what the doctor reads)', () => {
    const BOT_DEP = '65a1b2c3d4e5f6a7b8c9dd01';

    it('GET /projects/{p}: the project for a member; 403 for a project the account is not in', async () => {
      const auth = await adminAuth();
      const res = await call('GET', `/projects/${s.projectId}`, { auth });
      expect(res.status).to.equal(200);
      expect(rec(res.data)).to.include({ _id: s.projectId, name: 'Stand-in project', status: 100 });
      const other = await call('GET', '/projects/65a1b2c3d4e5f6a7b8c9d0ff', { auth });
      expect(other.status).to.equal(403);
      expect(other.data).to.deep.equal({ success: false, msg: 'you dont belong to the project.' });
      expect((await call('GET', `/projects/${s.projectId}`)).status).to.equal(401);
    });

    it('GET /{p}/departments/{id}: no auth; default, known (with id_bot), unknown 404, invalid 500', async () => {
      await restart({
        departments: [{ _id: BOT_DEP, name: 'Bot desk', id_bot: 'b0b0b0b0b0b0b0b0b0b0b0b0' }],
      });
      const base = `/${s.projectId}/departments`;
      const def = rec((await call('GET', `${base}/default`)).data);
      expect(def).to.include({ default: true, id_project: s.projectId, hasBot: false });
      expect(def['id']).to.equal(def['_id']);
      const bot = rec((await call('GET', `${base}/${BOT_DEP}`)).data);
      expect(bot).to.include({
        name: 'Bot desk',
        id_bot: 'b0b0b0b0b0b0b0b0b0b0b0b0',
        hasBot: true,
      });
      const unknown = await call('GET', `${base}/65a1b2c3d4e5f6a7b8c9dd99`);
      expect([unknown.status, unknown.data]).to.deep.equal([
        404,
        { success: false, msg: 'Object not found.' },
      ]);
      expect((await call('GET', `${base}/nope`)).status).to.equal(500);
    });
  });

  describe('TiledeskStandIn — faults, holds and latency', () => {
    it('status 503 once: answered without processing, next call goes through', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      s.injectFault({ method: 'POST', path: /\/messages$/, status: 503 });
      const failed = await post(auth, rid, { text: 'hi', request_status: 50 });
      expect(failed.status).to.equal(503);
      expect(s.request(rid)).to.equal(undefined);
      expect((await post(auth, rid, { text: 'hi', request_status: 50 })).status).to.equal(200);
      expect(
        s.calls.filter((c) => c.path.endsWith('/messages')).map((c) => c.status),
      ).to.deep.equal([503, 200]);
    });

    it('429 carries Retry-After; times: 2 then clear', async () => {
      const { auth } = await endUser();
      s.injectFault({ status: 429, retryAfterSeconds: 7, times: Infinity, path: /messages/ });
      const r = await post(auth, newRequestId(s.projectId), { text: 'hi' });
      expect(r.status).to.equal(429);
      expect(r.headers['retry-after']).to.equal('7');
      expect((await post(auth, newRequestId(s.projectId), { text: 'hi' })).status).to.equal(429);
      s.clearFaults();
      expect(
        (await post(auth, newRequestId(s.projectId), { text: 'hi', request_status: 50 })).status,
      ).to.equal(200);
    });

    it('drop-response stores the message but the client gets a socket error; reset stores nothing', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      s.injectFault({ mode: 'drop-response', path: /messages/ });
      let error: unknown;
      try {
        await post(auth, rid, { text: 'dropped', request_status: 50 });
      } catch (e) {
        error = e;
      }
      expect(axios.isAxiosError(error) && error.response === undefined).to.equal(true);
      expect(s.messages(rid).map((m) => m.text)).to.deep.equal(['dropped']);

      const rid2 = newRequestId(s.projectId);
      s.injectFault({ mode: 'reset', path: /messages/ });
      let error2: unknown;
      try {
        await post(auth, rid2, { text: 'reset', request_status: 50 });
      } catch (e) {
        error2 = e;
      }
      expect(axios.isAxiosError(error2)).to.equal(true);
      expect(s.request(rid2)).to.equal(undefined);
    });

    it('hold: requests are processed only on release', async () => {
      const { auth } = await endUser();
      const rid = newRequestId(s.projectId);
      const hold = s.hold({ method: 'POST', path: /messages$/ });
      const pending = post(auth, rid, { text: 'held', request_status: 50 });
      await hold.waitForPending(1);
      expect(hold.pending).to.equal(1);
      expect(s.request(rid)).to.equal(undefined);
      hold.release();
      const res = await pending;
      expect(res.status).to.equal(200);
      expect(hold.pending).to.equal(0);
      expect(s.messages(rid)).to.have.length(1);
      expect((await post(auth, rid, { text: 'not held' })).status).to.equal(200);
    });

    it('latency delays every response', async () => {
      const { auth } = await endUser();
      s.setLatency(80);
      const res = await call('GET', `/${s.projectId}/requests/x/messages`, { auth });
      expect(res.status).to.equal(200);
      expect(res.ms).to.be.at.least(75);
      s.setLatency(0);
      expect(
        (await call('GET', `/${s.projectId}/requests/x/messages`, { auth })).ms,
      ).to.be.lessThan(75);
    });

    it('a subscription token without sender on a new request never gets an answer (§3.3)', async () => {
      const admin = await adminAuth();
      const sub = await subscribe(admin, 'message.create');
      const token = jwt.sign({ _id: sub['_id'] }, String(sub['secret']), {
        subject: 'subscription',
        audience: `https://tiledesk.com/subscriptions/${String(sub['_id'])}`,
      });
      let error: unknown;
      try {
        await axios.post(
          `${s.url}/${s.projectId}/requests/${newRequestId(s.projectId)}/messages`,
          { text: 'x' },
          {
            headers: { Authorization: 'JWT ' + token },
            timeout: 100,
          },
        );
      } catch (e) {
        error = e;
      }
      expect(axios.isAxiosError(error) && error.code).to.equal('ECONNABORTED');
      const ok = await call('PUT', `/${s.projectId}/requests/none/agent`, { auth: 'JWT ' + token });
      expect(ok.status).to.equal(404); // the subscription principal passes agent-level routes
    });
  });
});
