import http from 'node:http';
import https from 'node:https';
import axios, { AxiosHeaders, type AxiosInstance, type AxiosResponse, isAxiosError } from 'axios';
import { z } from 'zod';
import { TiledeskApiError } from '../errors';
import {
  type OutgoingMessage,
  SentMessage,
  SignInResponse,
  Subscription,
  TiledeskBot,
  TiledeskMessage,
  TiledeskRequest,
  UploadedFile,
  WaitingTime,
} from './wire';

/** The Tiledesk calls the rest of the package needs; tests may provide their own. */
export interface TiledeskApi {
  signIn(email: string, password: string): Promise<{ token: string; userId: string | undefined }>;
  signInWithCustomToken(jwt: string): Promise<void>;
  signInAnonymously(profile: {
    firstname?: string;
    email?: string;
  }): Promise<{ token: string; userId: string }>;
  sendMessage(token: string, requestId: string, message: OutgoingMessage): Promise<{ _id: string }>;
  getMessages(token: string, requestId: string): Promise<TiledeskMessage[]>;
  /** The request, or `undefined` when it does not exist (404). */
  getRequest(token: string, requestId: string): Promise<TiledeskRequest | undefined>;
  routeToAgent(token: string, requestId: string): Promise<TiledeskRequest>;
  closeRequest(token: string, requestId: string): Promise<void>;
  updateAttributes(
    token: string,
    requestId: string,
    attributes: Record<string, unknown>,
  ): Promise<void>;
  /** The project's average wait of the last 4 hours in ms (`GET publicanalytics/waiting/current`). */
  waitingTime?(token: string): Promise<number | undefined>;
  /** Sets the request's title (`first_text`, what agents see in lists): `PATCH …/requests/:id`. */
  setTitle?(token: string, requestId: string, title: string): Promise<void>;
  createSubscription(token: string, event: string, target: string): Promise<Subscription>;
  /**
   * Tiledesk bots (`/{p}/faq_kb`, admin): an `external` bot stands for this bot when
   * `TiledeskMirrorVisibility` is `bot`. Optional: without them only `hidden` works.
   */
  createBot?(token: string, bot: { name: string; url: string }): Promise<TiledeskBot>;
  /** The bot, or `undefined` when it does not exist (404). */
  getBot?(token: string, id: string): Promise<TiledeskBot | undefined>;
  updateBot?(token: string, id: string, fields: { name: string; url: string }): Promise<void>;
  deleteBot?(token: string, id: string): Promise<void>;
  listSubscriptions(token: string): Promise<Subscription[]>;
  deleteSubscription(token: string, id: string): Promise<void>;
  /**
   * The public URL of a user's profile photo, or `undefined` when they have none. Optional:
   * without it, agent messages carry no avatar.
   */
  userPhotoUrl?(userId: string): Promise<string | undefined>;
  /**
   * Uploads a chat file (`POST /{p}/files/chat`, multipart field `file`) with an end user's
   * token; resolves with Tiledesk's public download URL. Optional: without it, users' files
   * are not copied into Tiledesk (a note says so).
   */
  uploadFile?(token: string, file: UploadInput): Promise<{ filename: string; url: string }>;
}

/** One file to upload: its name (with an extension Tiledesk allows), MIME type and bytes. */
export interface UploadInput {
  name: string;
  contentType: string;
  data: Uint8Array;
}

export interface TiledeskClientOptions {
  apiUrl: string;
  projectId: string;
  timeoutMs: number;
  /** Injected HTTP client (tests, proxies); one is created with `timeoutMs` otherwise. */
  http?: AxiosInstance;
}

/**
 * Thin typed client over axios. Tokens are given per call (admin, end-user, custom JWT) and
 * sent as `Authorization: JWT <token>` (§1.2: `Bearer` is not accepted). Every failure becomes a
 * {@link TiledeskApiError} carrying method, path and status, never headers or tokens.
 */
