/**
 * The contract sequence: the same requests, in the same order, to any Tiledesk (the real server
 * or the stand-in), recording each answer and the webhook deliveries it caused. It follows what
 * the package and the end-to-end suite do: sign-ins, subscriptions, a request created by its
 * first message with status 50, bot lines, the reason stored, routing, the agent's text, note,
 * image and buttons, the user during the handoff, close (twice), a closed request written to,
 * a new request, a queued one, and the errors met on the way.
 */
import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Rest, type CallOptions } from '../e2e/rest';
import type { E2eAccount } from '../e2e/target';
import { Normalizer } from './normalize';
import type { Received, WebhookReceiver } from './receiver';

export interface ContractBackend {
  name: 'real' | 'standin';
  apiUrl: string;
  projectId: string;
  admin: E2eAccount;
  agent: E2eAccount;
  projectSecret: string;
  /** How long without a new delivery counts as "this step's deliveries are all in". */
  quietMs: number;
}

export interface Observation {
  step: string;
  status: number;
  /** `content-type` without parameters, `www-authenticate`, `x-hook-secret` (normalised). */
  headers: Record<string, string>;
  body: unknown;
  deliveries: Received[];
}

export interface ScenarioResult {
  observations: Observation[];
  normalizer: Normalizer;
  /** The subscription secret as seen (to check `x-hook-secret` and the delivery token). */
  secret: string | undefined;
}

export const EVENTS = [
  'message.create.request.channel.botframework',
  'request.close',
  'request.update',
  'event.emit.typing.start',
] as const;

const BOT_SENDER = `bot_${'b0'.repeat(12)}`;
/** A 1×1 PNG (the server makes a 200×200 thumbnail of it). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * `expected`: deliveries per step seen on the other backend, so that a step waits for late ones
 * (the real server delivers a new request's first message ~150–300 ms after answering).
 */
