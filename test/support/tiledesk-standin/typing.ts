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
import type { StandInRequest, StandInUserDoc } from './types';
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
    // virtuals (`id`).
    project_user: { ...pu, id: pu._id, id_user: { ...agent, id: agent._id } },
    createdBy: agent._id,
    updatedBy: agent._id,
    status: 'stardard',
    createdAt: at,
    updatedAt: at,
    __v: 0,
    id,
  };
}
