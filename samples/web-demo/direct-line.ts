import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { isRecord, readJson, sendJson, type Route } from './http-util';

/**
 * A small local Direct Line v3 service, enough for stock Web Chat (polling, no WebSocket), and the
 * Bot Connector routes the bot posts its replies to: one list of activities per conversation is
 * what Web Chat reads with `?watermark=` and what both sides append to.
 *
 * Like the real service it stamps each activity with an id and a server timestamp (strictly
 * increasing, so Web Chat's order is the order of arrival), and it does not repair anything: a bot
 * reply whose `replyToId` names an activity this channel never carried is kept as it is (Web Chat
 * then holds it for 5 s) and listed in `strayReplies`, so a test can tell.
 */

/** An activity as it travels through the service (the Bot Framework schema, loosely). */
export type DemoActivity = Record<string, unknown> & {
  id: string;
  type: string;
  timestamp: string;
};

export interface StrayReply {
  conversationId: string;
  replyToId: string;
  text: string | undefined;
}

interface Conversation {
  id: string;
  user: { id: string; name: string };
  activities: DemoActivity[];
}

export interface DirectLineOptions {
  /** Where the bot takes channel activities: `http://127.0.0.1:<port>/api/messages`. */
  botEndpoint: string;
  /** This service's own origin, given to the bot as `serviceUrl` (it posts replies there). */
  serviceUrl: () => string;
  log?: (line: string) => void;
}

const CONVERSATION = /^\/v3\/directline\/conversations\/([^/]+)\/activities$/;
const CONNECTOR = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/;
const BOT = { id: 'demo-bot', name: 'Echo Bot', role: 'bot' };

