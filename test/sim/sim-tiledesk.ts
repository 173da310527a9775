import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { type TiledeskApi, TiledeskApiError } from '../../lib';
import type {
  OutgoingMessage,
  Subscription,
  TiledeskBot,
  TiledeskMessage,
  TiledeskRequest,
} from '../../lib/tiledesk/wire';
import type { VirtualClock } from './sim-clock';

/**
 * An in-memory Tiledesk for the simulation, with the shapes of tiledesk-api.md and of the
 * fixtures in test/fixtures/tiledesk (same message fields, same info messages, same webhook
 * envelope `{ timestamp, payload, hook, token }`), and its quirks where they matter: requests
 * are created by their first message (status from `request_status`, 50 here), one webhook
 * secret for every subscription, a second subscription for the same event and target answers
 * the first one, webhooks are retried 3 times and then dropped (done by the world).
 *
 * With `TiledeskMirrorVisibility=bot`: bots (`faq_kb`), requests created served by one (status
 * 200, `participants: ['bot_<id>']`), `request.update` on routing, on a person joining
 * (`takeover`, JOIN TO CHAT: the standin's `addParticipant`) and on a close (status 1000), with
 * the populated request (`participantsAgents`, `participatingAgents`); only subscribers get them.
 * Not simulated: the bot's own notifications of each end-user message (the webhook drops them).
 *
 * `createdAt` comes from the virtual clock and is strictly increasing over the whole server
 * (so also per request). Message ids are 24 hex, from a counter.
 *
 * The server itself never fails. Each bot instance talks to it through a `SimTiledeskApi`,
 * which goes through the world's scheduler twice (request, then response, with the call's
 * latency in virtual time in between), can be cut off by a crash, and can inject: a 503 or a
 * network error (not applied) or a lost response (applied, the client sees TILEDESK_TIMEOUT,
 * retryable).
 */

export const AGENT = {
  _id: '65aa000000000000000000a1',
  firstname: 'Anna',
  lastname: 'Rossi',
  email: 'anna.rossi@example.com',
} as const;
const ADMIN_ID = '65aa0000000000000000ad01';
const CLOSED = 1000;

/** How the scripted agent handles the k-th request of a conversation that is routed. */
export interface AgentPlan {
  /** routeToAgent answers 503 (not applied) until the world heals it: the handoff must fail. */
  outage: boolean;
  /** Nobody is available: routeToAgent queues (100) and the agent joins after `joinDelayMs`. */
  queued: boolean;
  joinDelayMs: number;
  /** Agent messages, each after its delay. */
  messages: { delayMs: number }[];
  close: boolean;
  closeDelayMs: number;
}

export interface SimMessage {
  _id: string;
  sender: string;
  senderFullname: string;
  recipient: string;
  type: string;
  text?: string;
  status: number;
  attributes?: Record<string, unknown>;
  metadata?: unknown;
  channel_type: 'group';
  channel: { name: string };
  id_project: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  language?: string;
}

export interface SimRequest {
  _id: string;
  request_id: string;
  status: number;
  participants: string[];
  participantsAgents: string[];
  participatingAgents: Record<string, unknown>[];
  attributes: Record<string, unknown>;
  channel: { name: string };
  id_project: string;
  first_text: string;
  requester_id: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  closed_at?: string;
  /** Not Tiledesk's: which simulated conversation it belongs to (from `bf_conversation`). */
  conversation: string | undefined;
  /** Not Tiledesk's: which handoff of the conversation it serves, once routed. */
  handoffIndex?: number;
}

interface SimSubscription {
  _id: string;
  event: string;
  target: string;
  id_project: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  secret: string;
}

interface Principal {
  kind: 'admin' | 'user';
  id: string;
  fullname: string;
}

/** What the server needs from the world. */
export interface TiledeskHooks {
  /**
   * A webhook to deliver (the world picks instances, delays, retries, losses). `json` is the
   * body as Tiledesk serialised it when the event happened.
   */
  deliver(event: string, json: string, secret: string, label: string, requestId: string): void;
  /** The scripted agent waits `delayMs` of virtual time, then for the scheduler. */
  agentStep(label: string, delayMs: number): Promise<void>;
  /** The agent's plan for the k-th routed request of a conversation. */
  agentPlan(conversation: string, handoffIndex: number): AgentPlan | undefined;
  trace(line: string): void;
}

