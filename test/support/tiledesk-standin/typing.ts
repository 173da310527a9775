/**
 * An agent typing, as the real server delivers it (tiledesk-server 2.19.16):
 *
 * 1. the agent console writes `/apps/<app>/typings/<request>/<agent>` = `{uid, timestamp,
 *    message, name}` — only with the Firebase chat engine (chat21-ionic
 *    `firebase-typing.service.ts` `setTyping`, 500 ms after the last keystroke, never for an empty
 *    box; the MQTT engine's `setTyping` is empty);
 * 2. chat21-cloud-functions `functions/chat-webhook.js` `onTyping` (onUpdate of that node) POSTs
 *    `{event_type: 'typing-start', recipient_id, writer_id, data}` to `/chat21/requests`;
 * 3. `S:channels/chat21/chat21WebHook.js#L647-724` drops `system`, `bot_*` writers and requests
 *    that are not `support-group-*`, finds the writer's project user and calls
 *    `eventService.emit('typing.start', {recipient_id, writer_id, data}, id_project, pu._id,
 *    writer_id)`;
 * 4. `S:pubmodules/events/eventService.js#L43-89` saves an Event, populates `project_user` (and its
 *    `id_user`), adds `id`, and emits `event.emit` and `event.emit.typing.start`;
 * 5. `S:services/subscriptionNotifier.js#L471-484` delivers both to their subscribers
 *    (project-wide: every request of the project).
 */
import type { Store } from './model';
import { projectUserJson } from './request-doc';
import type { StandInProjectUser, StandInRequest, StandInUserDoc } from './types';
import { nowIso, objectId } from './util';

/** The events a subscriber can take typing from (step 5). */
export const TYPING_EVENTS = ['event.emit', 'event.emit.typing.start'] as const;

/** The Event document as delivered (step 4). */
export interface StandInTypingEvent {
  _id: string;
  name: 'typing.start';
  attributes: {
    recipient_id: string;
    writer_id: string;
    /** What the console wrote (step 1), the agent's draft included. */
    data: { uid: string; timestamp: number; message: string; name: string };
  };
  id_project: string;
  project_user: Record<string, unknown>;
  createdBy: string;
  updatedBy: string;
  /** The model's default, spelt as in `pubmodules/events/event.js`. */
  status: 'stardard';
  createdAt: string;
  updatedAt: string;
  __v: 0;
  id: string;
}

export function typingEvent(
  store: Store,
  request: StandInRequest,
  agent: StandInUserDoc,
  draft: string,
  at: string = nowIso(),
): StandInTypingEvent {
  const pu = store.projectUserById(agent._id);
  if (!pu) throw new Error(`TiledeskStandIn: ${agent._id} is not a project user`);
  const id = objectId();
  return {
    _id: id,
    name: 'typing.start',
    attributes: {
      recipient_id: request.request_id,
      writer_id: agent._id,
      // The console sends the first name only (conversation-detail.page.ts).
      data: { uid: agent._id, timestamp: Date.parse(at), message: draft, name: agent.firstname },
    },
    id_project: request.id_project,
    // Populated with its user (`populate: {path: 'id_user'}`); project users serialise with
    // virtuals (`id`, `isAuthenticated`), users have none (seen on the real server).
    project_user: { ...projectUserJson(pu), id_user: { ...agent } },
    createdBy: agent._id,
    updatedBy: agent._id,
    status: 'stardard',
    createdAt: at,
    updatedAt: at,
    __v: 0,
    id,
  };
}

/**
 * `POST /{p}/events {name, attributes}` (`S:pubmodules/events/eventRoute.js#L15-46`, any project
 * member or a bot/subscription token; `name` required → 422): the same `eventService.emit` as
 * step 4. Answers the saved Event (its `project_user` an id, no `id` virtual); delivers it
 * populated, with the caller as `user` (what passport put in `req.user`: a Tiledesk user's
 * document, without its password), under `event.emit` and `event.emit.<name>`.
 */
export function restEvent(
  store: Store,
  name: string,
  attributes: unknown,
  pu: StandInProjectUser | undefined,
  createdBy: string,
  caller: Record<string, unknown> | undefined,
  at: string = nowIso(),
): { saved: Record<string, unknown>; delivered: Record<string, unknown> } {
  const id = objectId();
  const saved = {
    status: 'stardard',
    _id: id,
    name,
    ...(attributes !== undefined && { attributes }),
    id_project: store.projectId,
    ...(pu !== undefined && { project_user: pu._id }),
    createdBy,
    createdAt: at,
    updatedAt: at,
    __v: 0,
  };
  const user = pu?.id_user !== undefined ? store.users.get(pu.id_user) : undefined;
  const populated =
    pu === undefined
      ? undefined
      : { ...projectUserJson(pu), ...(user && { id_user: { ...user } }) };
  return {
    saved,
    delivered: {
      ...saved,
      ...(populated && { project_user: populated }),
      ...(caller && { user: caller }),
      id,
    },
  };
}
