/**
 * A loopback stand-in for a Bot Framework channel (the Bot Connector service), for bots that run on
 * botbuilder's `CloudAdapter` with an EMPTY `MicrosoftAppId` (anonymous: no Authorization header
 * in either direction).
 *
 * - Bot → channel: it records every activity the bot sends through the connector REST API
 *   (`/v3/conversations/:conversationId/activities[/:activityId]`, POST / PUT / DELETE) and
 *   answers like the real service (`200 {id}`).
 * - Channel → bot: `sendToBot()` / `user().say()` POST a user activity to the bot's
 *   `/api/messages` and measure how long the bot takes to answer the HTTP request (which, with
 *   CloudAdapter, is the length of the whole turn).
 * - `setLatency()` / `failNext()` make the channel slow or failing, to test the bot's behaviour
 *   when its replies cannot be delivered promptly.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Activity, ChannelAccount, ConversationAccount } from 'botbuilder';

/** Which connector operation the bot called. */
export type ChannelOperation =
  /** POST /v3/conversations/:conversationId/activities (sendToConversation) */
  | 'send'
  /** POST /v3/conversations/:conversationId/activities/:replyToId (replyToActivity) */
  | 'reply'
  /** PUT /v3/conversations/:conversationId/activities/:activityId (updateActivity) */
  | 'update'
  /** DELETE /v3/conversations/:conversationId/activities/:activityId (deleteActivity) */
  | 'delete';

/** One call the bot made to the channel. */
export interface ReceivedActivity {
  readonly kind: ChannelOperation;
  /** Decoded from the URL path. */
  readonly conversationId: string;
  /** For `reply`: the activity id in the URL path. */
  readonly replyToId?: string;
  /**
   * For `send`/`reply`: the id the channel generated and answered with.
   * For `update`/`delete`: the id of the targeted activity (from the URL path).
   */
  readonly id: string;
  /** The JSON body the bot sent (`{}` for DELETE). */
  readonly activity: Record<string, unknown>;
  /** `activity.type` when it is a string. */
  readonly type: string | undefined;
  /** `activity.text` when it is a string. */
  readonly text: string | undefined;
  /** `activity.name` when it is a string (events). */
  readonly name: string | undefined;
  /** The Authorization header the bot sent (undefined when anonymous, as expected here). */
  readonly authorization: string | undefined;
  /** `Date.now()` when the request arrived. */
  readonly at: number;
}

/** A call that the channel answered with an injected failure (see `failNext`). */
export interface RejectedRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: unknown;
  readonly at: number;
}

/**
 * A bot request as it arrived, before any latency or injected failure (so a test can tell what
 * a bot had already sent when it died, even if the channel answers it only later).
 */
export interface ArrivedRequest {
  readonly method: string;
  readonly conversationId: string | undefined;
  /** `text` of the JSON body when it has one. */
  readonly text: string | undefined;
  readonly at: number;
}

/** A request to a path this fake does not implement (answered 404). */
export interface UnhandledRequest {
  readonly method: string;
  readonly url: string;
  readonly at: number;
}

/** What `sendToBot` accepts: a loose activity; everything missing gets a sensible default. */
export type BotBoundActivity = Omit<
  Partial<Activity>,
  'from' | 'recipient' | 'conversation' | 'timestamp'
> & {
  from?: Partial<ChannelAccount>;
  recipient?: Partial<ChannelAccount>;
  conversation?: Partial<ConversationAccount>;
  timestamp?: string | Date;
};

export interface SendResult {
  /** HTTP status the bot answered with. */
  readonly status: number;
  /** Milliseconds from sending the request until the response ended. */
  readonly ms: number;
  /** Parsed JSON when the bot answered JSON, the raw text otherwise, undefined when empty. */
  readonly body: unknown;
  /** The activity as it was POSTed (with the defaults filled in). */
  readonly activity: Record<string, unknown>;
}

/** A user of one conversation; see `FakeChannel.user`. */
export interface FakeUser {
  readonly conversationId: string;
  readonly userId: string;
  readonly name: string;
  /** Sends a message activity with `text` from this user in this conversation. */
  say(botUrl: string, text: string, extra?: BotBoundActivity): Promise<SendResult>;
  /** Sends any activity (e.g. a conversationUpdate) from this user in this conversation. */
  send(botUrl: string, activity: BotBoundActivity): Promise<SendResult>;
}

