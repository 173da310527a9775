import { z } from 'zod';

/**
 * Wire shapes of the Tiledesk REST API and webhooks we read (tiledesk-api.md §1–§5). Loose
 * objects: unknown fields pass through; the fields we rely on are checked.
 *
 * The schemas are `@internal` (stripped from the published `.d.ts`, see tsconfig.build.json):
 * the public types below are written out so no zod type reaches a consumer's compiler. Each
 * schema `satisfies` its interface; test/unit/public-types.test.ts checks the other direction.
 */

/** @internal */
export const SignInResponse = z.looseObject({
  token: z.string().min(1),
  user: z.looseObject({ _id: z.string().optional(), id: z.string().optional() }).optional(),
});

/** A Tiledesk message as delivered or listed: the fields this package reads. */
export interface TiledeskMessage {
  _id: string;
  sender: string;
  senderFullname?: string | undefined;
  recipient: string;
  type?: string | undefined;
  text?: string | null | undefined;
  status?: number | undefined;
  attributes?: Record<string, unknown> | null | undefined;
  metadata?: unknown;
  createdAt?: string | undefined;
  request?:
    | {
        participants?: string[] | undefined;
        participantsAgents?: string[] | undefined;
      }
    | undefined;
}

/**
 * A message as delivered or listed. Strict about what we read, and it keeps only that
 * (`z.object` strips): deliveries embed the whole populated request, which we never copy.
 * @internal
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
}) satisfies z.ZodType<TiledeskMessage>;

/**
 * What we read of a `POST …/messages` answer: only its id (the rest is a large request doc).
 * @internal
 */
export const SentMessage = z.object({ _id: z.string() });

/**
 * `POST /{p}/files/chat` answer (201, `S:routes/filesp.js` `/chat`): the stored file's path,
 * `uploads/users/<user>/files/<uuid>/<name>`, served by `GET /files/download?path=`.
 * @internal
 */
export const UploadedFile = z.looseObject({ filename: z.string().min(1) });

/**
 * `GET /:p/publicanalytics/waiting/current`: `[{ _id, waiting_time_avg }]`, or `[]` (routes/public-analytics.js).
 * @internal
 */
export const WaitingTime = z.array(
  z.looseObject({ waiting_time_avg: z.number().nullable().optional() }),
);

/** A Tiledesk request (the support conversation): the fields this package reads. */
export interface TiledeskRequest {
  [key: string]: unknown;
  request_id: string;
  status: number;
  participants?: string[] | undefined;
  participatingAgents?:
    | {
        [key: string]: unknown;
        _id?: string | undefined;
        firstname?: string | undefined;
        lastname?: string | undefined;
      }[]
    | undefined;
}

/** @internal */
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
}) satisfies z.ZodType<TiledeskRequest>;

/** A Tiledesk webhook subscription. */
export interface Subscription {
  [key: string]: unknown;
  _id: string;
  event: string;
  target: string;
  secret?: string | undefined;
}

/** @internal */
export const Subscription = z.looseObject({
  _id: z.string(),
  event: z.string(),
  target: z.string(),
  secret: z.string().optional(),
}) satisfies z.ZodType<Subscription>;

/** A Tiledesk bot (`faq_kb`); `secret` only in the answer that creates it (§10). */
export interface TiledeskBot {
  [key: string]: unknown;
  _id: string;
  name?: string | undefined;
  type?: string | undefined;
  url?: string | undefined;
  secret?: string | undefined;
  trashed?: boolean | undefined;
}

/** @internal */
export const TiledeskBot = z.looseObject({
  _id: z.string(),
  name: z.string().optional(),
  type: z.string().optional(),
  url: z.string().optional(),
  secret: z.string().optional(),
  trashed: z.boolean().optional(),
}) satisfies z.ZodType<TiledeskBot>;

/**
 * Envelope of every webhook delivery (§5.3): no top-level `event`; use `hook.event`.
 * @internal
 */
export const WebhookEnvelope = z.object({
  timestamp: z.number().optional(),
  // Checked as an object here, and by the event's own schema (e.g. TiledeskMessage) next.
  payload: z.custom<Record<string, unknown>>(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  ),
  hook: z.object({ _id: z.string().optional(), event: z.string() }),
  token: z.string().optional(),
});
/** @internal */
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

/** Body we POST to `/{project}/requests/{id}/messages` (§3.2). */
export interface OutgoingMessage {
  text: string;
  type?: 'text' | 'image' | 'file' | 'gallery';
  sender?: string;
  senderFullname?: string;
  channel?: { name: string };
  metadata?: Record<string, unknown>;
  attributes?: Record<string, unknown>;
  language?: string;
  departmentid?: string;
  request_status?: number;
  /** First message only: who serves the new request (`bot_<id>` for a Tiledesk bot). */
  participants?: string[];
  email?: string;
}
