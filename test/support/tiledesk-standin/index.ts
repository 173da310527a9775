/**
 * TiledeskStandIn: a loopback stand-in for the Tiledesk REST API + webhooks, reproducing the
 * behaviour (quirks included) documented in /work/shared/tiledesk-api.md, plus in-process controls
 * for tests (act as an agent, latency, faults, holds). The HTTP pipeline is described in server.ts.
 */
import { randomBytes } from 'node:crypto';
import { Auth } from './auth';
import { Conversations } from './conversation';
import { agentConsoleMessage } from './message-builders';
import { ADMIN_USER_ID, DEFAULT_AGENT, Store } from './model';
import { type BotNotification, BotNotifier, BotRoutes, type StandInBot } from './bots';
import { Router } from './router';
import { AuthRoutes } from './routes-auth';
import { MessageRoutes } from './routes-messages';
import { RequestRoutes } from './routes-requests';
import { SubscriptionRoutes } from './routes-subscriptions';
import { type PhotoBucket, Photos } from './photos';
import { ChatFiles } from './chat-files';
import { HttpFront } from './server';
import type {
  StandInCall,
  StandInDelivery,
  StandInFault,
  StandInHold,
  StandInMessage,
  StandInOptions,
  StandInRequest,
  StandInSubscription,
  StandInUserDoc,
} from './types';
import { TYPING_EVENTS, typingEvent, type StandInTypingEvent } from './typing';
import { clone, TimerSet } from './util';
import { WebhookDispatcher } from './webhooks';

export type * from './types';
export type { StandInTypingEvent } from './typing';

export class TiledeskStandIn {
  readonly projectId: string;
  readonly projectSecret: string;
  readonly admin: { email: string; password: string };
  /** The admin account's user id (also `createdBy` of its subscriptions). */
  readonly adminUserId = ADMIN_USER_ID;

  private readonly store: Store;
  private readonly hooks: WebhookDispatcher;
  private readonly conv: Conversations;
  private readonly front: HttpFront;
  private readonly timers = new TimerSet();
  private readonly photos = new Photos();
  private readonly botNotifier: BotNotifier;
  /** Chat files (`POST /{p}/files/chat`, `GET /files/download`); set `limits` to change them. */
  readonly chatFiles = new ChatFiles();
  private baseUrl: string | undefined;

  constructor(options: StandInOptions = {}) {
    this.projectId = options.projectId ?? '65a1b2c3d4e5f6a7b8c9d0e1';
    this.projectSecret = options.projectSecret ?? 'standin-project-secret';
    this.admin = {
      ...(options.admin ?? { email: 'admin@example.com', password: 'admin-password' }),
    };
    const agents = (options.agents ?? [DEFAULT_AGENT]).map((a) => ({ ...a }));
    this.store = new Store(
      this.projectId,
      this.admin,
      agents,
      options.departments ?? [],
      options.projectName,
    );
    const auth = new Auth(
      this.store,
      this.projectSecret,
      randomBytes(32).toString('hex'),
      this.admin.password,
    );
    this.hooks = new WebhookDispatcher({
      projectId: this.projectId,
      origin: options.webhookOrigin ?? 'http://localhost:3000',
      retryDelaysMs: options.webhookRetryDelaysMs ?? [2500, 4500],
      subscriptions: () => this.store.subscriptions.values(),
    });
    this.botNotifier = new BotNotifier(
      this.store,
      this.timers,
      options.webhookOrigin ?? 'http://localhost:3000',
    );
    this.conv = new Conversations(
      this.store,
      this.hooks,
      this.timers,
      options.commandDelayMs ?? 20,
      options.labels ?? {},
      options.chat21 ?? true,
      this.botNotifier,
    );
    const router = new Router(
      this.store,
      auth,
      new AuthRoutes(this.store, auth),
      new MessageRoutes(this.store, auth, this.conv),
      new RequestRoutes(this.store, auth, this.conv),
      new SubscriptionRoutes(this.store, auth),
      this.photos,
      (events, payload) => this.hooks.emit(events, payload),
      new BotRoutes(this.projectId, this.store, auth),
      this.chatFiles,
    );
    this.front = new HttpFront(router, this.timers, options.recordCalls ?? true);
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    this.baseUrl = await this.front.listen();
  }

  /** Closes the server and every socket; cancels command timers, latency and webhook retries. */
  async stop(): Promise<void> {
    this.timers.clear();
    this.hooks.stop();
    this.botNotifier.stop();
    await this.front.close();
  }

  get url(): string {
    if (this.baseUrl === undefined) throw new Error('TiledeskStandIn not started');
    return this.baseUrl;
  }

  // ---- inspection (copies: the live documents never leave the stand-in) -------------------

  request(requestId: string): StandInRequest | undefined {
    const r = this.store.requests.get(requestId);
    return r ? clone(r) : undefined;
  }

  messages(requestId: string): StandInMessage[] {
    return clone(this.store.messages.get(requestId) ?? []);
  }

  /** Tiledesk bots (`faq_kb`), secrets included. */
  get bots(): StandInBot[] {
    return clone([...this.store.bots.values()]);
  }

  /** What external bots were POSTed (botEvent.js), in order. */
  get botNotifications(): readonly BotNotification[] {
    return this.botNotifier.sent;
  }

  get requests(): ReadonlyMap<string, StandInRequest> {
    return new Map([...this.store.requests].map(([k, v]) => [k, clone(v)]));
  }

  get calls(): ReadonlyArray<StandInCall> {
    return this.front.calls;
  }

  get deliveries(): ReadonlyArray<StandInDelivery> {
    return this.hooks.deliveries;
  }

