/**
 * Tiledesk bots (`/{p}/faq_kb`, `S:routes/faq_kb.js`) and the notification an external bot gets
 * for each end-user message of a request it serves (`S:event/botEvent.js`,
 * `S:services/BotSubscriptionNotifier.js`), as seen on the real 2.19.16 server (§10).
 */
import http from 'node:http';
import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import type { Auth } from './auth';
import type { Ctx, Reply } from './http-util';
import { bodyRecord, json } from './http-util';
import type { StandInMessage, StandInRequest } from './types';
import { nowIso, objectId, str, TimerSet } from './util';

export interface StandInBot {
  _id: string;
  name: string;
  type: string;
  url: string | undefined;
  id_project: string;
  secret: string;
  trashed: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  __v: number;
}

/** One notification as sent, for tests. */
export interface BotNotification {
  botId: string;
  url: string;
  status: number | 'error';
  body: {
    timestamp: number;
    payload: Record<string, unknown>;
    hook: Record<string, unknown>;
    token: string;
  };
}

const NOT_FOUND = (id: string, p: string) =>
  json(404, { success: false, msg: `Chatbot not found with id ${id} for project ${p}` });

export class BotStore {
  readonly bots = new Map<string, StandInBot>();
  /** `secret: {default: uuidv4()}` in models/faq_kb.js: evaluated once per server process. */
  readonly secret = randomUUID();
}

export class BotRoutes {
  constructor(
    private readonly projectId: string,
    private readonly store: BotStore,
    private readonly auth: Auth,
  ) {}

  /** segments: [p, 'faq_kb', id?] */
  handle(ctx: Ctx): Reply | undefined {
    const [, , id, extra] = ctx.segments;
    if (extra !== undefined) return undefined;
    if (id === undefined) {
      if (ctx.method === 'POST') return this.authorized(ctx, 'admin', false) ?? this.create(ctx);
      if (ctx.method === 'GET') {
        // hasRoleOrTypes('agent', ['bot','subscription']); the secret is `select: false`.
        return (
          this.authorized(ctx, 'agent', true) ??
          json(200, [...this.store.bots.values()].filter((b) => !b.trashed).map(publicBot))
        );
      }
      return undefined;
    }
    const bot = this.store.bots.get(id);
    switch (ctx.method) {
      case 'GET':
        return (
          this.authorized(ctx, 'admin', true) ??
          (bot ? json(200, publicBot(bot)) : NOT_FOUND(id, this.projectId))
        );
      case 'PUT': {
        const denied = this.authorized(ctx, 'admin', true);
        if (denied) return denied;
        if (!bot) return NOT_FOUND(id, this.projectId);
        const body = bodyRecord(ctx);
        for (const f of ['name', 'url', 'type'] as const) {
          const v = str(body[f]);
          if (v !== undefined) bot[f] = v;
        }
        if (body['trashed'] === true) bot.trashed = true;
        bot.updatedAt = nowIso();
        return json(200, publicBot(bot));
      }
      case 'DELETE': {
        const denied = this.authorized(ctx, 'admin', false);
        if (denied) return denied;
        if (!bot) return NOT_FOUND(id, this.projectId);
        this.store.bots.delete(id);
        return json(200, { success: true, message: `Chatbot with id ${id} deleted successfully` });
      }
      default:
        return undefined;
    }
  }

  private authorized(ctx: Ctx, role: string, types: boolean): Reply | undefined {
    return this.auth.authorize(ctx, role, types);
  }

  /** `faqService.create`: the saved document, its secret included (the only time it is shown). */
  private create(ctx: Ctx): Reply {
    const body = bodyRecord(ctx);
    const at = nowIso();
    const bot: StandInBot = {
      _id: objectId(),
      name: str(body['name']) ?? 'Bot',
      type: str(body['type']) ?? 'internal',
      url: str(body['url']),
      id_project: this.projectId,
      secret: this.store.secret,
      trashed: false,
      createdBy: ctx.principal?.id ?? 'system',
      createdAt: at,
      updatedAt: at,
      __v: 0,
    };
    this.store.bots.set(bot._id, bot);
    return json(200, bot);
  }
}

function publicBot(bot: StandInBot): Omit<StandInBot, 'secret'> {
  const { secret: _secret, ...rest } = bot;
  return rest;
}

/**
 * botEvent.js: on `message.create`, a message that is not from `system` (but `\start`), has no
 * `\agent`/`\close`, in a request with a `bot_<id>` participant, not sent by that bot, goes to an
 * external bot's `url` — one POST, no retry, the answer ignored.
 */
export class BotNotifier {
  readonly sent: BotNotification[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    private readonly store: BotStore,
    private readonly timers: TimerSet,
    private readonly origin: string,
  ) {}

  notify(message: StandInMessage, request: Record<string, unknown>, live: StandInRequest): void {
    const text = message.text ?? '';
    if (message.sender === 'system' && text !== '\\start' && text !== '/start') return;
    if (text.includes('\\agent') || text.includes('\\close')) return;
    const participant = live.participants.find((p) => p.startsWith('bot_'));
    if (!participant) return;
    const bot = this.store.bots.get(participant.slice(4));
    if (!bot || message.sender === participant || message.sender === bot._id) return;
    if (bot.type === 'internal' || !bot.url) return;
    const { secret, ...signed } = bot;
    const { description: _d, attributes: _a, ...claims } = signed as Record<string, unknown>;
    const token = jwt.sign(claims, secret, {
      issuer: 'https://tiledesk.com',
      subject: 'bot',
      audience: `https://tiledesk.com/bots/${bot._id}`,
      jwtid: randomUUID(),
    });
    const body = {
      timestamp: Date.now(),
      payload: { ...message, request },
      hook: { ...bot },
      token,
    };
    const url = bot.url;
    this.timers.soon(() => this.post(bot._id, url, body));
  }

  private post(botId: string, url: string, body: BotNotification['body']): void {
    if (this.timers.isStopped) return;
    const data = JSON.stringify(body);
    const done = (status: number | 'error') => this.sent.push({ botId, url, status, body });
    let req: http.ClientRequest;
    try {
      req = http.request(url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(data),
          'User-Agent': 'tiledesk-bot',
          Origin: this.origin,
        },
      });
    } catch {
      done('error');
      return;
    }
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 'error'));
    });
    req.on('error', () => done('error'));
    req.end(data);
  }

  stop(): void {
    this.agent.destroy();
  }
}
