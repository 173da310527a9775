import type { AxiosInstance } from 'axios';
import { TiledeskApiError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { OutgoingMessage } from '../tiledesk/wire';
import {
  AttachmentFetchError,
  decodeDataUrl,
  type Fetched,
  fetchAttachment,
} from './attachment-fetch';
import { allowed, type FileIdentity, identify, mimeOf } from './file-types';
import {
  describe,
  describeUploadRefusal,
  note,
  type Refusal,
  refusedDownload,
  tooLarge,
} from './upload-notes';
import { toTiledeskMessages } from './to-tiledesk';
import type { ChatActivity, ChatAttachment, ConversationRef } from './types';

/**
 * Files users send, copied into Tiledesk when their link would not work for an agent (README,
 * "Files users send"). Which attachments are copied (`planCopy`):
 * - `data:` URLs (inline bytes; Tiledesk cannot show them);
 * - Teams files (`application/vnd.microsoft.teams.file.download.info`): `content.downloadUrl` is
 *   a short-lived pre-authenticated link, fetched without the bot's token;
 * - links on the channel's own service (same origin as the conversation's `serviceUrl`: the Bot
 *   Connector's `/v3/attachments`, the Emulator) or on a Bot Framework host (Direct Line, Teams'
 *   `smba` service): private or expiring, fetched with the bot's token.
 * Any other link is public as far as we can tell and is mirrored as it is.
 *
 * Each copied attachment is its own part of the entry, keyed `<entry>:f<index>` whatever the
 * outcome, so a retried post never posts it twice (the image, or a note saying why it is not
 * there). Network errors, timeouts and 5xx are retried by the outbox; after
 * `GIVE_UP_AFTER` attempts, or on a permanent answer (too large, type not allowed, 401/403/404,
 * Tiledesk's 4xx), the part is a visible note naming the file, its type and size, and why.
 */

export const TEAMS_FILE = 'application/vnd.microsoft.teams.file.download.info';

/** Attempts of one entry after which a download still failing becomes a note. */
export const GIVE_UP_AFTER = 6;

const BOT_FRAMEWORK_HOSTS = [
  /(^|\.)botframework\.com$/,
  /(^|\.)botframework\.azure\.us$/,
  /^smba\.trafficmanager\.net$/,
  /^smba\.infra\.[a-z.]+\.teams\.microsoft\.(com|us)$/,
  // Images pasted into Teams channel messages (hosted content, bot token required).
  /(^|\.)asm\.skype\.com$/,
];

export interface CopyPlan {
  url: string;
  /** Send the bot's token (links on the channel's service only). */
  withToken: boolean;
}

/** Whether (and from where) an attachment must be copied; `undefined`: mirror it as it is. */
export function planCopy(attachment: ChatAttachment, serviceUrl?: string): CopyPlan | undefined {
  if (attachment.contentType === TEAMS_FILE) {
    const url = (attachment.content as { downloadUrl?: unknown } | undefined)?.downloadUrl;
    return typeof url === 'string' && isHttp(url) ? { url, withToken: false } : undefined;
  }
  const url = attachment.contentUrl;
  if (!url) return undefined;
  if (/^data:/i.test(url)) return { url, withToken: false };
  if (!isHttp(url)) return undefined;
  const target = new URL(url);
  const service = serviceUrl && isHttp(serviceUrl) ? new URL(serviceUrl) : undefined;
  const own =
    (service !== undefined && service.origin === target.origin) ||
    BOT_FRAMEWORK_HOSTS.some((host) => host.test(target.hostname.toLowerCase()));
  return own ? { url, withToken: true } : undefined;
}

export interface UploadsOptions {
  api: TiledeskApi;
  http: AxiosInstance;
  maxBytes: number;
  /** Allowed extensions (`.jpg`…), or `*∕*`. */
  types: readonly string[];
  timeoutMs: number;
  /** The bot's token for the channel's attachment service; absent or undefined: none. */
  token?: ((reference: ConversationRef) => Promise<string | undefined>) | undefined;
}

/** One attachment to copy: its stable key and how to make its Tiledesk message. */
export interface FilePart {
  key: string;
  prepare(token: string): Promise<OutgoingMessage>;
}

export class Uploads {
  /** Messages made on an earlier attempt (a file uploaded once, even if its post failed). */
  private readonly made = new Map<string, OutgoingMessage>();

  constructor(private readonly o: UploadsOptions) {}

  /**
   * Splits a user's activity: what is mirrored as it is (`rest`, `undefined` when nothing is
   * left of it) and the attachments to copy, each a part of its own.
   */
  split(
    activity: ChatActivity,
    reference: ConversationRef,
    entryKey: string,
    attempt: number,
  ): { rest: ChatActivity | undefined; files: FilePart[] } {
    const serviceUrl = typeof reference['serviceUrl'] === 'string' ? reference['serviceUrl'] : '';
    const kept: ChatAttachment[] = [];
    const files: FilePart[] = [];
    (activity.attachments ?? []).forEach((attachment, i) => {
      const plan = planCopy(attachment, serviceUrl);
      if (!plan) {
        kept.push(attachment);
        return;
      }
      const key = `${entryKey}:f${i}`;
      files.push({
        key,
        prepare: (token) => this.prepare(key, attachment, plan, reference, token, attempt),
      });
    });
    if (files.length === 0) return { rest: activity, files };
    const rest: ChatActivity = { ...activity, attachments: kept };
    const empty = !rest.text?.trim() && kept.length === 0 && !rest.suggestedActions?.actions.length;
    return { rest: empty ? undefined : rest, files };
  }

  private async prepare(
    key: string,
    attachment: ChatAttachment,
    plan: CopyPlan,
    reference: ConversationRef,
    token: string,
    attempt: number,
  ): Promise<OutgoingMessage> {
    const done = this.made.get(key);
    if (done) return done;
    const file = identify(attachment.name, plan.url, typeOf(attachment));
    let message: OutgoingMessage;
    try {
      const outcome = await this.copy(attachment, file, plan, reference, token);
      message =
        'url' in outcome
          ? mediaMessage(attachment, outcome.file, outcome.url)
          : note(outcome.file, outcome);
    } catch (err) {
      // Worth another try (the outbox's), up to a point; anything else will not get better.
      if (retryable(err) && attempt < GIVE_UP_AFTER) throw err;
      const why = retryable(err) ? `${describe(err)}; retries gave up` : describe(err);
      message = note(file, { why: `it could not be copied (${why})` });
    }
    this.made.set(key, message);
    if (this.made.size > 1000) this.made.delete(this.made.keys().next().value!);
    return message;
  }

  private async copy(
    attachment: ChatAttachment,
    file: FileIdentity,
    plan: CopyPlan,
    reference: ConversationRef,
    token: string,
  ): Promise<{ url: string; file: FileIdentity } | (Refusal & { file: FileIdentity })> {
    const { maxBytes, types, api } = this.o;
    const notAllowed = { why: `Tiledesk accepts only ${types.join(', ')} files`, file };
    if (!api.uploadFile || maxBytes === 0) return { why: 'copying files is switched off', file };
    // A known extension is checked before the download; an unknown one (Teams' `image/*`) after,
    // with the type the download answered.
    if (file.extension && !allowed(file.extension, types)) return notAllowed;
    const fetched = await this.fetch(plan, reference);
    if (!fetched.ok) {
      if (fetched.reason === 'too-large') {
        return { why: tooLarge(maxBytes), size: fetched.size, file };
      }
      return { ...refusedDownload(fetched.status, plan.withToken), file };
    }
    const size = fetched.data.length;
    if (!file.extension) {
      file = identify(attachment.name, plan.url, fetched.contentType);
      if (!allowed(file.extension, types)) return { ...notAllowed, size, file };
    }
    try {
      const data = fetched.data;
      const { url } = await api.uploadFile(token, {
        name: file.name,
        contentType: file.contentType,
        data,
      });
      return { url, file };
    } catch (err) {
      if (!(err instanceof TiledeskApiError) || err.retryable || err.status === undefined)
        throw err;
      if (err.status === 413) {
        return { why: `Tiledesk refused it as too large (HTTP 413)`, size, file };
      }
      // 401: a stale token; the mirror's next attempt signs in again.
      if (err.status === 401) throw err.asRetryable();
      return { why: `Tiledesk refused it (${describeUploadRefusal(err)})`, size, file };
    }
  }

  private async fetch(plan: CopyPlan, reference: ConversationRef): Promise<Fetched> {
    const { maxBytes, timeoutMs } = this.o;
    if (/^data:/i.test(plan.url)) {
      const decoded = decodeDataUrl(plan.url, maxBytes);
      if (decoded === 'too-large') return { ok: false, reason: 'too-large', size: undefined };
      if (!decoded) return { ok: false, reason: 'refused', status: 0 };
      return { ok: true, ...decoded };
    }
    let token: string | undefined;
    try {
      token = plan.withToken ? await this.o.token?.(reference) : undefined;
    } catch {
      // (The provider's error may quote credentials: not kept.)
      throw new AttachmentFetchError("the bot's token could not be obtained");
    }
    return fetchAttachment(this.o.http, plan.url, { maxBytes, timeoutMs, token });
  }
}

function mediaMessage(attachment: ChatAttachment, file: FileIdentity, url: string) {
  const copy = { contentType: file.contentType, name: attachment.name ?? file.name };
  const messages = toTiledeskMessages({
    type: 'message',
    attachments: [{ ...copy, contentUrl: url }],
  });
  return messages.find((m) => m.type === 'image' || m.type === 'file') ?? messages[0]!;
}

/** The attachment's MIME type (a Teams file's comes from its `fileType`, e.g. `pdf`). */
function typeOf(attachment: ChatAttachment): string | undefined {
  if (attachment.contentType !== TEAMS_FILE) return attachment.contentType;
  const fileType = (attachment.content as { fileType?: unknown } | undefined)?.fileType;
  return typeof fileType === 'string' ? mimeOf(`.${fileType.toLowerCase()}`) : undefined;
}

function retryable(err: unknown): boolean {
  return (err as { retryable?: unknown } | undefined)?.retryable === true;
}

function isHttp(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