export class TiledeskClient implements TiledeskApi {
  private readonly http: AxiosInstance;
  private readonly project: string;
  private readonly baseURL: string;
  private readonly timeoutMs: number;

  constructor(options: TiledeskClientOptions) {
    this.project = `/${options.projectId}`;
    this.baseURL = options.apiUrl;
    this.timeoutMs = options.timeoutMs;
    this.http = options.http ?? createHttp();
  }

  async signIn(email: string, password: string) {
    const data = await this.call('POST', '/auth/signin', SignInResponse, undefined, {
      email,
      password,
    });
    return { token: stripScheme(data.token), userId: data.user?._id ?? data.user?.id };
  }

  async signInWithCustomToken(jwt: string) {
    await this.call('POST', '/auth/signinWithCustomToken', SignInResponse, jwt, {});
  }

  async signInAnonymously(profile: { firstname?: string; email?: string }) {
    const data = await this.call('POST', '/auth/signinAnonymously', SignInResponse, undefined, {
      id_project: this.project.slice(1),
      ...profile,
    });
    const userId = data.user?._id ?? data.user?.id;
    if (!userId) throw this.badResponse('POST', '/auth/signinAnonymously', 'no user id');
    return { token: stripScheme(data.token), userId };
  }

  sendMessage(token: string, requestId: string, message: OutgoingMessage) {
    return this.call('POST', this.requestPath(requestId, '/messages'), SentMessage, token, message);
  }

  async getMessages(token: string, requestId: string) {
    const list = await this.call(
      'GET',
      this.requestPath(requestId, '/messages'),
      ArrayOfMessages,
      token,
    );
    return list;
  }

