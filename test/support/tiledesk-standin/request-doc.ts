/** The request document (tiledesk-api.md §2.3, shape of the fixtures' `payload.request`). */
import type { Store } from './model';
import type { StandInLead, StandInProjectUser, StandInRequest, StandInUserDoc } from './types';
import { clone, nowIso, objectId } from './util';

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
  const id = objectId();
  const department = store.department(input.departmentId);
  const email = input.lead.email;
  return {
    _id: id,
    id,
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
    requester_id: input.lead._id,
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
}
