/** The request document (tiledesk-api.md §2.3, shape of the fixtures' `payload.request`). */
import type { Store } from './model';
import type {
  StandInDepartment,
  StandInLead,
  StandInProjectUser,
  StandInRequest,
  StandInUserDoc,
} from './types';
import { clone, nowIso, objectId } from './util';
import { publicBot } from './bots';

export interface RequestInput {
  requestId: string;
  requester: StandInProjectUser;
  lead: StandInLead;
  firstText: string;
  departmentId?: string;
  status?: number;
  participants?: string[];
  channel?: { name: string };
  attributes?: Record<string, unknown>;
  language?: string;
  subject?: string;
  sourcePage?: string;
  userAgent?: string;
  preflight?: boolean;
  priority?: string;
  followers?: string[];
  createdBy: string;
}

/** A new, unrouted request (status 100 until the caller decides). */
export function buildRequest(store: Store, input: RequestInput): StandInRequest {
  const at = nowIso();
  const department = store.department(input.departmentId);
  const email = input.lead.email;
  return {
    _id: objectId(),
    request_id: input.requestId,
    status: 100,
    preflight: input.preflight ?? false,
    hasBot: false,
    participants: [],
    participantsAgents: [],
    participantsBots: [],
    participatingAgents: [],
    participatingBots: [],
    priority: input.priority ?? 'medium',
    followers: input.followers ?? [],
    tags: [],
    notes: [],
    requester: input.requester,
    lead: input.lead,
    first_text: input.firstText,
    department,
    // request.attributes = the first message's attributes (a separate document)
    attributes: clone(input.attributes ?? {}),
    id_project: store.projectId,
    createdBy: input.createdBy,
    channel: input.channel ?? { name: 'chat21' },
    channelOutbound: { name: 'chat21' },
    ...(input.language !== undefined && { language: input.language }),
    ...(input.subject !== undefined && { subject: input.subject }),
    ...(input.sourcePage !== undefined && { sourcePage: input.sourcePage }),
    ...(input.userAgent !== undefined && { userAgent: input.userAgent }),
    snapshot: {
      requester: input.requester,
      lead: input.lead,
      department,
      availableAgentsCount: store.availableAgentsCount(),
    },
    ...(email !== undefined && { contact: { email } }),
    smartAssignment: true,
    ticket_id: store.nextTicket(),
    createdAt: at,
    updatedAt: at,
    __v: 0,
  };
}

/** participants + the derived agent/bot lists and the populated `participatingAgents`. */
export function setParticipants(
  store: Store,
  request: StandInRequest,
  participants: string[],
): void {
  request.participants = [...participants];
  request.participantsAgents = participants.filter((p) => !p.startsWith('bot_'));
  request.participantsBots = participants
    .filter((p) => p.startsWith('bot_'))
    .map((p) => p.slice(4));
  request.hasBot = participants[0]?.startsWith('bot_') ?? false;
  request.participatingAgents = request.participantsAgents
    .map((p) => store.users.get(p))
    .filter((u): u is StandInUserDoc => u !== undefined);
  // populate('participatingBots'): the bot documents (without their secret).
  request.participatingBots = request.participantsBots
    .map((id) => store.bots.get(id))
    .filter((b) => b !== undefined)
    .map((b) => publicBot(b));
}

/**
 * Requests created already served (`participants` on the first message) get no department
 * (requestService.create sets one only when it routes); routing gives them one. Kept beside the
 * live documents, so that their JSON leaves the field out.
 */
const WITHOUT_DEPARTMENT = new WeakSet<StandInRequest>();

export function withoutDepartment(request: StandInRequest, without: boolean): void {
  if (without) WITHOUT_DEPARTMENT.add(request);
  else WITHOUT_DEPARTMENT.delete(request);
}

/**
 * The request as the API answers it and `request.*` webhooks carry it: mongoose `toJSON` with
 * virtuals (`id`, `requester_id`; `id` and `isAuthenticated` on project users, `id` and `hasBot`
 * on departments). Leads and users have none.
 */
export function requestJson(request: StandInRequest): Record<string, unknown> {
  const json: Record<string, unknown> = {
    ...requestLean(request),
    id: request._id,
    requester: projectUserJson(request.requester),
    requester_id: request.lead._id,
    department: departmentJson(request.department),
    snapshot: {
      ...request.snapshot,
      requester: projectUserJson(request.snapshot.requester),
      department: departmentJson(request.snapshot.department),
    },
  };
  return WITHOUT_DEPARTMENT.has(request) ? dropDepartment(json) : json;
}

function dropDepartment(json: Record<string, unknown>): Record<string, unknown> {
  const { department: _d, snapshot, ...rest } = json;
  const { department: _s, ...snap } = (snapshot ?? {}) as Record<string, unknown>;
  return { ...rest, snapshot: snap };
}

/**
 * The request as `message.create` payloads carry it: lean, no virtuals. Empty `attributes` are
 * left out, as mongoose's `minimize` never stores an empty object.
 */
export function requestLean(request: StandInRequest): Record<string, unknown> {
  const lean = (): Record<string, unknown> => {
    if (Object.keys(request.attributes).length > 0) return { ...request };
    const { attributes: _empty, ...rest } = request;
    void _empty;
    return rest;
  };
  return WITHOUT_DEPARTMENT.has(request) ? dropDepartment(lean()) : lean();
}

export function projectUserJson(pu: StandInProjectUser): Record<string, unknown> {
  return { ...pu, isAuthenticated: pu.role !== 'guest', id: pu._id };
}

function departmentJson(d: StandInDepartment): Record<string, unknown> {
  return { ...d, hasBot: d.id_bot !== undefined, id: d._id };
}
