import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import sinon from 'sinon';
import { requestIdFor } from '../../lib/core/ids';
import { joinedAgentOf } from '../../lib/core/request-update';
import type { KnownHook } from '../../lib/core/subscriptions';
import type { KnownBot } from '../../lib/core/tiledesk-bot';
import { MAX_TOKEN_AGE_MS, WebhookReceiver, type WebhookRequest } from '../../lib/core/webhook';
import type { Logger } from '../../lib/logger';
import { SCENARIO } from '../support/tiledesk-fixtures';

/**
 * `TiledeskMirrorVisibility=bot` at the webhook: the notifications Tiledesk sends our Tiledesk
 * bot (checked, answered 200, never delivered) and `request.update` telling that a person joined.
 * Bodies are built as the real server builds them (S:services/BotSubscriptionNotifier.js).
 */

const P = SCENARIO.projectId;
const NOW = 1_795_701_700_000;
const BOT: KnownBot = {
  id: '65a1b2c3d4e5f6a7b8c9d0b7',
  secret: '3f1c2b7a-0d4e-4f5a-9b6c-7d8e9f0a1b2c',
  sender: 'bot_65a1b2c3d4e5f6a7b8c9d0b7',
};
const UPDATE_HOOK: KnownHook = {
  id: '65b0c1d2e3f4a5b6c7d8e9f2',
  event: 'request.update',
  secret: 'sub-secret-0000',
};
const CONV = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const PERSON = '65a1b2c3d4e5f6a7b8c9d0aa';

/** The bot document the server puts in `hook` (secret included) and signs (secret removed). */
function botNotification(o: { id?: string; secret?: string; project?: string; iatMs?: number }) {
  const id = o.id ?? BOT.id;
  const doc = {
    _id: id,
    type: 'external',
    name: 'Bot',
    url: 'https://bot/hook',
    id_project: o.project ?? P,
  };
  const token = jwt.sign(
    { ...doc, iat: Math.floor((o.iatMs ?? NOW) / 1000) },
    o.secret ?? BOT.secret,
    {
      issuer: 'https://tiledesk.com',
      subject: 'bot',
      audience: `https://tiledesk.com/bots/${id}`,
      jwtid: 'a1',
    },
  );
  return {
    timestamp: NOW,
    payload: {
      _id: 'm1',
      text: 'hello',
      sender: 'u1',
      id_project: P,
      recipient: requestIdFor(P, CONV, 1),
    },
    hook: { ...doc, secret: o.secret ?? BOT.secret },
    token,
  };
}

function requestUpdate(participants: string[], status = 200) {
  const payload = {
    request_id: requestIdFor(P, CONV, 1),
    id_project: P,
    status,
    participants,
    participantsAgents: participants.filter((x) => !x.startsWith('bot_')),
    participatingAgents: participants
      .filter((x) => !x.startsWith('bot_'))
      .map((_id) => ({ _id, firstname: 'Anna', lastname: 'Rossi' })),
  };
  const hook = { _id: UPDATE_HOOK.id, event: 'request.update', id_project: P };
  const token = jwt.sign({ ...hook, iat: Math.floor(NOW / 1000) }, UPDATE_HOOK.secret, {
    audience: `https://tiledesk.com/subscriptions/${UPDATE_HOOK.id}`,
    issuer: 'https://tiledesk.com',
    subject: 'subscription',
  });
  return { timestamp: NOW, payload, hook, token };
}