/** A person joining a conversation's open request from the dashboard (JOIN TO CHAT). */
export interface TakeoverPlan {
  /** When the agent first looks (virtual ms since the start), then every 20 s, 4 times. */
  atMs: number;
  /** chat21 also posts "Anna added to group" (else only the `request.update`s tell). */
  chat21: boolean;
  messages: { delayMs: number }[];
  close: boolean;
  closeDelayMs: number;
}

/** Agent messages, closes and joins, as they happened (for the invariants). */
export interface AgentPost {
  /** When the agent wrote it (virtual ms since the start). */
  at: number;
  conversation: string;
  requestId: string;
  handoffIndex: number;
  messageId: string;
  text: string;
  createdAt: string;
}

export class SimTiledesk {
  readonly requests = new Map<string, SimRequest>();
  readonly messages = new Map<string, SimMessage[]>();
  /** Each message's JSON as created (messages never change afterwards). */
  private readonly messageJson = new WeakMap<SimMessage, string>();
  readonly subscriptions = new Map<string, SimSubscription>();
  readonly agentPosts: AgentPost[] = [];
  /** Requests closed by the bot because the user left (their undelivered agent messages stay so). */
  readonly leftRequests = new Set<string>();
  /** Agent closes and assignments; `at` is virtual ms since the start. */
  readonly closes: { conversation: string; requestId: string; at: number }[] = [];
  readonly assignments: { conversation: string; requestId: string; at: number }[] = [];
  /** The assignments that were a person joining from the dashboard (`takeover`). */
  readonly takeovers: { conversation: string; requestId: string; at: number }[] = [];
  private readonly bots = new Map<
    string,
    { _id: string; name: string; url: string; type: string; secret: string }
  >();
  /** Calls per method (attempts, as the bot instances made them). */
  readonly counts: Record<string, number> = {};
  /** Once true, outages end (the world's drain). */
  healed = false;
  readonly secret = '0b5e55ed-5ec2-4e7a-9d0c-000000000001';
  private nextId = 1;
  private lastCreatedAt = 0;
  private readonly tokens = new Map<string, Principal>();
  private readonly customUsers = new Set<string>();
  private readonly routedPerConversation = new Map<string, number>();
  /** A string secret makes jsonwebtoken try it as a PEM key first (~0.3 ms a call). */
  private readonly secretKey: KeyObject | undefined;
  private readonly hookKey = createSecretKey(Buffer.from(this.secret));

  constructor(
    readonly projectId: string,
    readonly admin: { email: string; password: string },
    readonly projectSecret: string | undefined,
    private readonly clock: VirtualClock,
    private readonly hooks: TiledeskHooks,
  ) {
    this.secretKey = projectSecret ? createSecretKey(Buffer.from(projectSecret)) : undefined;
  }

  /** One instance's client. */
  api(gate: ApiGate): SimTiledeskApi {
    return new SimTiledeskApi(this, gate);
  }

