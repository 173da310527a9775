/**
 * Request/message service: creation, message storage + events, the simulated chat21 round trip,
 * `\agent` / `\close`, routing and closing (tiledesk-api.md §2-§4). Used by the HTTP routes and by
 * the in-process agent controls alike, so both follow the same code path.
 */
import type { Store } from './model';
import type { StandInMessage, StandInRequest, StandInUserDoc } from './types';
import type { WebhookDispatcher } from './webhooks';
import type { BotNotifier } from './bots';
import { chatClosed, memberJoined, touchingOperator, type MessageInput } from './message-builders';
import {
  buildRequest,
  requestJson,
  requestLean,
  setParticipants,
  type RequestInput,
  withoutDepartment,
} from './request-doc';
import { nowIso, objectId, TimerSet } from './util';

export type { RequestInput } from './request-doc';
export type { MessageInput } from './message-builders';

const CLOSED = 1000;

/** EventEmitter2 pattern `message.create.**.channel.*` never matches a name containing '.' (§5.2). */
function channelEvent(prefix: string, name: string): string[] {
  return name.includes('.') ? [] : [prefix + name];
}

export class Conversations {
  constructor(
    private readonly store: Store,
    private readonly hooks: WebhookDispatcher,
    private readonly timers: TimerSet,
    private readonly commandDelayMs: number,
    private readonly labels: Record<string, string>,
    /** See `StandInOptions.chat21`. */
    private readonly chat21: boolean,
    /** External bots serving requests are told of each message (bots.ts). */
    private readonly bots?: BotNotifier,
  ) {}

  /** requestService.create (§2.2). Returns the newly assigned agents (announced after the first message). */
  createRequest(input: RequestInput): { request: StandInRequest; joined: StandInUserDoc[] } {
    const request = buildRequest(this.store, input);
    let joined: StandInUserDoc[] = [];
    if (input.status !== undefined) {
      request.status = input.status; // e.g. 50 TEMP: no routing (§2.2 step 2)
    } else if (input.participants !== undefined) {
      setParticipants(this.store, request, input.participants);
      request.status = 200;
      request.assigned_at = nowIso();
      withoutDepartment(request, true);
    } else {
      joined = this.assign(request);
    }
    this.store.requests.set(request.request_id, request);
    this.emitRequest('request.create', request);
    return { request, joined };
  }

  /** routeInternal for an `assigned` department: one available agent → 200, else 100. */
  private assign(request: StandInRequest): StandInUserDoc[] {
    const before = request.participants;
    const agent = request.department.routing === 'assigned' ? this.store.pickAgent() : undefined;
    setParticipants(this.store, request, agent ? [agent._id] : []);
    request.status = agent ? 200 : 100;
    if (agent) request.assigned_at = nowIso();
    request.snapshot.availableAgentsCount = this.store.availableAgentsCount();
    return agent && !before.includes(agent._id) ? [agent] : [];
  }

  /**
   * requestService.route with nobot (§4.2, §4.3). 2.19.16 emits `request.update` even when the
   * routing changes nothing (`S:services/requestService.js#L270-337`, "to allow clients to
   * receive the request populated"); only the announcements need a newly assigned agent.
   */
  route(request: StandInRequest): StandInRequest {
    const joined = this.assign(request);
    withoutDepartment(request, false); // routeInternal sets the department
    this.touch(request);
    this.emitRequest('request.update', request);
    this.announce(request, joined);
    return request;
  }

  /**
   * `POST …/participants {member}` (requestService.addParticipantByRequestId): an agent joins
   * (the dashboard's JOIN). Status 200, `request.update`, then what `announce` says. A member
   * already there changes nothing and emits nothing.
   */
  addParticipant(request: StandInRequest, member: string): StandInRequest {
    if (request.participants.includes(member)) return request;
    setParticipants(this.store, request, [...request.participants, member]);
    request.hasBot = member.startsWith('bot_'); // addParticipantByRequestId
    request.status = 200;
    request.assigned_at = nowIso();
    this.touch(request);
    this.emitRequest('request.update', request);
    const bot = request.participants.find((p) => p.startsWith('bot_'));
    const user = this.store.users.get(member);
    // welcomeAgentOnJoin: no TOUCHING_OPERATOR while a bot is among the participants.
    this.announce(request, user ? [user] : [], !bot);
    // conciergeBot (`request.participants.join`): a person joining removes the bot, soon after.
    if (!member.startsWith('bot_') && bot) {
      this.timers.soon(() => {
        const live = this.store.requests.get(request.request_id);
        if (!live?.participants.includes(bot)) return;
        setParticipants(
          this.store,
          live,
          live.participants.filter((p) => p !== bot),
        );
        this.touch(live);
        this.emitRequest('request.update', live);
      });
    }
    return request;
  }

  /** TOUCHING_OPERATOR (server) then chat21's "<firstname> added to group" (§4.2 step 4). */
  announce(request: StandInRequest, joined: StandInUserDoc[], touching = true): void {
    if (joined.length === 0) return;
    if (touching && request.status === 200) {
      this.addMessage(request, touchingOperator(request, joined, request.language), false);
    }
    if (!this.chat21) return;
    for (const a of joined) this.addMessage(request, memberJoined(a), true);
  }

