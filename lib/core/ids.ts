import { createHash } from 'node:crypto';

/** Identifiers and storage keys; pure functions. */

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Stable, storage-safe key of a bot conversation (channel ids may hold `|`, `;`, `:`). */
export function conversationKey(channelId: string, conversationId: string): string {
  const id = `${channelId}\n${conversationId}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = sha256(id).slice(0, 32);
    keys.set(id, key);
    if (keys.size > KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!);
  }
  return key;
}

/** Every turn needs its conversation's key: a sha256 is ~15 µs, so recent ones are kept. */
const keys = new Map<string, string>();
const KEY_CACHE_SIZE = 1024;

/**
 * The Tiledesk request id of a conversation's n-th request: `support-group-<project>-<convKey>`
 * for the first (Tiledesk's own convention, tiledesk-api.md §2.1: the `support-group` prefix is
 * functionally required), then `…-<convKey>-<n>` (connectors append routing data the same way).
 * Deterministic, so two bot instances that see the same conversation agree without
 * coordination, and reversible: a webhook names its conversation without a storage lookup.
 * `generation` moves on each time the request is closed.
 */
export function requestIdFor(projectId: string, convKey: string, generation: number): string {
  const base = `support-group-${projectId}-${convKey}`;
  return generation === 0 ? base : `${base}-${generation}`;
}

/** The conversation and generation a request id of ours names, or `undefined` for any other. */
export function parseRequestId(
  projectId: string,
  requestId: string,
): { convKey: string; generation: number } | undefined {
  const prefix = `support-group-${projectId}-`;
  if (!requestId.startsWith(prefix)) return undefined;
  const match = /^([0-9a-f]{32})(?:-([1-9][0-9]{0,8}))?$/.exec(requestId.slice(prefix.length));
  if (!match) return undefined;
  return { convKey: match[1]!, generation: match[2] === undefined ? 0 : Number(match[2]) };
}

/**
 * Tiledesk user id of an end user: `<project>_<channel>_<24 hex>` (§1.5 id hygiene: long, only
 * `[A-Za-z0-9_-]`, never 12 characters or 24 hex, which the server would take for ObjectIds).
 */
export function endUserId(projectId: string, channelId: string, userId: string): string {
  const channel = channelId.replace(/[^A-Za-z0-9-]/g, '').slice(0, 20) || 'bf';
  return `${projectId}_${channel}_${sha256(`${channelId}\n${userId}`).slice(0, 24)}`;
}

/** Sender id of mirrored bot messages (§8.4: a stable id of our choosing; `system` is reserved). */
export function botSenderId(botId: string): string {
  return `bot_${sha256(botId).slice(0, 24)}`;
}

export const storageKeys = {
  conversation: (convKey: string) => `tiledesk/conversation/${convKey}`,
  user: (tiledeskUserId: string) => `tiledesk/user/${tiledeskUserId}`,
  subscriptions: (channelName: string) => `tiledesk/subscriptions/${channelName}`,
  bot: (channelName: string) => `tiledesk/bot/${channelName}`,
};