interface Waiter {
  check(): boolean;
  fail(error: Error): void;
}

const ACTIVITIES_PATH = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?\/?$/;
const ATTACHMENT_PATH = /^\/v3\/attachments\/([^/]+)\/views\/[^/]+$/;

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function summarize(a: ReceivedActivity): string {
  const parts = [`${a.kind} conv=${a.conversationId}`, `type=${a.type ?? '?'}`];
  if (a.name !== undefined) parts.push(`name=${a.name}`);
  if (a.text !== undefined) parts.push(`text=${JSON.stringify(a.text)}`);
  if (a.replyToId !== undefined) parts.push(`replyToId=${a.replyToId}`);
  return parts.join(' ');
}

export class FakeChannel {
  private readonly httpServer: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly log: ReceivedActivity[] = [];
  private readonly rejectedLog: RejectedRequest[] = [];
  private readonly unhandledLog: UnhandledRequest[] = [];
  private readonly arrivalLog: ArrivedRequest[] = [];
  /** Log every bot request as it arrives in `arrivals` (off by default: it parses each body). */
  recordArrivals = false;
  /** Ids of every activity this channel sent to the bot (what a `replyToId` may point at). */
  readonly sentIds = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port: number | undefined;
  private latencyMs = 0;
  private failures: { status: number; remaining: number } | undefined;
  private readonly files = new Map<string, { data: Buffer; contentType: string; token?: string }>();

