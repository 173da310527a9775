import { z } from 'zod';
import { TiledeskError } from '../errors';
import { withETagRetry } from './etag-retry';
import { storageKeys } from './ids';
import type { ConversationRef, KeyValueStorage } from './types';

/**
 * Per-conversation state behind a botbuilder-compatible `Storage`, plus the reverse index
 * request id → conversation used by webhooks. Updates are eTag-safe read-modify-write with
 * retries, so several bot instances can share one storage.
 */

const HandoffState = z.object({
  at: z.number(),
  trigger: z.string(),
  /** An agent has been announced to the user (we emit `accepted` once). */
  accepted: z.boolean().default(false),
});

const RecordSchema = z.object({
  v: z.literal(1),
  reference: z.custom<ConversationRef>((v) => typeof v === 'object' && v !== null),
  /** Moves on each time a request is closed; the request id derives from it. */
  generation: z.number().int().nonnegative(),
  requestId: z.string(),
  /** The current request exists in Tiledesk (its first message was accepted). */
  opened: z.boolean().default(false),
  mode: z.enum(['bot', 'handoff']),
  handoff: HandoffState.optional(),
  /** Agent messages already delivered to the user, as `<id>@<createdAt>` (bounded, newest last). */
  delivered: z.array(z.string()).default([]),
  /** Messages created at or before this were delivered (entries fell out of `delivered`). */
  deliveredFloor: z.string().optional(),
});

export type ConversationRecord = z.infer<typeof RecordSchema>;
export type HandoffState = z.infer<typeof HandoffState>;

const RequestIndex = z.object({ convKey: z.string() });

const MAX_DELIVERED = 20;

export class ConversationStore {
  constructor(private readonly storage: KeyValueStorage) {}

  async get(convKey: string): Promise<ConversationRecord | undefined> {
    const key = storageKeys.conversation(convKey);
    const items = await this.storage.read([key]);
    return parseRecord(key, items[key]);
  }

  /**
   * Creates the record (and its request index) unless one exists, and returns what is stored.
   * `Storage` has no create-only write, so two instances racing on a brand-new conversation can
   * both write; they write the same content (the request id is derived, not random).
   */
  async create(convKey: string, record: ConversationRecord): Promise<ConversationRecord> {
    const existing = await this.get(convKey);
    if (existing) return existing;
    await this.storage.write({
      [storageKeys.conversation(convKey)]: { ...record, eTag: '*' },
      [storageKeys.request(record.requestId)]: { convKey, eTag: '*' },
    });
    return record;
  }

  /**
   * Read-modify-write with optimistic concurrency. `change` returns the new record, or
   * `undefined` to leave it as it is. Retries on eTag conflicts.
   */
  async update(
    convKey: string,
    change: (current: ConversationRecord) => ConversationRecord | undefined,
  ): Promise<ConversationRecord | undefined> {
    const key = storageKeys.conversation(convKey);
    return withETagRetry(async () => {
      const items = await this.storage.read([key]);
      const raw = items[key] as { eTag?: string } | undefined;
      const current = parseRecord(key, raw);
      if (!current) return undefined;
      const next = change(current);
      if (!next) return current;
      const changes: Record<string, unknown> = { [key]: { ...next, eTag: raw?.eTag ?? '*' } };
      if (next.requestId !== current.requestId) {
        changes[storageKeys.request(next.requestId)] = { convKey, eTag: '*' };
      }
      await this.storage.write(changes);
      return next;
    });
  }

  async conversationOfRequest(requestId: string): Promise<string | undefined> {
    const key = storageKeys.request(requestId);
    const items = await this.storage.read([key]);
    const parsed = RequestIndex.safeParse(items[key]);
    return parsed.success ? parsed.data.convKey : undefined;
  }
}

export function newRecord(reference: ConversationRef, requestId: string): ConversationRecord {
  return { v: 1, reference, generation: 0, requestId, opened: false, mode: 'bot', delivered: [] };
}

export function withDelivered(
  record: ConversationRecord,
  messageId: string,
  createdAt = '',
): ConversationRecord {
  const delivered = [...record.delivered, `${messageId}@${createdAt}`];
  let floor = record.deliveredFloor;
  while (delivered.length > MAX_DELIVERED) {
    const evicted = delivered.shift()!.split('@')[1] ?? '';
    if (!floor || evicted > floor) floor = evicted;
  }
  return { ...record, delivered, ...(floor ? { deliveredFloor: floor } : {}) };
}

/** Was this agent message delivered already (by a webhook or a catch-up)? */
export function wasDelivered(
  record: ConversationRecord,
  messageId: string,
  createdAt = '',
): boolean {
  if (record.deliveredFloor && createdAt && createdAt <= record.deliveredFloor) return true;
  return record.delivered.some((entry) => entry === messageId || entry.startsWith(`${messageId}@`));
}

function parseRecord(key: string, raw: unknown): ConversationRecord | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parsed = RecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TiledeskError(
      'TILEDESK_STORAGE',
      `Stored item ${key} is not a valid conversation record`,
      {
        key,
        problem: parsed.error.issues[0]?.message,
      },
    );
  }
  return parsed.data;
}