  /** All messages of a conversation's requests, createdAt ascending. */
  messagesOfConversation(conversation: string): SimMessage[] {
    const out: SimMessage[] = [];
    for (const r of this.requests.values()) {
      if (r.conversation === conversation) out.push(...(this.messages.get(r.request_id) ?? []));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  // --- server operations (synchronous, never fail by themselves) -----------------------------

  signIn(email: string, password: string): { token: string; userId: string | undefined } {
    if (email !== this.admin.email || password !== this.admin.password) {
      throw apiError(401, 'POST', '/auth/signin');
    }
    const token = `adm.${this.newId()}`;
    this.tokens.set(token, { kind: 'admin', id: ADMIN_ID, fullname: 'Bot Admin' });
    return { token, userId: ADMIN_ID };
  }

  signInWithCustomToken(token: string): void {
    const claims = this.verifyCustom(token, '/auth/signinWithCustomToken');
    this.customUsers.add(claims.id);
  }

  signInAnonymously(profile: { firstname?: string }): { token: string; userId: string } {
    const id = this.newId();
    const token = `anon.${id}`;
    this.tokens.set(token, { kind: 'user', id, fullname: profile.firstname ?? 'Guest' });
    return { token, userId: id };
  }

  sendMessage(token: string, requestId: string, message: OutgoingMessage): { _id: string } {
    const path = this.path(requestId, '/messages');
    const p = this.auth(token, 'POST', path);
    let request = this.requests.get(requestId);
    if (!request) {
      if (!message.text) throw apiError(422, 'POST', path);
      const at = this.nextCreatedAt();
      const conversation = message.attributes?.['bf_conversation'];
      request = {
        _id: this.newId(),
        request_id: requestId,
        // Served by a Tiledesk bot (`participants: ['bot_<id>']`, TiledeskMirrorVisibility=bot):
        // status 200 at once (requestService.create); else `request_status`.
        status: message.participants?.length ? 200 : (message.request_status ?? 100),
        participants: [...(message.participants ?? [])],
        participantsAgents: [],
        participatingAgents: [],
        attributes: structuredClone(message.attributes ?? {}),
        channel: message.channel ?? { name: 'chat21' },
        id_project: this.projectId,
        first_text: message.text,
        requester_id: p.id,
        createdBy: p.id,
        createdAt: at,
        updatedAt: at,
        conversation: typeof conversation === 'string' ? conversation : undefined,
      };
      this.requests.set(requestId, request);
      this.messages.set(requestId, []);
    }
    // §3.3: the sender of an existing request is not checked; a closed request stays closed.
    const sender = message.sender ?? p.id;
    const m = this.addMessage(request, {
      sender,
      senderFullname: message.senderFullname ?? p.fullname,
      ...(message.text !== undefined ? { text: message.text } : {}),
      type: message.type ?? 'text',
      status: 0,
      ...(message.attributes ? { attributes: structuredClone(message.attributes) } : {}),
      ...(message.metadata ? { metadata: structuredClone(message.metadata) } : {}),
      ...(message.language ? { language: message.language } : {}),
      channel: message.channel ?? { name: 'chat21' },
    });
    return { _id: m._id };
  }

  getMessages(token: string, requestId: string): TiledeskMessage[] {
    this.auth(token, 'GET', this.path(requestId, '/messages'));
    // Stored in createdAt order already; a fresh copy, as if it came over the wire.
    const list = this.messages.get(requestId) ?? [];
    return JSON.parse(
      `[${list.map((m) => this.messageJson.get(m)!).join(',')}]`,
    ) as TiledeskMessage[];
  }

  getRequest(token: string, requestId: string): TiledeskRequest | undefined {
    this.auth(token, 'GET', this.path(requestId, ''));
    const request = this.requests.get(requestId);
    return request ? copy(this.requestDoc(request)) : undefined;
  }

  routeToAgent(token: string, requestId: string): TiledeskRequest {
    const path = this.path(requestId, '/agent');
    this.auth(token, 'PUT', path, 'admin');
    const request = this.requests.get(requestId);
    if (!request) throw apiError(404, 'PUT', path);
    // A person there already (routed before, or took it over): routing changes nothing.
    if (request.status === CLOSED || request.participantsAgents.length > 0) {
      return copy(this.requestDoc(request));
    }
    const plan = this.planOf(request);
    if (plan?.outage && !this.healed) throw apiError(503, 'PUT', path);
    if (plan?.queued) {
      if (request.status !== 100) {
        request.status = 100;
        request.participants = []; // routing removes a serving bot (standin `assign`)
        this.hooks.trace(`tiledesk: ${shortReq(requestId)} queued (no agent available)`);
        this.emitUpdate(request);
        void this.runAgent(request, plan, true);
      }
      return copy(this.requestDoc(request));
    }
    this.assign(request);
    if (plan) void this.runAgent(request, plan, false);
    return copy(this.requestDoc(request));
  }

  closeRequest(token: string, requestId: string): void {
    const path = this.path(requestId, '/close');
    this.auth(token, 'PUT', path);
    const request = this.requests.get(requestId);
    if (!request) throw apiError(404, 'PUT', path);
    this.close(request, 'bot');
  }

  updateAttributes(token: string, requestId: string, attributes: Record<string, unknown>): void {
    const path = this.path(requestId, '/attributes');
    this.auth(token, 'PATCH', path);
    const request = this.requests.get(requestId);
    if (!request) throw apiError(404, 'PATCH', path);
    Object.assign(request.attributes, structuredClone(attributes));
  }

  createSubscription(token: string, event: string, target: string): Subscription {
    this.auth(token, 'POST', `/${this.projectId}/subscriptions`, 'admin');
    const existing = [...this.subscriptions.values()];
    if (existing.some((s) => s.event === event && s.target === target)) {
      // The unique index answers the first subscription with that event (standin quirk).
      const first = existing.find((s) => s.event === event)!;
      return { ...publicSubscription(first), secret: first.secret };
    }
    const at = this.isoNow();
    const sub: SimSubscription = {
      _id: this.newId(),
      event,
      target,
      id_project: this.projectId,
      createdBy: ADMIN_ID,
      createdAt: at,
      updatedAt: at,
      secret: this.secret,
    };
    this.subscriptions.set(sub._id, sub);
    this.hooks.trace(`tiledesk: subscription ${event} created`);
    return { ...publicSubscription(sub), secret: sub.secret };
  }

  listSubscriptions(token: string): Subscription[] {
    this.auth(token, 'GET', `/${this.projectId}/subscriptions`, 'admin');
    return [...this.subscriptions.values()].map(publicSubscription);
  }

  deleteSubscription(token: string, id: string): void {
    this.auth(token, 'DELETE', `/${this.projectId}/subscriptions/${id}`, 'admin');
    if (this.subscriptions.delete(id)) this.hooks.trace(`tiledesk: subscription ${id} deleted`);
  }

  // --- the agent side (not through any bot instance) ------------------------------------------

  /** An agent console message (fixture `…--agent-message.json`), with its webhook. */
  agentSays(requestId: string, text: string): SimMessage {
    const request = this.requests.get(requestId);
    if (!request) throw new Error(`no request ${requestId}`);
    const m = this.addMessage(request, {
      sender: AGENT._id,
      senderFullname: `${AGENT.firstname} ${AGENT.lastname}`,
      text,
      type: 'text',
      status: 200,
      metadata: '',
      attributes: {
        client: 'SimTiledesk agent console',
        sourcePage: 'https://panel.tiledesk.com/v3/chat/',
        userEmail: AGENT.email,
        userFullname: `${AGENT.firstname} ${AGENT.lastname}`,
      },
      channel: { name: 'chat21' },
    });
    this.agentPosts.push({
      at: this.clock.elapsed,
      conversation: request.conversation ?? '?',
      requestId,
      handoffIndex: request.handoffIndex ?? -1,
      messageId: m._id,
      text,
      createdAt: m.createdAt,
    });
    return m;
  }

  /** The agent takes the request: participants, TOUCHING_OPERATOR, MEMBER_JOINED_GROUP. */
  assign(request: SimRequest): void {
    request.participants = [AGENT._id];
    request.participantsAgents = [AGENT._id];
    request.participatingAgents = [{ ...AGENT, status: 100 }];
    request.status = 200;
    this.assignments.push({
      conversation: request.conversation ?? '?',
      requestId: request.request_id,
      at: this.clock.elapsed,
    });
    this.hooks.trace(`tiledesk: ${shortReq(request.request_id)} assigned to ${AGENT.firstname}`);
    this.emitUpdate(request);
    this.announce(request);
  }

  /** TOUCHING_OPERATOR (not while a bot takes part) then chat21's "Anna added to group". */
  private announce(request: SimRequest, chat21 = true): void {
    if (!request.participants.some((p) => p.startsWith('bot_')))
      this.addMessage(request, {
        sender: 'system',
        senderFullname: 'Bot',
        text: `A new support request has been assigned to you: ${request.first_text.slice(0, 30)}`,
        type: 'text',
        status: 0,
        attributes: {
          subtype: 'info',
          updateconversation: true,
          updateconversationfor: [AGENT._id],
          forcenotification: true,
          messagelabel: { key: 'TOUCHING_OPERATOR' },
        },
        channel: { name: 'chat21' },
      });
    if (chat21)
      this.addMessage(request, {
        sender: 'system',
        senderFullname: 'System',
        text: `${AGENT.firstname} added to group`,
        type: 'text',
        status: 200,
        attributes: {
          subtype: 'info',
          updateconversation: true,
          messagelabel: {
            key: 'MEMBER_JOINED_GROUP',
            parameters: {
              member_id: AGENT._id,
              fullname: `${AGENT.firstname} ${AGENT.lastname}`,
              firstname: AGENT.firstname,
              lastname: AGENT.lastname,
            },
          },
        },
        channel: { name: 'chat21' },
      });
  }

  /**
   * The agent (or the bot, `PUT …/close` after the user left) closes: status 1000,
   * `request.close`, then the "Chat closed" info message. Only agents' closes are the invariants'
   * "closes" (a close the user asked for is announced as their leaving).
   */
  close(request: SimRequest, by: 'agent' | 'bot' = 'agent'): void {
    const first = request.status !== CLOSED;
    // The user left it (even if the agent had closed it meanwhile).
    if (by === 'bot') this.leftRequests.add(request.request_id);
    if (first) {
      request.status = CLOSED;
      this.emitUpdate(request); // changeStatusByRequestId: status 1000, before request.close
      request.closed_at = this.isoNow();
      request.updatedAt = request.closed_at;
      if (by === 'agent') {
        this.closes.push({
          conversation: request.conversation ?? '?',
          requestId: request.request_id,
          at: this.clock.elapsed,
        });
      }
      this.hooks.trace(`tiledesk: ${shortReq(request.request_id)} closed by the ${by}`);
    }
    const messages = [...(this.messages.get(request.request_id) ?? [])];
    this.emit(['request.close'], () => ({ ...this.requestDoc(request), messages }), 'close');
    this.addMessage(request, {
      sender: 'system',
      senderFullname: 'Bot',
      text: 'Chat closed',
      type: 'text',
      status: 0,
      attributes: {
        subtype: 'info/support',
        updateconversation: false,
        messagelabel: { key: 'CHAT_CLOSED' },
      },
      channel: { name: 'chat21' },
    });
  }

  /**
   * A person joins the conversation's open request from the dashboard (JOIN TO CHAT,
   * `POST …/participants`, standin `addParticipant`): status 200, `request.update` with
   * participants `[bot, person]`, chat21's "added to group" (when `chat21`; no
   * TOUCHING_OPERATOR while a bot takes part), then conciergeBot removes the bot: a second
   * `request.update`. Then the agent plays `plan` (messages, maybe a close). False when there is
   * nothing to take over (no open request, or a person has it already).
   */
  async takeover(conversation: string, k: number, plan: TakeoverPlan): Promise<boolean> {
    const request = [...this.requests.values()]
      .filter((r) => r.conversation === conversation && r.status !== CLOSED)
      .pop();
    if (!request || request.participantsAgents.length > 0) return false;
    const id = shortReq(request.request_id);
    const bot = request.participants.find((p) => p.startsWith('bot_'));
    request.participants = [...request.participants, AGENT._id];
    request.participantsAgents = [AGENT._id];
    request.participatingAgents = [{ ...AGENT, status: 100 }];
    request.status = 200;
    this.assignments.push({
      conversation,
      requestId: request.request_id,
      at: this.clock.elapsed,
    });
    this.takeovers.push({ conversation, requestId: request.request_id, at: this.clock.elapsed });
    this.hooks.trace(
      `tiledesk: ${AGENT.firstname} takes over ${id}${bot ? ' (from the bot)' : ''}`,
    );
    this.emitUpdate(request);
    this.announce(request, plan.chat21);
    if (bot) {
      await this.hooks.agentStep(`concierge removes the bot from ${id}`, 0);
      if (request.status !== CLOSED && request.participants.includes(bot)) {
        request.participants = request.participants.filter((p) => p !== bot);
        this.emitUpdate(request);
      }
    }
    await this.runAgent(request, { ...plan, joinDelayMs: 0 }, false, `t${k}`);
    return true;
  }

  /** `request.update` (subscribed only with TiledeskMirrorVisibility=bot): the request as it is now. */
  private emitUpdate(request: SimRequest): void {
    this.emit(['request.update'], () => this.requestDoc(request), 'request.update');
  }

  /** Plays the agent's plan on a routed request (messages, then maybe a close). */
  private async runAgent(
    request: SimRequest,
    plan: Pick<AgentPlan, 'messages' | 'close' | 'closeDelayMs' | 'joinDelayMs'>,
    queued: boolean,
    tag = `h${request.handoffIndex}`,
  ): Promise<void> {
    const id = shortReq(request.request_id);
    if (queued) {
      await this.hooks.agentStep(`agent joins queued ${id}`, plan.joinDelayMs);
      if (request.status === CLOSED || request.participantsAgents.length > 0) return;
      this.assign(request);
    }
    for (let i = 0; i < plan.messages.length; i++) {
      await this.hooks.agentStep(`agent writes in ${id}`, plan.messages[i]!.delayMs);
      if (request.status === CLOSED) return;
      const text = `a:${request.conversation}.${tag}.m${i}`;
      const m = this.agentSays(request.request_id, text);
      this.hooks.trace(`tiledesk: agent wrote "${text}" in ${id} (createdAt ${m.createdAt})`);
    }
    if (!plan.close) return;
    await this.hooks.agentStep(`agent closes ${id}`, plan.closeDelayMs);
    this.close(request);
  }

  private planOf(request: SimRequest): AgentPlan | undefined {
    const conversation = request.conversation;
    if (conversation === undefined) return undefined;
    if (request.handoffIndex === undefined) {
      const k = this.routedPerConversation.get(conversation) ?? 0;
      this.routedPerConversation.set(conversation, k + 1);
      request.handoffIndex = k;
    }
    return this.hooks.agentPlan(conversation, request.handoffIndex);
  }

  private addMessage(
    request: SimRequest,
    input: Omit<
      SimMessage,
      '_id' | 'recipient' | 'channel_type' | 'id_project' | 'createdBy' | 'createdAt' | 'updatedAt'
    >,
  ): SimMessage {
    const at = this.nextCreatedAt();
    const message: SimMessage = {
      _id: this.newId(),
      ...input,
      recipient: request.request_id,
      channel_type: 'group',
      id_project: this.projectId,
      createdBy: input.sender,
      createdAt: at,
      updatedAt: at,
    };
    this.messages.get(request.request_id)!.push(message);
    this.messageJson.set(message, JSON.stringify(message));
    request.updatedAt = at;
    const name = request.channel.name;
    if (!name.includes('.')) {
      this.emit(
        [`message.create.request.channel.${name}`],
        () => ({ ...message, request: this.requestDoc(request) }),
        describe(message),
      );
    }
    return message;
  }

  /** Sends `payload` to every subscription of one of `events` (serialised now: a snapshot). */
  private emit(events: string[], payload: () => Record<string, unknown>, what: string): void {
    let json: string | undefined;
    let requestId = '?';
    for (const sub of this.subscriptions.values()) {
      if (!events.includes(sub.event)) continue;
      if (json === undefined) {
        const p = payload();
        const id = p['request_id'] ?? p['recipient'];
        if (typeof id === 'string') requestId = id;
        json = JSON.stringify(p);
      }
      const fields = {
        _id: sub._id,
        event: sub.event,
        target: sub.target,
        id_project: sub.id_project,
        createdBy: sub.createdBy,
        createdAt: sub.createdAt,
        updatedAt: sub.updatedAt,
        __v: 0,
      };
      const hook = JSON.stringify(fields);
      const now = this.clock.now();
      // As subscriptionNotifier.js signs it: the hook doc, HS256 with the subscription secret.
      const token = jwt.sign({ ...fields, iat: Math.floor(now / 1000) }, this.hookKey, {
        audience: `https://tiledesk.com/subscriptions/${sub._id}`,
        issuer: 'https://tiledesk.com',
        subject: 'subscription',
      });
      const body = `{"timestamp":${now},"payload":${json},"hook":${hook},"token":"${token}"}`;
      this.hooks.deliver(sub.event, body, sub.secret, what, requestId);
    }
  }

  /** The request as Tiledesk shows it (not a copy: callers serialise it). */
  requestDoc(request: SimRequest): TiledeskRequest {
    const { conversation: _c, handoffIndex: _h, ...doc } = request;
    const bots = request.participants.filter((p) => p.startsWith('bot_')).map((p) => p.slice(4));
    return {
      ...doc,
      participants: [...request.participants],
      participantsAgents: [...request.participantsAgents],
      participatingAgents: request.participatingAgents.map((a) => ({ ...a })),
      hasBot: bots.length > 0,
      participantsBots: bots,
      participatingBots: bots.flatMap((id) => {
        const b = this.bots.get(id);
        return b ? [{ _id: b._id, name: b.name, type: b.type, url: b.url }] : [];
      }),
    };
  }

  // --- bots (`/{p}/faq_kb`, TiledeskMirrorVisibility=bot) ------------------------------------

  createBot(token: string, bot: { name: string; url: string }): TiledeskBot {
    this.auth(token, 'POST', `/${this.projectId}/faq_kb`, 'admin');
    const doc = {
      _id: this.newId(),
      ...bot,
      type: 'external',
      secret: `bot-secret-${this.nextId}`,
    };
    this.bots.set(doc._id, doc);
    this.hooks.trace(`tiledesk: bot ${doc._id} created`);
    return { ...doc };
  }

  getBot(token: string, id: string): TiledeskBot | undefined {
    this.auth(token, 'GET', `/${this.projectId}/faq_kb/${id}`, 'admin');
    const b = this.bots.get(id);
    return b && { _id: b._id, name: b.name, url: b.url, type: b.type };
  }

  updateBot(token: string, id: string, fields: { name: string; url: string }): void {
    this.auth(token, 'PUT', `/${this.projectId}/faq_kb/${id}`, 'admin');
    const b = this.bots.get(id);
    if (!b) throw apiError(404, 'PUT', `/${this.projectId}/faq_kb/${id}`);
    Object.assign(b, fields);
  }

  deleteBot(token: string, id: string): void {
    this.auth(token, 'DELETE', `/${this.projectId}/faq_kb/${id}`, 'admin');
    this.bots.delete(id);
  }

  private auth(token: string, method: string, path: string, role?: 'admin'): Principal {
    let p = this.tokens.get(token);
    if (!p && this.projectSecret && token.split('.').length === 3) {
      const claims = this.verifyCustom(token, path);
      if (!this.customUsers.has(claims.id)) throw apiError(401, method, path);
      p = { kind: 'user', id: claims.id, fullname: claims.fullname };
    }
    if (!p) throw apiError(401, method, path);
    if (role === 'admin' && p.kind !== 'admin') throw apiError(403, method, path);
    return p;
  }

  private verifyCustom(token: string, path: string): { id: string; fullname: string } {
    try {
      if (!this.secretKey) throw new Error('no project secret');
      const claims = jwt.verify(token, this.secretKey, {
        algorithms: ['HS256'],
        audience: `https://tiledesk.com/projects/${this.projectId}`,
        clockTimestamp: Math.floor(this.clock.now() / 1000),
      }) as { _id?: unknown; firstname?: unknown; lastname?: unknown };
      if (typeof claims._id !== 'string') throw new Error('no _id');
      const name = [claims.firstname, claims.lastname].filter((s) => typeof s === 'string');
      return { id: claims._id, fullname: name.join(' ') || 'Guest' };
    } catch {
      throw apiError(401, 'POST', path);
    }
  }

  private path(requestId: string, suffix: string): string {
    return `/${this.projectId}/requests/${requestId}${suffix}`;
  }

  private newId(): string {
    return `65${(this.nextId++).toString(16).padStart(22, '0')}`;
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Strictly increasing over the whole server: the order messages were created in. */
  private nextCreatedAt(): string {
    const ms = Math.max(this.clock.now(), this.lastCreatedAt + 1);
    this.lastCreatedAt = ms;
    return new Date(ms).toISOString();
  }
}

function publicSubscription(sub: SimSubscription): Subscription {
  const { secret: _secret, ...rest } = sub;
  return { ...rest };
}

/** A short description of a message for labels and the trace. */
export function describe(m: {
  text?: string;
  attributes?: Record<string, unknown> | null;
}): string {
  const label = (m.attributes?.['messagelabel'] as { key?: string } | undefined)?.key;
  if (label) return label;
  const text = m.text ?? '';
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
}

export function shortReq(requestId: string): string {
  return `req…${requestId.slice(-6)}`;
}

export function apiError(status: number, method: string, path: string): TiledeskApiError {
  return new TiledeskApiError(status === 401 ? 'TILEDESK_UNAUTHORIZED' : 'TILEDESK_HTTP', {
    method,
    path,
    status,
    detail: status === 503 ? 'simulated outage' : undefined,
    retryable: status === 429 || status >= 500,
  });
}

export type ApiFault = '503' | 'network' | 'lost';

/** What an instance's client needs from the world for each call. */
export interface ApiGate {
  /** Resolves when the scheduler releases this step; never once the instance crashed. */
  pass(label: string): Promise<void>;
  /** The call's latency: virtual time between Tiledesk applying it and the answer arriving. */
  latency(): Promise<void>;
  fault(): ApiFault | undefined;
  trace(line: string): void;
  readonly name: string;
  /** Also trace successful reads (GET). */
  readonly verbose: boolean;
}

/** One instance's Tiledesk client: every call is scheduled (request and response) and may fail. */
export class SimTiledeskApi implements TiledeskApi {
  constructor(
    private readonly server: SimTiledesk,
    private readonly gate: ApiGate,
  ) {}

  signIn(email: string, password: string) {
    return this.call('POST', '/auth/signin', () => this.server.signIn(email, password));
  }

  signInWithCustomToken(token: string) {
    return this.call('POST', '/auth/signinWithCustomToken', () =>
      this.server.signInWithCustomToken(token),
    );
  }

  signInAnonymously(profile: { firstname?: string; email?: string }) {
    return this.call('POST', '/auth/signinAnonymously', () =>
      this.server.signInAnonymously(profile),
    );
  }

  sendMessage(token: string, requestId: string, message: OutgoingMessage) {
    return this.call('POST', `${shortReq(requestId)}/messages ${describe(message)}`, () =>
      this.server.sendMessage(token, requestId, message),
    );
  }

  getMessages(token: string, requestId: string) {
    return this.call('GET', `${shortReq(requestId)}/messages`, () =>
      this.server.getMessages(token, requestId),
    );
  }

  getRequest(token: string, requestId: string) {
    return this.call('GET', shortReq(requestId), () => this.server.getRequest(token, requestId));
  }

  routeToAgent(token: string, requestId: string) {
    return this.call('PUT', `${shortReq(requestId)}/agent`, () =>
      this.server.routeToAgent(token, requestId),
    );
  }

  closeRequest(token: string, requestId: string) {
    return this.call('PUT', `${shortReq(requestId)}/close`, () =>
      this.server.closeRequest(token, requestId),
    );
  }

  updateAttributes(token: string, requestId: string, attributes: Record<string, unknown>) {
    return this.call('PATCH', `${shortReq(requestId)}/attributes`, () =>
      this.server.updateAttributes(token, requestId, attributes),
    );
  }

  createSubscription(token: string, event: string, target: string) {
    return this.call('POST', `subscriptions ${event}`, () =>
      this.server.createSubscription(token, event, target),
    );
  }

  listSubscriptions(token: string) {
    return this.call('GET', 'subscriptions', () => this.server.listSubscriptions(token));
  }

  deleteSubscription(token: string, id: string) {
    return this.call('DELETE', `subscriptions/${id}`, () =>
      this.server.deleteSubscription(token, id),
    );
  }

  createBot(token: string, bot: { name: string; url: string }) {
    return this.call('POST', 'faq_kb', () => this.server.createBot(token, bot));
  }

  getBot(token: string, id: string) {
    return this.call('GET', `faq_kb/${id}`, () => this.server.getBot(token, id));
  }

  updateBot(token: string, id: string, fields: { name: string; url: string }) {
    return this.call('PUT', `faq_kb/${id}`, () => this.server.updateBot(token, id, fields));
  }

  deleteBot(token: string, id: string) {
    return this.call('DELETE', `faq_kb/${id}`, () => this.server.deleteBot(token, id));
  }

  private async call<T>(method: string, what: string, apply: () => T): Promise<T> {
    const key = `${method} ${what.split(' ')[0]!.replace(/req…\w+/, 'req')}`;
    this.server.counts[key] = (this.server.counts[key] ?? 0) + 1;
    const label = `${this.gate.name} tiledesk ${method} ${what}`;
    await this.gate.pass(`${label} (request)`);
    const fault = this.gate.fault();
    if (fault === '503' || fault === 'network') {
      this.gate.trace(`${label} → injected ${fault} (not applied)`);
      throw fault === '503'
        ? apiError(503, method, what)
        : new TiledeskApiError('TILEDESK_NETWORK', {
            method,
            path: what,
            detail: 'ECONNRESET',
            retryable: true,
          });
    }
    let result: T;
    try {
      result = apply();
    } catch (err) {
      await this.gate.latency();
      await this.gate.pass(`${label} (error response)`);
      this.gate.trace(`${label} → ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    await this.gate.latency();
    await this.gate.pass(`${label} (response)`);
    if (fault === 'lost') {
      this.gate.trace(`${label} → applied, response lost (TILEDESK_TIMEOUT)`);
      throw new TiledeskApiError('TILEDESK_TIMEOUT', {
        method,
        path: what,
        detail: 'timed out',
        retryable: true,
      });
    }
    if (method !== 'GET' || this.gate.verbose) this.gate.trace(`${label} → ok`);
    return result; // the server's methods answer fresh copies
  }
}

/** A deep copy of plain data, as if it came over the wire. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
