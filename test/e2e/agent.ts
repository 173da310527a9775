/**
 * A human agent and the bot's admin, acting on Tiledesk through its REST API only (what the agent
 * console and the dashboard do), each with its own token.
 */
import { field, Rest } from './rest';
import type { E2eAccount, E2eTarget } from './target';

/** The fields of a Tiledesk message the suite looks at. */
export interface WireMessage {
  _id: string;
  sender: string;
  senderFullname?: string;
  recipient: string;
  text?: string;
  type?: string;
  status?: number;
  attributes?: Record<string, unknown>;
  metadata?: unknown;
  channel?: { name?: string };
  createdAt: string;
}

/** The fields of a Tiledesk request the suite looks at. */
export interface WireRequest {
  request_id: string;
  status: number;
  participants: string[];
  first_text?: string;
  channel?: { name?: string };
  attributes?: Record<string, unknown>;
  requester?: { uuid_user?: string; id_user?: string; role?: string };
  lead?: { lead_id?: string; fullname?: string };
  department?: { _id?: string };
}

export class TiledeskActor {
  readonly rest: Rest;
  private token: string | undefined;
  private id: string | undefined;
  private fullName = '';

  constructor(
    private readonly target: E2eTarget,
    private readonly account: E2eAccount,
  ) {
    this.rest = new Rest(target.apiUrl);
  }

  /** Signs in (once) and learns its user id. */
  async signIn(): Promise<this> {
    if (this.token) return this;
    const res = await this.rest.ok('POST', '/auth/signin', { body: this.account });
    this.token = field(res, 'token').replace(/^JWT\s+/i, '');
    this.id = field(res['user'], '_id');
    const user = res['user'] as { firstname?: string; lastname?: string };
    this.fullName = [user.firstname, user.lastname].filter(Boolean).join(' ');
    return this;
  }

  /** "Firstname Lastname", as Tiledesk spells it (and the user is told it). */
  get name(): string {
    if (!this.id) throw new Error('not signed in');
    return this.fullName;
  }

  get userId(): string {
    if (!this.id) throw new Error('not signed in');
    return this.id;
  }

  private get auth(): { token: string } {
    if (!this.token) throw new Error('not signed in');
    return { token: this.token };
  }

  private path(suffix: string): string {
    return `/${this.target.projectId}${suffix}`;
  }

  private requestPath(requestId: string, suffix = ''): string {
    return this.path(`/requests/${encodeURIComponent(requestId)}${suffix}`);
  }

  /** The dashboard's availability switch (`PUT /{p}/project_users/`, its own project user). */
  async setAvailable(available: boolean): Promise<void> {
    await this.rest.ok('PUT', this.path('/project_users/'), {
      ...this.auth,
      body: { user_available: available },
    });
  }

  /** The request, or undefined when Tiledesk has none with that id. */
  async request(requestId: string): Promise<WireRequest | undefined> {
    const res = await this.rest.call('GET', this.requestPath(requestId), this.auth);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET request answered ${res.status}`);
    return res.body as WireRequest;
  }

  /** The request's messages in Tiledesk's order (createdAt); [] when it does not exist. */
  async messages(requestId: string): Promise<WireMessage[]> {
    const res = await this.rest.call('GET', this.requestPath(requestId, '/messages'), this.auth);
    if (res.status !== 200) throw new Error(`GET messages answered ${res.status}`);
    return res.body as WireMessage[];
  }

  /**
   * Sends a message as the agent console does: naming its sender, which is what lets Tiledesk
   * record the agent's first response time (and so the project's average wait).
   */
  async send(requestId: string, message: Record<string, unknown>): Promise<WireMessage> {
    return this.rest.ok<WireMessage>('POST', this.requestPath(requestId, '/messages'), {
      ...this.auth,
      body: { sender: this.userId, ...message },
    });
  }

  /** What the agent console reports while the agent types (`POST /{p}/events typing.start`). */
  async typing(requestId: string): Promise<void> {
    await this.rest.ok('POST', this.path('/events'), {
      ...this.auth,
      body: {
        name: 'typing.start',
        attributes: { recipient_id: requestId, writer_id: this.userId, data: { name: this.name } },
      },
    });
  }

  /**
   * The public URL of this user's Tiledesk photo, or undefined when they have none: where
   * Tiledesk serves it without a token (`/files?path=`, then the older `/images?path=`).
   */
  async photoUrl(): Promise<string | undefined> {
    const file = encodeURIComponent(
      `uploads/users/${this.userId}/images/thumbnails_200_200-photo.jpg`,
    );
    for (const route of ['/files', '/images']) {
      const res = await this.rest.call('GET', `${route}?path=${file}`);
      if (res.status === 200 && res.body === '<image>')
        return `${this.rest.baseUrl}${route}?path=${file}`;
    }
    return undefined;
  }

  /** The project's average wait of the last 4 hours in ms, as the queued notice reads it. */
  async averageWaitMs(): Promise<number | undefined> {
    const rows = await this.rest.ok<{ waiting_time_avg?: unknown }[]>(
      'GET',
      this.path('/publicanalytics/waiting/current'),
    );
    const avg = rows[0]?.waiting_time_avg;
    return typeof avg === 'number' ? avg : undefined;
  }

  say(requestId: string, text: string): Promise<WireMessage> {
    return this.send(requestId, { text });
  }

  /** A private note: agents only (`attributes.subtype: 'private'`). */
  note(requestId: string, text: string): Promise<WireMessage> {
    return this.send(requestId, { text, attributes: { subtype: 'private' } });
  }

  /** JOIN in the dashboard: the agent adds itself to a (queued) request. */
  async join(requestId: string): Promise<WireRequest> {
    return this.rest.ok<WireRequest>('POST', this.requestPath(requestId, '/participants'), {
      ...this.auth,
      body: { member: this.userId },
    });
  }

  /** The open requests this account may see: what the dashboard's lists and monitor ask for. */
  async listedRequests(): Promise<WireRequest[]> {
    const body = await this.rest.ok<{ requests: WireRequest[] }>(
      'GET',
      this.path('/requests'),
      this.auth,
    );
    return body.requests;
  }

  /** The project's Tiledesk bots (`faq_kb`, no secrets). */
  async bots(): Promise<{ _id: string; name?: string; type?: string; url?: string }[]> {
    return this.rest.ok('GET', this.path('/faq_kb'), this.auth);
  }

  async deleteBot(id: string): Promise<void> {
    await this.rest.ok('DELETE', this.path(`/faq_kb/${encodeURIComponent(id)}`), this.auth);
  }

  async close(requestId: string): Promise<void> {
    await this.rest.ok('PUT', this.requestPath(requestId, '/close'), { ...this.auth, body: {} });
  }

  async subscriptions(): Promise<{ _id: string; event: string; target: string }[]> {
    return this.rest.ok('GET', this.path('/subscriptions'), this.auth);
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.rest.ok('DELETE', this.path(`/subscriptions/${encodeURIComponent(id)}`), this.auth);
  }
}

/** Polls `check` (every 100 ms) until it returns a value other than undefined, or fails. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