export class DirectLine {
  private readonly conversations = new Map<string, Conversation>();
  /** Dummy tokens: each one names the user it was handed to. */
  private readonly tokens = new Map<string, { id: string; name: string }>();
  private readonly stray: StrayReply[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastStamp = 0;
  private seq = 0;

  constructor(private readonly options: DirectLineOptions) {}

  /** A token for a new user, as a bot's own token endpoint would hand out. */
  issueToken(name: string): { token: string; userId: string } {
    const token = randomBytes(12).toString('hex');
    const userId = `user-${randomBytes(6).toString('hex')}`;
    this.tokens.set(token, { id: userId, name });
    return { token, userId };
  }

  /** Everything Web Chat can read from a conversation, in order. */
  activities(conversationId: string): DemoActivity[] {
    return [...(this.conversations.get(conversationId)?.activities ?? [])];
  }

  conversationIds(): string[] {
    return [...this.conversations.keys()];
  }

  get strayReplies(): readonly StrayReply[] {
    return this.stray;
  }

  /** Waits for the conversationUpdates and user messages still being delivered to the bot. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  readonly route: Route = async (req, res, path) => {
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/v3/directline/conversations') {
      this.startConversation(req, res);
      return true;
    }
    if (method === 'POST' && path === '/v3/directline/tokens/refresh') {
      sendJson(res, 200, { token: bearer(req), expires_in: 3600 });
      return true;
    }
    const fromUser = CONVERSATION.exec(path);
    if (fromUser) {
      const conversation = this.conversations.get(decodeURIComponent(fromUser[1] ?? ''));
      if (!conversation) sendJson(res, 404, { error: { code: 'BadArgument' } });
      else if (method === 'GET') this.poll(conversation, req, res);
      else if (method === 'POST') await this.fromUser(conversation, req, res);
      else return false;
      return true;
    }
    const fromBot = CONNECTOR.exec(path);
    if (fromBot) {
      const conversation = this.conversations.get(decodeURIComponent(fromBot[1] ?? ''));
      const activityId = fromBot[2] === undefined ? undefined : decodeURIComponent(fromBot[2]);
      if (!conversation) sendJson(res, 404, { error: { code: 'ConversationNotFound' } });
      else await this.fromBot(conversation, activityId, req, res);
      return true;
    }
    return false;
  };

  private startConversation(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = bearer(req);
    const user = token === undefined ? undefined : this.tokens.get(token);
    if (!user) {
      sendJson(res, 403, { error: { code: 'TokenInvalid', message: 'unknown token' } });
      return;
    }
    const id = `demo-${randomBytes(6).toString('hex')}`;
    const conversation: Conversation = { id, user, activities: [] };
    this.conversations.set(id, conversation);
    sendJson(res, 201, { conversationId: id, token, expires_in: 3600 });
    // As the real service does: the bot learns that the user joined (and greets them). The
    // update joins the stream too, so the greeting's replyToId names an activity Web Chat has.
    const joined = this.stamp(conversation, {
      type: 'conversationUpdate',
      membersAdded: [{ id: user.id, name: user.name }],
      from: { id: user.id, name: user.name, role: 'user' },
    });
    conversation.activities.push(joined);
    this.track(this.toBot(conversation, joined));
  }

  private poll(conv: Conversation, req: http.IncomingMessage, res: http.ServerResponse): void {
    const watermark = Number(
      new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('watermark'),
    );
    const from = Number.isInteger(watermark) && watermark > 0 ? watermark : 0;
    sendJson(res, 200, {
      activities: conv.activities.slice(from),
      watermark: String(conv.activities.length),
    });
  }

  /** Web Chat posts a user activity: it joins the list first, then goes to the bot. */
  private async fromUser(
    conv: Conversation,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const body = await readJson(req);
    const from = isRecord(body['from']) ? body['from'] : {};
    const activity = this.stamp(conv, {
      ...body,
      from: { ...from, id: conv.user.id, name: conv.user.name, role: 'user' },
    });
    conv.activities.push(activity);
    const delivered = this.toBot(conv, activity);
    this.track(delivered);
    // The real service answers once the bot has taken the activity.
    const status = await delivered;
    if (status >= 200 && status < 300) sendJson(res, 200, { id: activity.id });
    else sendJson(res, 502, { error: { code: 'BotError', message: `bot answered ${status}` } });
  }

  /** The bot sends, replies to, updates or deletes an activity (Bot Connector v3). */
  private async fromBot(
    conv: Conversation,
    activityId: string | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'DELETE') {
      // Polling clients are never told about deletions; the transcript keeps the activity.
      res.writeHead(200).end();
      return;
    }
    const body = await readJson(req);
    if (method === 'PUT' && activityId !== undefined) {
      const index = conv.activities.findIndex((a) => a.id === activityId);
      if (index >= 0)
        conv.activities[index] = { ...conv.activities[index], ...body } as DemoActivity;
      sendJson(res, 200, { id: activityId });
      return;
    }
    if (method !== 'POST') {
      sendJson(res, 405, { error: { code: 'MethodNotAllowed' } });
      return;
    }
    const replyToId = typeof body['replyToId'] === 'string' ? body['replyToId'] : activityId;
    if (replyToId && !conv.activities.some((a) => a.id === replyToId)) {
      const text = typeof body['text'] === 'string' ? body['text'] : undefined;
      this.stray.push({ conversationId: conv.id, replyToId, text });
      this.options.log?.(`[direct-line] reply to unknown activity ${replyToId}: ${text ?? ''}`);
    }
    const activity = this.stamp(conv, {
      ...body,
      from: isRecord(body['from']) ? body['from'] : BOT,
      ...(replyToId ? { replyToId } : {}),
    });
    conv.activities.push(activity);
    sendJson(res, 200, { id: activity.id });
  }

  /** Id, conversation, channel and a strictly increasing server timestamp. */
  private stamp(conv: Conversation, body: Record<string, unknown>): DemoActivity {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    this.seq += 1;
    return {
      ...body,
      type: typeof body['type'] === 'string' ? body['type'] : 'message',
      id: `${conv.id}|${String(this.seq).padStart(7, '0')}`,
      timestamp: new Date(this.lastStamp).toISOString(),
      channelId: 'webchat',
      conversation: { id: conv.id },
    };
  }

  /** POSTs an activity to the bot as the channel; resolves with the bot's HTTP status. */
  private async toBot(conv: Conversation, activity: Record<string, unknown>): Promise<number> {
    const body = {
      ...activity,
      serviceUrl: this.options.serviceUrl(),
      conversation: { id: conv.id },
      recipient: BOT,
      locale: typeof activity['locale'] === 'string' ? activity['locale'] : 'en-US',
    };
    try {
      const res = await fetch(this.options.botEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      return res.status;
    } catch (err) {
      this.options.log?.(`[direct-line] bot unreachable: ${String(err)}`);
      return 502;
    }
  }

  private track(work: Promise<unknown>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

function bearer(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}
