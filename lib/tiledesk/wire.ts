import { z } from 'zod';

/**
 * Wire shapes of the Tiledesk REST API and webhooks we read (tiledesk-api.md §1–§5). Loose
 * objects: unknown fields pass through; the fields we rely on are checked.
 */

export const SignInResponse = z.looseObject({
  token: z.string().min(1),
  user: z.looseObject({ _id: z.string().optional(), id: z.string().optional() }).optional(),
});

/**
 * A message as delivered or listed. Strict about what we read, and it keeps only that
 * (`z.object` strips): deliveries embed the whole populated request, which we never copy.
 */
export const TiledeskMessage = z.object({
  _id: z.string(),
  sender: z.string(),
  senderFullname: z.string().optional(),
  recipient: z.string(),
  type: z.string().optional(),
  text: z.string().optional().nullable(),
  status: z.number().optional(),
  attributes: z.record(z.string(), z.unknown()).optional().nullable(),
  metadata: z.unknown().optional(),
  createdAt: z.string().optional(),
  request: z
    .object({
      participants: z.array(z.string()).optional(),
      participantsAgents: z.array(z.string()).optional(),
    })
    .optional(),
});
export type TiledeskMessage = z.infer<typeof TiledeskMessage>;

/** What we read of a `POST …/messages` answer: only its id (the rest is a large request doc). */
export const SentMessage = z.object({ _id: z.string() });

/** `GET /:p/publicanalytics/waiting/current`: `[{ _id, waiting_time_avg }]`, or `[]` (routes/public-analytics.js). */
export const WaitingTime = z.array(
  z.looseObject({ waiting_time_avg: z.number().nullable().optional() }),
);

export const TiledeskRequest = z.looseObject({
  request_id: z.string(),
  status: z.number(),
  participants: z.array(z.string()).optional(),
  participatingAgents: z
    .array(
      z.looseObject({
        _id: z.string().optional(),
        firstname: z.string().optional(),
        lastname: z.string().optional(),
      }),
    )
    .optional(),
});
export type TiledeskRequest = z.infer<typeof TiledeskRequest>;

export const Subscription = z.looseObject({
  _id: z.string(),
  event: z.string(),
  target: z.string(),
  secret: z.string().optional(),
});
export type Subscription = z.infer<typeof Subscription>;

/** Envelope of every webhook delivery (§5.3): no top-level `event`; use `hook.event`. */
export const WebhookEnvelope = z.object({
  timestamp: z.number().optional(),
  // Checked as an object here, and by the event's own schema (e.g. TiledeskMessage) next.
  payload: z.custom<Record<string, unknown>>(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  ),
  hook: z.object({ _id: z.string().optional(), event: z.string() }),
  token: z.string().optional(),
});
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

/** Body we POST to `/{project}/requests/{id}/messages` (§3.2). */
export interface OutgoingMessage {
  text: string;
  type?: 'text' | 'image' | 'file';
  sender?: string;
  senderFullname?: string;
  channel?: { name: string };
  metadata?: Record<string, unknown>;
  attributes?: Record<string, unknown>;
  language?: string;
  departmentid?: string;
  request_status?: number;
  email?: string;
}