  subscriptions(): StandInSubscription[] {
    return [...this.store.subscriptions.values()].map((s) => ({ ...s }));
  }

  /**
   * Work the stand-in will still do on its own: chat21 round trips / commands, delayed responses,
   * webhook deliveries scheduled, in flight or waiting for a retry. Held requests are not counted.
   */
  pendingWork(): number {
    return this.timers.size + this.hooks.pending;
  }

  /** Polls `condition` every 5 ms; rejects after `timeoutMs`. */
  async waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline)
        throw new Error(`TiledeskStandIn.waitFor: timed out after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---- act as a human agent (same code paths as the agent console via chat21) --------------

  agentReply(
    requestId: string,
    text: string,
    opts: {
      agentId?: string;
      type?: string;
      metadata?: Record<string, unknown>;
      attributes?: Record<string, unknown>;
    } = {},
  ): StandInMessage {
    const request = this.mustRequest(requestId);
    const agent = this.agentFor(request, opts.agentId);
    const message = this.conv.addMessage(request, agentConsoleMessage(agent, text, opts), true);
    this.conv.participantReplied(request, agent._id);
    return clone(message);
  }

  /** A private note: `attributes.subtype: 'private'` (§5.4). */
  agentNote(requestId: string, text: string, opts: { agentId?: string } = {}): StandInMessage {
    const request = this.mustRequest(requestId);
    const agent = this.agentFor(request, opts.agentId);
    const input = agentConsoleMessage(agent, text, { attributes: { subtype: 'private' } });
    return clone(this.conv.addMessage(request, input, true));
  }

  /**
   * The dashboard's JOIN TO CHAT: same path as `POST …/participants {member}`; a bot serving the
   * request leaves soon after (conciergeBot), with a second `request.update`.
   */
  joinToChat(requestId: string, member: string): StandInRequest {
    return clone(this.conv.addParticipant(this.mustRequest(requestId), member));
  }

  /**
   * A message posted through REST by some project member (an integration, another bot): on an
   * existing request `sender` is not checked (§3.3).
   */
  postAs(
    requestId: string,
    input: { sender: string; senderFullname: string; text: string },
  ): StandInMessage {
    const request = this.mustRequest(requestId);
    const message = this.conv.addMessage(
      request,
      { ...input, status: 0, createdBy: ADMIN_USER_ID, channel: { name: request.channel.name } },
      true,
    );
    return clone(message);
  }

  /** Same path as `PUT /{p}/requests/{id}/close` with closed_by = the agent. */
  /**
   * What `GET publicanalytics/waiting/current` reports (ms); by default (undefined) the average
   * `waiting_time` of the requests of the last 4 hours, as the real server computes it.
   */
  setWaitingTime(ms: number | undefined): void {
    this.store.waitingTimeAvgMs = ms;
  }

  agentClose(requestId: string, opts: { agentId?: string } = {}): void {
    const request = this.mustRequest(requestId);
    this.conv.close(request, this.agentFor(request, opts.agentId)._id);
  }

  /**
   * A queued request gets an agent (what Tiledesk's routing queue does when one becomes
   * available): routes it again, with the same side effects as `PUT …/agent`.
   */
  routeQueued(requestId: string): StandInRequest {
    return clone(this.conv.route(this.mustRequest(requestId)));
  }

  /**
   * The agent types in the console: delivers what the server emits for chat21's `typing-start`
   * webhook (`event.emit` and `event.emit.typing.start`, see typing.ts). Only the Firebase chat
   * engine produces it; `draft` is what the agent's text box holds, `at` the event's time
   * (default now).
   */
  agentTyping(
    requestId: string,
    opts: { agentId?: string; draft?: string; at?: string } = {},
  ): StandInTypingEvent {
    const request = this.mustRequest(requestId);
    const agent = this.agentFor(request, opts.agentId);
    const event = typingEvent(this.store, request, agent, opts.draft ?? 'Hi', opts.at);
    this.hooks.emit(TYPING_EVENTS, () => event);
    return clone(event);
  }

  /**
   * The user has a profile photo (or removed it): uploaded on 2.19.16 (`files`, the default,
   * served at `GET /files?path=…`) or kept by an older server (`images`, served at both).
   */
  setUserPhoto(userId: string, has: boolean, bucket: PhotoBucket = 'files'): void {
    this.photos.set(userId, has, bucket);
  }

  /** Also accepts the admin account's id (`adminUserId`): available admins are routable (§7). */
  setAgentAvailable(agentId: string, available: boolean): void {
    this.store.setAvailable(agentId, available);
  }

  // ---- faults & latency --------------------------------------------------------------------

  setLatency(ms: number): void {
    this.front.latencyMs = Math.max(0, ms);
  }

  injectFault(fault: StandInFault): void {
    this.front.faults.add(fault);
  }

  clearFaults(): void {
    this.front.faults.clear();
  }

  /** Matching requests are held before processing; `release()` processes and answers them. */
  hold(match: { method?: string; path?: RegExp } = {}): StandInHold {
    return this.front.holds.add(match);
  }

  // ---- internals ---------------------------------------------------------------------------

  private mustRequest(requestId: string): StandInRequest {
    const r = this.store.requests.get(requestId);
    if (!r) throw new Error(`TiledeskStandIn: unknown request ${requestId}`);
    return r;
  }

  /** Explicit agent, else the first agent participant, else the first configured agent. */
  private agentFor(request: StandInRequest, agentId: string | undefined): StandInUserDoc {
    const id = agentId ?? request.participantsAgents[0] ?? this.store.routable[0];
    const user = id !== undefined ? this.store.users.get(id) : undefined;
    if (!user) throw new Error(`TiledeskStandIn: unknown agent ${String(id)}`);
    return user;
  }
}