  constructor() {
    this.httpServer = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
        }
        res.end(JSON.stringify({ error: { code: 'FakeChannelError', message: String(error) } }));
      });
    });
  }

  /**
   * Activities of the bot that reply to an activity this channel never sent (Web Chat holds
   * such a reply for 5 s, then shows it above newer messages).
   */
  strayReplies(conversationId?: string): ReceivedActivity[] {
    return this.log.filter(
      (a) =>
        (conversationId === undefined || a.conversationId === conversationId) &&
        (a.kind === 'send' || a.kind === 'reply') &&
        [a.replyToId, a.activity['replyToId']].some(
          (id) => typeof id === 'string' && id !== '' && !this.sentIds.has(id),
        ),
    );
  }

  /** `http://127.0.0.1:<port>`; throws before `start()`. */
  get serviceUrl(): string {
    if (this.port === undefined) throw new Error('FakeChannel is not started');
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the channel accepted from the bot, in arrival order. */
  get received(): ReadonlyArray<ReceivedActivity> {
    return this.log;
  }

  /** Calls answered with an injected failure (not in `received`). */
  get rejected(): ReadonlyArray<RejectedRequest> {
    return this.rejectedLog;
  }

  /** Calls to paths this fake does not implement (answered 404). */
  get unhandled(): ReadonlyArray<UnhandledRequest> {
    return this.unhandledLog;
  }

  /** With `recordArrivals`: every bot request as it arrived (before latency and failures). */
  get arrivals(): ReadonlyArray<ArrivedRequest> {
    return this.arrivalLog;
  }

  async start(): Promise<void> {
    if (this.port !== undefined) return;
    await new Promise<void>((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(0, '127.0.0.1', () => {
        this.httpServer.off('error', reject);
        resolve();
      });
    });
    this.port = (this.httpServer.address() as AddressInfo).port;
  }

  /** Closes the server and every socket (both directions); pending waits reject. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of [...this.waiters]) waiter.fail(new Error('FakeChannel stopped'));
    this.agent.destroy();
    if (this.port === undefined) return;
    this.port = undefined;
    const closed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    this.httpServer.closeAllConnections();
    await closed;
  }

  /** Forgets what was received and turns latency and failure injection off. */
  reset(): void {
    this.log.length = 0;
    this.rejectedLog.length = 0;
    this.unhandledLog.length = 0;
    this.arrivalLog.length = 0;
    this.latencyMs = 0;
    this.failures = undefined;
  }

  /** Delay every answer to the bot by `ms` (0 turns it off). */
  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('latency must be a finite number >= 0');
    this.latencyMs = ms;
  }

  /**
   * Answer the next `times` bot requests with HTTP `status` (they are not recorded as received).
   * Note: botbuilder's connector client retries 5xx answers by itself (observed: one 500/502/503
   * costs ≈ 0.75 s, then the retry succeeds) but not 4xx (400, 429 surface as errors at once).
   */
  failNext(status: number, times = 1): void {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new Error('status must be an HTTP status code');
    }
    this.failures = times > 0 ? { status, remaining: times } : undefined;
  }

  activities(conversationId: string): ReceivedActivity[] {
    return this.log.filter((a) => a.conversationId === conversationId);
  }

  /** The `text` of the message activities sent/replied to a conversation, in order. */
  texts(conversationId: string): string[] {
    const texts: string[] = [];
    for (const a of this.log) {
      if (a.conversationId !== conversationId) continue;
      if (a.kind !== 'send' && a.kind !== 'reply') continue;
      if (a.type === 'message' && a.text !== undefined) texts.push(a.text);
    }
    return texts;
  }

  /** Resolves with the first received activity that matches, waiting up to `timeoutMs` for it. */
  waitFor(
    predicate: (a: ReceivedActivity) => boolean,
    timeoutMs = 2000,
  ): Promise<ReceivedActivity> {
    return this.waitUntil(
      () => this.log.find(predicate),
      timeoutMs,
      `an activity matching ${predicate.toString().slice(0, 200)}`,
    );
  }

  /** Resolves with `texts(conversationId)` once it has at least `n` entries. */
  waitForTexts(conversationId: string, n: number, timeoutMs = 2000): Promise<string[]> {
    return this.waitUntil(
      () => {
        const texts = this.texts(conversationId);
        return texts.length >= n ? texts : undefined;
      },
      timeoutMs,
      `${n} message text(s) in conversation ${conversationId}`,
    );
  }

  /**
   * POSTs an activity to the bot as this channel would, defaults filled in, and measures the time
   * until the bot's HTTP response has ended.
   */
  async sendToBot(botUrl: string, activity: BotBoundActivity = {}): Promise<SendResult> {
    const { from, recipient, conversation, timestamp, ...rest } = activity;
    const body: Record<string, unknown> = {
      type: 'message',
      id: randomUUID(),
      channelId: 'webchat',
      serviceUrl: this.serviceUrl,
      locale: 'en-US',
      ...rest,
      timestamp:
        timestamp instanceof Date
          ? timestamp.toISOString()
          : (timestamp ?? new Date().toISOString()),
      from: { id: 'user-1', name: 'Ada Lovelace', role: 'user', ...from },
      recipient: { id: 'bot', name: 'Bot', role: 'bot', ...recipient },
      conversation: { id: `conv-${randomUUID()}`, ...conversation },
    };
    this.sentIds.add(String(body['id']));
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const target = new URL(botUrl);
    const started = performance.now();
    return new Promise<SendResult>((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          method: 'POST',
          hostname: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text.length > 0 ? text : undefined;
            if (text.length > 0 && (res.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text) as unknown;
              } catch {
                // keep the raw text
              }
            }
            resolve({ status: res.statusCode ?? 0, ms, body: parsed, activity: body });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A user of `conversationId`, to send activities from. */
  user(conversationId: string, userId = 'user-1', name = 'Ada Lovelace'): FakeUser {
    const send = (botUrl: string, activity: BotBoundActivity): Promise<SendResult> =>
      this.sendToBot(botUrl, {
        ...activity,
        from: { id: userId, name, role: 'user', ...activity.from },
        conversation: { ...activity.conversation, id: conversationId },
      });
    return {
      conversationId,
      userId,
      name,
      send,
      say: (botUrl, text, extra = {}) => send(botUrl, { type: 'message', ...extra, text }),
    };
  }

  private waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const found = check();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const value = check();
          if (value === undefined) return false;
          done();
          resolve(value);
          return true;
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const lines = this.log.map((a) => `  - ${summarize(a)}`);
        const extra = this.rejectedLog.length
          ? `\n(and ${this.rejectedLog.length} request(s) rejected by failNext)`
          : '';
        waiter.fail(
          new Error(
            `FakeChannel: timed out after ${timeoutMs} ms waiting for ${what}; ` +
              `received ${this.log.length} activit${this.log.length === 1 ? 'y' : 'ies'}` +
              (lines.length ? `:\n${lines.join('\n')}` : '') +
              extra,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  private record(entry: ReceivedActivity): void {
    this.log.push(entry);
    for (const waiter of [...this.waiters]) waiter.check();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /**
   * A file a user sent, served as the Bot Connector does at
   * `GET /v3/attachments/<id>/views/original`; with `token`, only to `Authorization: Bearer
   * <token>` (401 otherwise). Returns its URL (on this channel's `serviceUrl`).
   */
  addAttachment(id: string, data: Buffer, contentType: string, token?: string): string {
    this.files.set(id, { data, contentType, ...(token === undefined ? {} : { token }) });
    return `${this.serviceUrl}/v3/attachments/${encodeURIComponent(id)}/views/original`;
  }

  /** The file is gone (an expired link): 404 from now on. */
  removeAttachment(id: string): void {
    this.files.delete(id);
  }

  /** Every attachment download, with whether it carried a bearer token. */
  readonly attachmentDownloads: { id: string; bearer: boolean }[] = [];

  private serveAttachment(req: http.IncomingMessage, res: http.ServerResponse, id: string): void {
    const authorization = req.headers.authorization;
    this.attachmentDownloads.push({ id, bearer: /^Bearer /.test(authorization ?? '') });
    const file = this.files.get(id);
    if (!file) return sendJson(res, 404, { error: { code: 'NotFound', message: 'Not found' } });
    if (file.token !== undefined && authorization !== `Bearer ${file.token}`) {
      return sendJson(res, 401, { message: 'Authorization has been denied for this request.' });
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.data.length });
    res.end(file.data);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const file = method === 'GET' ? ATTACHMENT_PATH.exec(url.split('?')[0]!) : null;
    if (file) return this.serveAttachment(req, res, decodeURIComponent(file[1]!));
    const raw = await readBody(req);
    const pathname = new URL(url, 'http://127.0.0.1').pathname;
    const match = ACTIVITIES_PATH.exec(pathname);
    const conversation = match?.[1];
    const activityId = match?.[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const kind: ChannelOperation | undefined =
      conversation === undefined
        ? undefined
        : method === 'POST'
          ? activityId === undefined
            ? 'send'
            : 'reply'
          : method === 'PUT' && activityId !== undefined
            ? 'update'
            : method === 'DELETE' && activityId !== undefined
              ? 'delete'
              : undefined;

    if (this.recordArrivals) {
      this.arrivalLog.push({
        method,
        conversationId: conversation === undefined ? undefined : decodeURIComponent(conversation),
        text: textOf(raw),
        at,
      });
    }
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);

    if (conversation === undefined || kind === undefined) {
      this.unhandledLog.push({ method, url, at });
      sendJson(res, 404, { error: { code: 'NotFound', message: `${method} ${url}` } });
      return;
    }

    if (this.failures !== undefined) {
      const { status } = this.failures;
      this.failures.remaining -= 1;
      if (this.failures.remaining <= 0) this.failures = undefined;
      const body = {
        error: { code: 'ServiceError', message: `Injected failure (HTTP ${status})` },
      };
      this.rejectedLog.push({ method, url, status, body, at });
      sendJson(res, status, body);
      return;
    }

    let activity: Record<string, unknown> = {};
    if (kind !== 'delete') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw) as unknown;
      } catch {
        parsed = undefined;
      }
      if (!isRecord(parsed)) {
        sendJson(res, 400, {
          error: { code: 'BadArgument', message: 'body must be a JSON object' },
        });
        return;
      }
      activity = parsed;
    }

    const id = kind === 'send' || kind === 'reply' ? randomUUID() : (activityId ?? '');
    const authorization = req.headers.authorization;
    this.record({
      kind,
      conversationId: decodeURIComponent(conversation),
      ...(kind === 'reply' ? { replyToId: activityId } : {}),
      id,
      activity,
      type: stringField(activity, 'type'),
      text: stringField(activity, 'text'),
      name: stringField(activity, 'name'),
      authorization,
      at,
    });
    if (kind === 'delete') {
      res.writeHead(200);
      res.end();
    } else {
      sendJson(res, 200, { id });
    }
  }
}

function textOf(raw: string): string | undefined {
  try {
    const body = JSON.parse(raw) as unknown;
    return isRecord(body) ? stringField(body, 'text') : undefined;
  } catch {
    return undefined;
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