export async function runScenario(
  b: ContractBackend,
  receiver: WebhookReceiver,
  target: string,
  expected: ReadonlyMap<string, number> = new Map(),
): Promise<ScenarioResult> {
  const rest = new Rest(b.apiUrl);
  const n = new Normalizer();
  const p = `/${b.projectId}`;
  const observations: Observation[] = [];
  let secret: string | undefined;
  n.role(b.projectId, 'project');
  n.role(target, 'target');
  n.role(b.admin.email, 'admin-email');
  n.role(b.agent.email, 'agent-email');

  const step = async (name: string, method: string, path: string, o: CallOptions = {}) => {
    const before = receiver.received.length;
    const res = await rest.call(method, path, o);
    await receiver.settle(before, expected.get(name) ?? 0, b.quietMs);
    const headers: Record<string, string> = {
      'content-type': (res.headers.get('content-type') ?? '').split(';')[0] ?? '',
    };
    const auth = res.headers.get('www-authenticate');
    if (auth) headers['www-authenticate'] = auth;
    const hookSecret = res.headers.get('x-hook-secret');
    if (hookSecret) headers['x-hook-secret'] = hookSecret;
    const observation: Observation = {
      step: name,
      status: res.status,
      headers,
      body: res.body,
      deliveries: receiver.received.slice(before),
    };
    observations.push(observation);
    return observation;
  };
  const bodyOf = (o: Observation) => (o.body ?? {}) as Record<string, unknown>;
  const tokenOf = (o: Observation) => {
    const t = bodyOf(o)['token'];
    if (typeof t !== 'string') throw new Error(`${o.step}: no token (HTTP ${o.status})`);
    return t.replace(/^JWT\s+/i, '');
  };

  // --- sign-in variants -----------------------------------------------------------------
  const adminIn = await step('signin: admin', 'POST', '/auth/signin', { body: b.admin });
  const admin = tokenOf(adminIn);
  n.role(String((bodyOf(adminIn)['user'] as { _id?: string })?._id), 'admin');
  await step('signin: wrong password', 'POST', '/auth/signin', {
    body: { email: b.admin.email, password: 'not-the-password' },
  });
  await step('signin: unknown user', 'POST', '/auth/signin', {
    body: { email: `nobody-${randomBytes(4).toString('hex')}@e2e.example.com`, password: 'x' },
  });
  await step('signin: not an email', 'POST', '/auth/signin', {
    body: { email: 'not-an-email', password: 'x' },
  });
  const agentIn = await step('signin: agent', 'POST', '/auth/signin', { body: b.agent });
  const agent = tokenOf(agentIn);
  const agentId = String((bodyOf(agentIn)['user'] as { _id?: string })?._id);
  n.role(agentId, 'agent');

  const userId = `${b.projectId}_webchat_${randomBytes(12).toString('hex')}`;
  n.role(userId, 'user');
  const aud = `https://tiledesk.com/projects/${b.projectId}`;
  const claims = { _id: userId, firstname: 'Ada', lastname: 'Lovelace', sub: 'userexternal', aud };
  const custom = jwt.sign(claims, b.projectSecret, { algorithm: 'HS256', expiresIn: 3600 });
  await step('custom token: sign in', 'POST', '/auth/signinWithCustomToken', {
    authorization: `JWT ${custom}`,
    body: {},
  });
  await step('custom token: wrong secret', 'POST', '/auth/signinWithCustomToken', {
    authorization: `JWT ${jwt.sign(claims, 'not-the-secret', { expiresIn: 3600 })}`,
    body: {},
  });
  const { aud: _aud, ...noAud } = claims;
  void _aud;
  await step('custom token: no aud', 'POST', '/auth/signinWithCustomToken', {
    authorization: `JWT ${jwt.sign(noAud, b.projectSecret, { expiresIn: 3600 })}`,
    body: {},
  });
  const anonIn = await step('anonymous: sign in', 'POST', '/auth/signinAnonymously', {
    body: { id_project: b.projectId, firstname: 'Grace' },
  });
  const anon = tokenOf(anonIn);
  n.role(String((bodyOf(anonIn)['user'] as { _id?: string })?._id), 'anon');
  await step('anonymous: no id_project', 'POST', '/auth/signinAnonymously', { body: {} });

  const main = `support-group-${b.projectId}-${randomBytes(16).toString('hex')}`;
  const next = `${main}-1`;
  const queued = `support-group-${b.projectId}-${randomBytes(16).toString('hex')}`;
  n.role(main, 'request:main');
  n.role(next, 'request:next');
  n.role(queued, 'request:queued');
  const served = `support-group-${b.projectId}-${randomBytes(16).toString('hex')}`;
  n.role(served, 'request:served');
  const req = (id: string, suffix = '') => `${p}/requests/${id}${suffix}`;

  await step('auth: Bearer scheme', 'GET', req(main, '/messages'), {
    authorization: `Bearer ${admin}`,
  });
  await step('auth: no token', 'GET', req(main, '/messages'));
  await step('project: unknown id', 'GET', `/${'0'.repeat(24)}/requests/${main}/messages`, {
    token: admin,
  });
  await step('project: /v3 prefix on a bare server', 'POST', '/v3/auth/signin', { body: b.admin });

  // --- subscriptions --------------------------------------------------------------------
  for (const event of EVENTS) {
    const o = await step(`subscribe: ${event}`, 'POST', `${p}/subscriptions`, {
      token: admin,
      body: { event, target },
    });
    const sub = bodyOf(o);
    n.role(String(sub['_id']), `sub:${event}`);
    if (typeof sub['secret'] === 'string') {
      secret = sub['secret'];
      n.role(secret, 'secret');
    }
  }
  await step('subscribe: duplicate', 'POST', `${p}/subscriptions`, {
    token: admin,
    body: { event: EVENTS[0], target },
  });
  await step('subscriptions: list', 'GET', `${p}/subscriptions`, { token: admin });
  await step('subscribe: as agent', 'POST', `${p}/subscriptions`, {
    token: agent,
    body: { event: 'request.create', target },
  });

  // The queued notice's average wait (GET publicanalytics/waiting/current, no auth needed).
  const waiting = `${p}/publicanalytics/waiting/current`;
  await step('waiting time: no request yet', 'GET', waiting, { token: admin });

  // --- a request created by its first message, kept unrouted (status 50) ------------------
  const channel = { name: 'botframework' };
  const mirrored = (text: string, extra: Record<string, unknown> = {}) => ({
    text,
    channel,
    request_status: 50,
    senderFullname: 'Ada Lovelace',
    language: 'en-US',
    attributes: { bf_mirror: true, bf_channel: 'webchat' },
    ...extra,
  });
  await step('first message: no text', 'POST', req(main, '/messages'), {
    token: custom,
    body: { ...mirrored(''), text: undefined },
  });
  await step('first message creates the request', 'POST', req(main, '/messages'), {
    token: custom,
    body: mirrored('Hello'),
  });
  await step('bot line (sender of our choosing)', 'POST', req(main, '/messages'), {
    token: custom,
    body: mirrored('Echo: Hello', { sender: BOT_SENDER, senderFullname: 'Echo Bot' }),
  });
  await step('second user message', 'POST', req(main, '/messages'), {
    token: custom,
    body: mirrored('I want a human'),
  });
  await step('request: still 50', 'GET', req(main), { token: admin });
  await step('messages: as the user', 'GET', req(main, '/messages'), { token: custom });

  // --- handoff: why, then routing --------------------------------------------------------
  await step('attributes: why', 'PATCH', req(main, '/attributes'), {
    token: admin,
    body: { bf_handoff: { trigger: 'keyword', keyword: 'human' } },
  });
  await step('title: PATCH the request', 'PATCH', req(main), {
    token: admin,
    body: { first_text: 'I want a human' },
  });
  await step('title: unknown request', 'PATCH', req(`${main}-404`), {
    token: admin,
    body: { first_text: 'x' },
  });
  await step('route: PUT agent', 'PUT', req(main, '/agent'), { token: admin, body: {} });
  // The agent's photo, as the user's side looks it up (no token), before and after an upload.
  const photo = encodeURIComponent(`uploads/users/${agentId}/images/thumbnails_200_200-photo.jpg`);
  await step('photo: none yet (/files)', 'GET', `/files?path=${photo}`);
  await step('photo: none yet (/images)', 'GET', `/images?path=${photo}`);
  const form = new FormData();
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'photo.png');
  await step('photo: the agent uploads one', 'POST', `${p}/files/users/photo`, {
    token: agent,
    form,
  });
  await step('photo: uploaded (/files)', 'GET', `/files?path=${photo}`);
  await step('photo: uploaded (/images)', 'GET', `/images?path=${photo}`);
  // An agent typing: the event the console's chat engine reports (here through REST).
  await step('typing: the agent types', 'POST', `${p}/events`, {
    token: agent,
    body: {
      name: 'typing.start',
      attributes: { recipient_id: main, writer_id: agentId, data: { name: 'Anna' } },
    },
  });
  await step('event: no name', 'POST', `${p}/events`, { token: agent, body: {} });
  await step('agent: text', 'POST', req(main, '/messages'), {
    token: agent,
    body: { text: "Hello, I'm Anna." },
  });
  await step('agent: private note', 'POST', req(main, '/messages'), {
    token: agent,
    body: { text: 'VIP customer', attributes: { subtype: 'private' } },
  });
  await step('agent: image', 'POST', req(main, '/messages'), {
    token: agent,
    body: {
      type: 'image',
      text: 'Your label',
      metadata: { src: 'http://127.0.0.1:9/label.png', width: 320, height: 200 },
    },
  });
  await step('agent: buttons', 'POST', req(main, '/messages'), {
    token: agent,
    body: {
      text: 'Did that help?',
      attributes: {
        attachment: {
          type: 'template',
          buttons: [
            { type: 'text', value: 'Yes' },
            { type: 'url', value: 'Docs', link: 'https://example.com/docs', target: 'blank' },
          ],
        },
      },
    },
  });
  await step('user during the handoff', 'POST', req(main, '/messages'), {
    token: custom,
    body: mirrored('Yes, thanks'),
  });
  await step('messages: as the admin', 'GET', req(main, '/messages'), { token: admin });

  // --- close ------------------------------------------------------------------------------
  await step('close: by the agent', 'PUT', req(main, '/close'), { token: agent, body: {} });
  await step('close: again', 'PUT', req(main, '/close'), { token: agent, body: {} });
  await step('closed request: a message', 'POST', req(main, '/messages'), {
    token: custom,
    body: mirrored('Anyone there?'),
  });
  await step('request: closed', 'GET', req(main), { token: admin });
  await step('request: unknown', 'GET', req(`${main}-404`), { token: admin });
  await step('close: unknown request', 'PUT', req(`${main}-404`, '/close'), {
    token: admin,
    body: {},
  });

  // --- the next request, opened by a hidden info line (a bot line cannot create one) -------
  await step('next request: opened by an info line', 'POST', req(next, '/messages'), {
    token: custom,
    body: mirrored('Conversation started', { attributes: { subtype: 'info', bf_mirror: true } }),
  });
  await step('next request: bot line', 'POST', req(next, '/messages'), {
    token: custom,
    body: mirrored("I'm back.", { sender: BOT_SENDER, senderFullname: 'Echo Bot' }),
  });

  // --- a request served by an external bot (TiledeskMirrorVisibility=bot) -------------------
  const adminId = String((bodyOf(adminIn)['user'] as { _id?: string })?._id);
  const created = await step('bot: create external', 'POST', `${p}/faq_kb`, {
    token: admin,
    body: { name: 'Echo Bot', type: 'external', url: target },
  });
  const botId = String(bodyOf(created)['_id']);
  n.role(botId, 'bot');
  await step('bot: list', 'GET', `${p}/faq_kb`, { token: admin });
  await step('bot: get', 'GET', `${p}/faq_kb/${botId}`, { token: admin });
  await step('bot: update', 'PUT', `${p}/faq_kb/${botId}`, {
    token: admin,
    body: { name: 'Echo Bot', url: target },
  });
  await step('bot: unknown', 'GET', `${p}/faq_kb/${'0'.repeat(24)}`, { token: admin });
  await step('bot-served: first message', 'POST', req(served, '/messages'), {
    token: custom,
    body: mirrored('Hi bot', { request_status: undefined, participants: [`bot_${botId}`] }),
  });
  await step('bot-served: bot line', 'POST', req(served, '/messages'), {
    token: custom,
    body: mirrored('Hello, I am the bot', { sender: `bot_${botId}`, senderFullname: 'Echo Bot' }),
  });
  await step('bot-served: the admin joins', 'POST', req(served, '/participants'), {
    token: admin,
    body: { member: adminId },
  });
  await step('bot-served: request', 'GET', req(served), { token: admin });
  await step('bot: delete', 'DELETE', `${p}/faq_kb/${botId}`, { token: admin });

  // --- nobody available: queued (100), then an agent joins --------------------------------
  await step('availability: agent off', 'PUT', `${p}/project_users/`, {
    token: agent,
    body: { user_available: false },
  });
  await step('anonymous: first message, routed at once, nobody', 'POST', req(queued, '/messages'), {
    token: anon,
    body: { text: 'Help!', channel },
  });
  await step('route: nobody available', 'PUT', req(queued, '/agent'), { token: admin, body: {} });
  await step('availability: agent on', 'PUT', `${p}/project_users/`, {
    token: agent,
    body: { user_available: true },
  });
  await step('agent: joins', 'POST', req(queued, '/participants'), {
    token: agent,
    body: { member: agentId },
  });
  await step('waiting time: requests without one', 'GET', waiting);
  await step('agent: reply naming its sender', 'POST', req(queued, '/messages'), {
    token: agent,
    body: { text: 'Sorry for the wait', sender: agentId },
  });
  await step('waiting time: after a reply', 'GET', waiting);
  await step('agent: closes the queued one', 'PUT', req(queued, '/close'), {
    token: agent,
    body: {},
  });
  return { observations, normalizer: n, secret };
}