  async getRequest(token: string, requestId: string) {
    try {
      return await this.call('GET', this.requestPath(requestId, ''), TiledeskRequest, token);
    } catch (err) {
      if (err instanceof TiledeskApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  routeToAgent(token: string, requestId: string) {
    return this.call('PUT', this.requestPath(requestId, '/agent'), TiledeskRequest, token, {});
  }

  async closeRequest(token: string, requestId: string) {
    await this.call('PUT', this.requestPath(requestId, '/close'), undefined, token, {});
  }

  async updateAttributes(token: string, requestId: string, attributes: Record<string, unknown>) {
    await this.call(
      'PATCH',
      this.requestPath(requestId, '/attributes'),
      undefined,
      token,
      attributes,
    );
  }

  async waitingTime(token: string) {
    const rows = await this.call(
      'GET',
      `${this.project}/publicanalytics/waiting/current`,
      WaitingTime,
      token,
    );
    const avg = rows[0]?.waiting_time_avg;
    return typeof avg === 'number' && Number.isFinite(avg) ? avg : undefined;
  }

  async setTitle(token: string, requestId: string, title: string) {
    await this.call('PATCH', this.requestPath(requestId, ''), undefined, token, {
      first_text: title,
    });
  }

  createSubscription(token: string, event: string, target: string) {
    return this.call('POST', `${this.project}/subscriptions`, Subscription, token, {
      event,
      target,
    });
  }

  createBot(token: string, bot: { name: string; url: string }) {
    return this.call('POST', `${this.project}/faq_kb`, TiledeskBot, token, {
      ...bot,
      type: 'external',
      description: 'Stands for the Bot Framework bot (botbuilder-tiledesk)',
    });
  }

  /** The project's bots (`GET /{p}/faq_kb`; no secrets). */
  listBots(token: string) {
    return this.call('GET', `${this.project}/faq_kb`, TiledeskBot.array(), token);
  }

  async getBot(token: string, id: string) {
    try {
      return await this.call('GET', this.botPath(id), TiledeskBot, token);
    } catch (err) {
      if (err instanceof TiledeskApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async updateBot(token: string, id: string, fields: { name: string; url: string }) {
    await this.call('PUT', this.botPath(id), undefined, token, fields);
  }

  async deleteBot(token: string, id: string) {
    await this.call('DELETE', this.botPath(id), undefined, token);
  }

  private botPath(id: string): string {
    return `${this.project}/faq_kb/${encodeURIComponent(id)}`;
  }

  listSubscriptions(token: string) {
    return this.call('GET', `${this.project}/subscriptions`, ArrayOfSubscriptions, token);
  }

  async deleteSubscription(token: string, id: string) {
    await this.call(
      'DELETE',
      `${this.project}/subscriptions/${encodeURIComponent(id)}`,
      undefined,
      token,
    );
  }

  /**
   * The project (`GET /projects/{id}`, agent role or more). 403 when the account is not a member
   * (or the project does not exist), 404 when it is not active (tiledesk-api.md §1.1).
   */
  getProject(token: string) {
    return this.call('GET', `/projects${this.project}`, Project, token);
  }

  /**
   * A department by id, or the project's default one for `'default'`; `undefined` when there is
   * none (404, or `null` for a missing default). The route needs no token; note that the server
   * looks a department up by id in any project: check `id_project`.
   */
  async getDepartment(departmentId: string) {
    try {
      const path = `${this.project}/departments/${encodeURIComponent(departmentId)}`;
      return (await this.call('GET', path, Department.nullable(), undefined)) ?? undefined;
    } catch (err) {
      if (err instanceof TiledeskApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Tiledesk keeps a profile photo at a fixed path,
   * `uploads/users/<id>/images/thumbnails_200_200-photo.jpg`, and serves it without a token;
   * nothing else tells whether there is one, so this asks for it: 404 → none. Where: 2.19.16
   * stores an upload (`POST /{p}/files/users/photo`, `S:routes/filesp.js#L303-371`) in the
   * `files` bucket, which `GET /files?path=` serves (falling back to the older `images` bucket,
   * `S:routes/files.js#L73-115`), while `GET /images?path=` reads only the `images` bucket
   * (`S:routes/images.js#L476`), where servers before the `files` bucket kept photos. So
   * `/files` first, `/images` when that finds nothing.
   */
  async userPhotoUrl(userId: string): Promise<string | undefined> {
    const file = encodeURIComponent(`uploads/users/${userId}/images/thumbnails_200_200-photo.jpg`);
    return (
      (await this.photoAt(`/files?path=${file}`)) ?? (await this.photoAt(`/images?path=${file}`))
    );
  }

  /**
   * `POST /{p}/files/chat` (`S:routes/filesp.js` `/chat`): multer with the server's size limit
   * (413 `LIMIT_FILE_SIZE`) and extension/MIME filter (403), then a content check (403); 201
   * `{message, filename}`. Anyone downloads it, without a token, at
   * `GET /files/download?path=<filename>` (`S:routes/files.js`) until it expires (30 days).
   */
  async uploadFile(token: string, file: UploadInput) {
    const form = new FormData();
    form.append('file', new Blob([file.data], { type: file.contentType }), file.name);
    const path = `${this.project}/files/chat`;
    const data = await this.call('POST', path, UploadedFile, token, form);
    return {
      filename: data.filename,
      url: `${this.baseURL}/files/download?path=${encodeURIComponent(data.filename)}`,
    };
  }

  /** The URL when `path` serves an image, `undefined` when it answers 404 or no image. */
  private async photoAt(path: string): Promise<string | undefined> {
    const route = path.slice(0, path.indexOf('?'));
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request({
        method: 'GET',
        baseURL: this.baseURL,
        url: path,
        timeout: this.timeoutMs,
        validateStatus: () => true,
        responseType: 'arraybuffer',
        maxContentLength: 5 * 1024 * 1024,
      });
    } catch (err) {
      throw toNetworkError('GET', route, err);
    }
    if (response.status === 404) return undefined;
    if (response.status < 200 || response.status >= 300) {
      throw httpError('GET', route, response);
    }
    const type = AxiosHeaders.from(response.headers as Record<string, string>).get('content-type');
    // A 200 that is not an image (a proxy's page) is no photo either.
    return typeof type === 'string' && type.startsWith('image/') ? this.baseURL + path : undefined;
  }

  private requestPath(requestId: string, suffix: string): string {
    return `${this.project}/requests/${encodeURIComponent(requestId)}${suffix}`;
  }

  private async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S | undefined,
    token: string | undefined,
    body?: unknown,
  ): Promise<z.output<S>> {
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request({
        method,
        baseURL: this.baseURL,
        url: path,
        timeout: this.timeoutMs,
        data: body,
        headers: token ? { Authorization: `JWT ${stripScheme(token)}` } : {},
        validateStatus: () => true,
        responseType: 'json',
      });
    } catch (err) {
      throw toNetworkError(method, path, err);
    }
    const { status } = response;
    if (status < 200 || status >= 300) throw httpError(method, path, response);
    if (!schema) return undefined as z.output<S>;
    const parsed = schema.safeParse(response.data);
    if (!parsed.success) {
      throw this.badResponse(method, path, parsed.error.issues[0]?.message ?? 'unexpected shape');
    }
    return parsed.data;
  }

  private badResponse(method: string, path: string, detail: string): TiledeskApiError {
    return new TiledeskApiError('TILEDESK_BAD_RESPONSE', {
      method,
      path,
      detail,
      retryable: false,
    });
  }
}

/**
 * The default HTTP client. Keep-alive: a new TCP (and TLS) connection per post would cost more
 * than the post itself. Without proxy variables in the environment, axios's per-request proxy
 * lookup (~35 µs a call in the profile) is switched off; with them, proxies work as usual.
 */
function createHttp(): AxiosInstance {
  const env = process.env;
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some((k) => env[k]);
  return axios.create({
    maxRedirects: 0,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 32 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 32 }),
    ...(proxied ? {} : { proxy: false as const }),
  });
}

const ArrayOfMessages = TiledeskMessage.array();
const Project = z.looseObject({ _id: z.string(), name: z.string().optional() });
/** `id_bot`: a Tiledesk bot answers the department's requests (it must have none, §8.3). */
const Department = z.looseObject({
  _id: z.string(),
  name: z.string().optional(),
  id_project: z.string().optional(),
  id_bot: z.string().nullable().optional(),
});
const ArrayOfSubscriptions = Subscription.array();

/** Tiledesk returns tokens as `"JWT eyJ…"`; we keep the bare token. */
function stripScheme(token: string): string {
  return token.replace(/^jwt\s+/i, '');
}

function toNetworkError(method: string, path: string, err: unknown): TiledeskApiError {
  const code = isAxiosError(err) ? err.code : undefined;
  const timeout = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
  // Only the error code is kept: an AxiosError's config holds the Authorization header.
  return new TiledeskApiError(timeout ? 'TILEDESK_TIMEOUT' : 'TILEDESK_NETWORK', {
    method,
    path,
    detail: timeout ? 'timed out' : (code ?? 'network error'),
    retryable: true,
  });
}

function httpError(
  method: string,
  path: string,
  response: AxiosResponse<unknown>,
): TiledeskApiError {
  const { status } = response;
  const retryable = status === 429 || status >= 500;
  return new TiledeskApiError(status === 401 ? 'TILEDESK_UNAUTHORIZED' : 'TILEDESK_HTTP', {
    method,
    path,
    status,
    detail: describeBody(response.data),
    retryable,
    retryAfterMs: parseRetryAfter(
      AxiosHeaders.from(response.headers as Record<string, string>).get('retry-after'),
    ),
  });
}

/** A short, secret-free summary of an error body (`msg`, `error`, `errors`), max 200 chars. */
function describeBody(data: unknown): string | undefined {
  if (typeof data === 'string') return data.slice(0, 200) || undefined;
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    const text = d['msg'] ?? d['error'] ?? d['err'] ?? d['errors'];
    if (text !== undefined) return JSON.stringify(text).slice(0, 200);
  }
  return undefined;
}

export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