describe('bot visibility at the webhook', () => {
  let notify: sinon.SinonSpy;
  let joined: sinon.SinonSpy;
  let now: number;

  function receiver(bot: KnownBot | null = BOT): WebhookReceiver {
    const log = () => sinon.spy();
    const logger: Logger = { debug: log(), info: log(), warn: log(), error: log() };
    return new WebhookReceiver({
      delivery: { notify, joined },
      projectId: P,
      logger,
      known: () => Promise.resolve([UPDATE_HOOK]),
      ownSenders: new Set([BOT.sender]),
      clock: { now: () => now, setTimeout: () => ({}), clearTimeout: () => undefined },
      ...(bot && { bot: () => Promise.resolve(bot) }),
    });
  }

  const fromBotNotifier = (body: unknown): WebhookRequest => ({
    headers: { 'content-type': 'application/json', 'user-agent': 'tiledesk-bot' },
    body: JSON.stringify(body),
  });

  beforeEach(() => {
    now = NOW;
    notify = sinon.spy();
    joined = sinon.spy();
  });

  it('accepts our Tiledesk bot’s notification, counts it, and delivers nothing', async () => {
    const r = receiver();
    const res = await r.handle(fromBotNotifier(botNotification({})));
    expect(res).to.deep.equal({ status: 200, body: { ok: true } });
    expect(r.snapshot().ignored).to.deep.equal({ bot_notification: 1 });
    expect(r.snapshot().accepted).to.equal(1);
    expect(notify.called || joined.called).to.equal(false);
  });

  const refusals: [string, () => unknown, number, string][] = [
    ['another secret', () => botNotification({ secret: 'guessed' }), 403, 'token'],
    ['another bot', () => botNotification({ id: '65a1b2c3d4e5f6a7b8c9d0b8' }), 403, 'hook'],
    [
      'another project',
      () => botNotification({ project: '65a1b2c3d4e5f6a7b8c9d0ff' }),
      403,
      'project',
    ],
    ['an old token', () => botNotification({ iatMs: NOW - MAX_TOKEN_AGE_MS - 1000 }), 403, 'stale'],
    ['no token', () => ({ ...botNotification({}), token: undefined }), 403, 'token'],
    ['no hook', () => ({ payload: {} }), 400, 'envelope'],
  ];
  for (const [name, body, status, reason] of refusals) {
    it(`refuses a bot notification with ${name} (${status} ${reason})`, async () => {
      const r = receiver();
      const res = await r.handle(fromBotNotifier(body()));
      expect(res.status).to.equal(status);
      expect(r.snapshot().refused).to.deep.equal({ [reason]: 1 });
      expect(notify.called).to.equal(false);
    });
  }

  it('refuses such a POST when the visibility is hidden (no Tiledesk bot of ours)', async () => {
    const r = receiver(null);
    const res = await r.handle(fromBotNotifier(botNotification({})));
    expect(res.status).to.equal(401);
    expect(r.snapshot().refused).to.deep.equal({ secret: 1 });
  });

  it('tells delivery who joined on request.update, with their name', async () => {
    const r = receiver();
    const body = requestUpdate([BOT.sender, PERSON]);
    const res = await r.handle({
      headers: { 'content-type': 'application/json', 'x-hook-secret': UPDATE_HOOK.secret },
      body: JSON.stringify(body),
    });
    expect(res.status).to.equal(200);
    expect(joined.args).to.deep.equal([[CONV, 1, { id: PERSON, name: 'Anna Rossi' }]]);
    expect(notify.called).to.equal(false);
  });

  it('ignores request.update when only the bot serves the request', async () => {
    const r = receiver();
    const res = await r.handle({
      headers: { 'content-type': 'application/json', 'x-hook-secret': UPDATE_HOOK.secret },
      body: JSON.stringify(requestUpdate([BOT.sender])),
    });
    expect(res.status).to.equal(200);
    expect(joined.called).to.equal(false);
  });
});

describe('joinedAgentOf (request.update payloads)', () => {
  const table: [string, Record<string, unknown>, string | undefined][] = [
    ['the bot alone', { participantsAgents: [], participants: [BOT.sender] }, undefined],
    ['JOIN TO CHAT, bot still there', { participantsAgents: [PERSON] }, PERSON],
    ['queued with nobody', { status: 100, participantsAgents: [] }, undefined],
    ['closed', { status: 1000, participantsAgents: [PERSON] }, undefined],
    ['unrouted (hidden)', { status: 50, participantsAgents: [PERSON] }, undefined],
    ['a bot id among agents', { participantsAgents: ['bot_x', 'system'] }, undefined],
    [
      'two people: the last came last',
      { participantsAgents: [PERSON, '65a1b2c3d4e5f6a7b8c9d0ab'] },
      '65a1b2c3d4e5f6a7b8c9d0ab',
    ],
  ];
  for (const [name, fields, expected] of table) {
    it(name, () => {
      const got = joinedAgentOf({ request_id: 'r', status: 200, ...fields });
      expect(got?.agent.id).to.equal(expected);
    });
  }
  it('is undefined without a request id or status', () => {
    expect(joinedAgentOf({ participantsAgents: [PERSON] })).to.equal(undefined);
  });
});
