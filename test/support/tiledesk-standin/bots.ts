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
import type { Store } from './model';
import type { StandInMessage, StandInRequest } from './types';
import { nowIso, objectId, str, TimerSet } from './util';

/** models/faq_kb.js as the real server returns it (defaults included; `secret` select:false). */
export interface StandInBot {
  webhook_enabled: boolean;
  type: string;
  language: string;
  public: boolean;
  certified: boolean;
  intentsEngine: string;
  tags: string[];
  score: number;
  trained: boolean;
  certifiedTags: string[];
  _id: string;
  name: string;
  slug: string;
  url: string | undefined;
  id_project: string;
  secret: string;
  trashed: boolean;
  createdBy: string;
  agents_available: boolean;
  /** Set by every `PUT` (routes/faq_kb.js: `update.modified = true`). */
  modified?: boolean;
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

export class BotRoutes {
  constructor(
    private readonly projectId: string,
    private readonly store: Store,
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
        bot.modified = true;
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

  /** faqService: the name in kebab case, unique in the project (`-1`, `-2`… when taken). */
  private slug(name: string): string {
    const base =
      name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'bot';
    const taken = new Set([...this.store.bots.values()].map((b) => b.slug));
    let slug = base;
    for (let i = 1; taken.has(slug); i++) slug = `${base}-${i}`;
    return slug;
  }

  private authorized(ctx: Ctx, role: string, types: boolean): Reply | undefined {
    return this.auth.authorize(ctx, role, types);
  }

  /** `faqService.create`: the saved document, its secret included (the only time it is shown). */
  private create(ctx: Ctx): Reply {
    const body = bodyRecord(ctx);
    const at = nowIso();
    const name = str(body['name']) ?? 'Bot';
    const bot: StandInBot = {
      webhook_enabled: false,
      type: str(body['type']) ?? 'internal',
      language: str(body['language']) ?? 'en',
      public: false,
      certified: false,
      intentsEngine: 'none',
      tags: [],
      score: 0,
      trained: true,
      certifiedTags: [],
      _id: objectId(),
      name,
      slug: this.slug(name),
      url: str(body['url']),
      id_project: this.projectId,
      secret: this.store.botSecret,
      trashed: false,
      createdBy: ctx.principal?.id ?? 'system',
      agents_available: false,
      createdAt: at,
      updatedAt: at,
      __v: 0,
    };
    this.store.bots.set(bot._id, bot);
    return json(200, bot);
  }
}

export function publicBot(bot: StandInBot): Omit<StandInBot, 'secret'> {
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
    private readonly store: Store,
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
    // BotSubscriptionNotifier: `delete payload.request.snapshot`.
    const { snapshot: _snapshot, ...withoutSnapshot } = request;
    const body = {
      timestamp: Date.now(),
      payload: { ...message, request: withoutSnapshot },
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