  /** messageService.create + the events of §5.2. `lastMessage`: write `attributes.last_message`. */
  addMessage(request: StandInRequest, input: MessageInput, lastMessage: boolean): StandInMessage {
    const at = nowIso();
    const message: StandInMessage = {
      _id: objectId(),
      senderFullname: input.senderFullname,
      type: input.type ?? 'text',
      channel_type: 'group',
      status: input.status,
      sender: input.sender,
      recipient: request.request_id,
      ...(input.text !== undefined && { text: this.applyLabels(input.text) }),
      id_project: this.store.projectId,
      createdBy: input.createdBy,
      ...(input.metadata !== undefined && { metadata: input.metadata }),
      ...(input.attributes !== undefined && { attributes: input.attributes }),
      ...(input.language !== undefined && { language: input.language }),
      channel: input.channel ?? { name: 'chat21' },
      createdAt: at,
      updatedAt: at,
      __v: 0,
    };
    this.store.messagesOf(request.request_id).push(message);
    // The payload's request is read lean before `attributes.last_message` is written: it shows
    // the previous message (S:routes/message.js#L271 updates without waiting).
    this.hooks.emit(
      [
        'message.create',
        ...channelEvent('message.create.request.channel.', request.channel.name),
        ...channelEvent('message.create.channel.', message.channel.name),
      ],
      () => ({ ...message, request: requestLean(request) }),
    );
    this.bots?.notify(message, requestLean(request), request);
    if (lastMessage) {
      request.attributes['last_message'] = { ...message };
      request.updatedAt = at;
    }
    this.afterCreate(request, message);
    return message;
  }

  /** `${KEY}` → the whole text becomes the label (§3.6 messageTransformerInterceptor). */
  private applyLabels(text: string): string {
    if (!text.includes('${')) return text;
    for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
      const label = m[1] !== undefined ? this.labels[m[1]] : undefined;
      if (label !== undefined) return label;
    }
    return text;
  }

  /**
   * Status 0 goes to chat21 and comes back as 200 after `commandDelayMs` — only for request ids
   * starting with `support-group` (§2.1, §3.5). Status 200 is "received" at once. Anything else
   * is never received. `message.received` runs the command interceptor (§4.1).
   */
  private afterCreate(request: StandInRequest, message: StandInMessage): void {
    if (message.status === 200) {
      this.timers.soon(() => this.received(message));
    } else if (
      this.chat21 &&
      message.status === 0 &&
      request.request_id.startsWith('support-group')
    ) {
      this.timers.after(this.commandDelayMs, () => {
        message.status = 200;
        message.updatedAt = nowIso();
        this.received(message);
      });
    }
  }

  /** messageActionsInterceptor (§4.1): action = text after the first backslash. */
  private received(message: StandInMessage): void {
    const text = message.text;
    if (text === undefined) return;
    const slash = text.indexOf('\\');
    if (slash < 0) return;
    const action = text.substring(slash + 1);
    const request = this.store.requests.get(message.recipient);
    if (!request) return;
    if (action === 'agent') this.route(request);
    else if (action === 'close') this.close(request, message.sender);
  }

  /**
   * updateWaitingTimeByRequestId (`S:services/requestService.js#L1282-1345`): the first reply of
   * a participant sets `first_response_at` and `waiting_time`, then `request.update`.
   */
  participantReplied(request: StandInRequest, sender: string): void {
    if (!request.participants.includes(sender) || request.first_response_at !== undefined) return;
    const now = Date.now();
    request.first_response_at = new Date(now).toISOString();
    request.waiting_time = now - Date.parse(request.createdAt);
    this.touch(request);
    this.emitRequest('request.update', request);
  }

  /**
   * `PATCH /{p}/requests/{id}` (`S:routes/request.js#L222-325`): sets the listed fields that are
   * truthy in the body (`first_text`, `subject`, `tags`, `priority`, `status`, …), ignores the
   * rest, and emits `request.update`.
   */
  patch(request: StandInRequest, body: Record<string, unknown>): StandInRequest {
    const allowed = ['first_text', 'subject', 'tags', 'priority', 'status', 'language', 'rating'];
    const target = request as unknown as Record<string, unknown>;
    for (const key of allowed) if (body[key]) target[key] = body[key];
    this.touch(request);
    this.emitRequest('request.update', request);
    return request;
  }

  /**
   * closeRequestByRequestId (§2.4): `changeStatusByRequestId` emits `request.update` with status
   * 1000 before transcript, closed_at/by and duration are set; `request.close` has them.
   * Already closed → only request.close + another "Chat closed".
   */
  close(request: StandInRequest, closedBy: string): StandInRequest {
    if (request.status !== CLOSED) {
      const now = Date.now();
      request.status = CLOSED;
      this.touch(request);
      this.emitRequest('request.update', request);
      request.transcript = this.transcript(request.request_id);
      request.closed_at = new Date(now).toISOString();
      request.closed_by = closedBy;
      request.duration = now - Date.parse(request.createdAt);
    }
    const messages = [...this.store.messagesOf(request.request_id)].sort((a, b) =>
      a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0,
    );
    this.hooks.emit(['request.close'], () => ({
      ...requestJson(request),
      messages,
      transcript: request.transcript,
    }));
    this.addMessage(request, chatClosed(request.language), false);
    return request;
  }

  /** PATCH …/attributes: shallow merge, request.update. */
  patchAttributes(request: StandInRequest, data: Record<string, unknown>): StandInRequest {
    Object.assign(request.attributes, data);
    this.touch(request);
    this.emitRequest('request.update', request);
    return request;
  }

  private transcript(requestId: string): string {
    return this.store
      .messagesOf(requestId)
      .map(
        (m) =>
          `${new Date(m.createdAt).toLocaleString('it', { timeZone: 'UTC' })} ${m.senderFullname}: ${m.text}`,
      )
      .join('\r\n');
  }

  private touch(request: StandInRequest): void {
    request.updatedAt = nowIso();
    request.__v += 1;
  }

  private emitRequest(event: string, request: StandInRequest): void {
    this.hooks.emit([event], () => requestJson(request));
  }
}
