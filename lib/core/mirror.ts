import { TiledeskApiError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { OutgoingMessage } from '../tiledesk/wire';
import type { Credentials, EndUser } from './credentials';
import { endUserId, requestIdFor } from './ids';
import type { PostContext } from './outbox';
import type { ConversationRecord, OutboxEntry } from './record';
import type { KnownBot } from './tiledesk-bot';
import { MIRROR_MARK, toTiledeskMessages } from './to-tiledesk';
import type { ChatActivity } from './types';
import type { FilePart, Uploads } from './uploads';

/**
 * Posts one conversation's mirrored messages to Tiledesk (bot → Tiledesk direction). Called by
 * the outbox's lane, so calls for one conversation never overlap.
 *
 * Request creation (tiledesk-api.md §2.2, §8.3, §10): the first message creates the request,
 * posted with the end user's token, carrying the channel, department, requester attributes and
 * either `request_status: 50` (`hidden`: no agent gets it before a handoff, no list shows it) or
 * `participants: ['bot_<id>']` (`bot`: served by our Tiledesk bot, live in the monitor, and our
 * bot's messages are posted as that bot). Creation fields are sent on every
 * message: Tiledesk reads them only on creation, and that keeps us free of "is it created yet?"
 * races between bot instances.
 */

export interface MirrorOptions {
  api: TiledeskApi;
  credentials: Credentials;
  projectId: string;
  channelName: string;
  departmentId: string | undefined;
  botName: string;
  botSender: string;
  /**
   * `TiledeskMirrorVisibility=bot`: the Tiledesk bot that serves new requests and speaks for our
   * bot (throws while it is not known: the outbox retries). Absent: `hidden` (status 50).
   */
  servedBy?: () => Promise<KnownBot>;
  /** Copies users' private or expiring files into Tiledesk (lib/core/uploads.ts). */
  uploads?: Uploads | undefined;
}

export class Mirror {
  constructor(private readonly o: MirrorOptions) {}

  requestId(convKey: string, record: ConversationRecord): string {
    return requestIdFor(this.o.projectId, convKey, record.gen);
  }

  endUserOf(record: ConversationRecord): EndUser {
    const ref = record.ref;
    const channelId = ref.channelId ?? 'unknown';
    const user = ref.user ?? { id: 'unknown' };
    return { id: endUserId(this.o.projectId, channelId, user.id), name: user.name };
  }

  /**
   * Posts a user or bot entry (each of its Tiledesk messages, keyed `<entry>:<n>`). When the
   * entry may have been posted before (a lost response, a takeover), the request's messages are
   * read once and every part already there is skipped: no duplicate, whichever part it was.
   */
  async post(
    convKey: string,
    record: ConversationRecord,
    entry: OutboxEntry,
    ctx: PostContext,
  ): Promise<void> {
    const parts: Part[] = [];
    // An entry for an older request (a notice of its close) goes there; it existed.
    const gen = entry.gen ?? record.gen;
    if (gen !== record.gen) ctx = { ...ctx, opened: true };
    if (!ctx.opened && entry.kind === 'bot') {
      // A new request must be created by a project user (§3.3): open it with a hidden info line.
      parts.push({ key: `${entry.key}:open`, message: opener(), role: 'user' });
    }
    const role = entry.kind === 'bot' ? 'bot' : 'user';
    let activity: ChatActivity | undefined = entry.activity ?? { type: 'message' };
    let files: FilePart[] = [];
    if (role === 'user' && !entry.info && entry.activity?.attachments?.length && this.o.uploads) {
      // Files whose link an agent could not open are copied, each a part of its own (`:f<i>`).
      ({ rest: activity, files } = this.o.uploads.split(
        entry.activity,
        record.ref,
        entry.key,
        ctx.attempt,
      ));
    }
    // (Nothing is left of an activity that only carried files to copy.)
    const messages = activity ? toTiledeskMessages(activity) : [];
    messages.forEach((message, i) => {
      // A notice the user was told: an info line of the bot in the transcript.
      if (entry.info)
        message = { ...message, attributes: { ...message.attributes, subtype: 'info' } };
      if (entry.history) message = asHistory(message, entry.sentAt ?? entry.at);
      parts.push({ key: `${entry.key}:${i}`, message, role, activity: entry.activity });
    });
    for (const { key, prepare } of files)
      parts.push({ key, message: { text: '' }, role, activity: entry.activity, prepare });
    await this.send(convKey, record, parts, ctx, gen);
  }

  /** Posts `\agent` (hidden) the way Tiledesk's handoff docs describe (§4.1). */
  async postAgentCommand(
    convKey: string,
    record: ConversationRecord,
    key: string,
    ctx: PostContext,
  ): Promise<void> {
    const message: OutgoingMessage = { text: '\\agent', attributes: { subtype: 'info' } };
    await this.send(convKey, record, [{ key, message, role: 'user' }], ctx);
  }

  /** Makes sure the request exists (e.g. a handoff before anything was mirrored). */
  async ensureOpened(
    convKey: string,
    record: ConversationRecord,
    key: string,
    ctx: PostContext,
  ): Promise<void> {
    if (ctx.opened) return;
    await this.send(convKey, record, [{ key, message: opener(), role: 'user' }], ctx);
  }

  private async send(
    convKey: string,
    record: ConversationRecord,
    parts: Part[],
    ctx: PostContext,
    gen = record.gen,
  ): Promise<void> {
    const requestId = requestIdFor(this.o.projectId, convKey, gen);
    const user = this.endUserOf(record);
    let credentials;
    try {
      credentials = await this.o.credentials.endUser(user, !ctx.opened || ctx.maybePosted);
    } catch (err) {
      throw retryableAuth(err, ctx.attempt);
    }
    const bot = this.o.servedBy ? await this.o.servedBy() : undefined;
    const posted = new Set<string>();
    if (ctx.maybePosted) {
      // Before a close, an entry may have reached the request that was closed since.
      // It may have reached any request since the first one it was queued for (several closes
      // can pass while it waits: the user left, then the agent closed the next one).
      const earlier = parts.length > 0 ? ctx.postedTo : undefined;
      const ids = [requestId];
      if (earlier !== undefined) {
        // (Bounded: an entry does not wait through more than a few closes.)
        for (let g = Math.max(earlier, gen - 4); g < gen; g++) {
          ids.push(requestIdFor(this.o.projectId, convKey, g));
        }
      }
      for (const id of ids)
        for (const k of await this.postedKeys(credentials.token, id)) posted.add(k);
    }
    for (const part of parts) {
      if (posted.has(part.key)) continue;
      const message = part.prepare ? await part.prepare(credentials.token) : part.message;
      const body = this.body(record, { ...part, message }, bot);
      try {
        await this.o.api.sendMessage(credentials.token, requestId, body);
      } catch (err) {
        if (err instanceof TiledeskApiError && (err.status === 401 || err.status === 403)) {
          this.o.credentials.forget(user.id);
          throw retryableAuth(err, ctx.attempt);
        }
        throw err;
      }
    }
  }

  private body(record: ConversationRecord, part: Part, bot: KnownBot | undefined): OutgoingMessage {
    const { message, key, role, activity } = part;
    const ref = record.ref;
    const attributes: Record<string, unknown> = {
      ...message.attributes,
      [MIRROR_MARK]: true,
      bf_key: key,
      bf_channel: ref.channelId,
      bf_conversation: ref.conversation?.id,
    };
    if (activity?.id) attributes['bf_activity'] = activity.id;
    const body: OutgoingMessage = {
      ...message,
      attributes,
      channel: { name: this.o.channelName },
      senderFullname: role === 'bot' ? this.o.botName : (ref.user?.name ?? 'User'),
    };
    if (bot) body.participants = [bot.sender];
    else body.request_status = 50;
    if (role === 'bot') body.sender = bot?.sender ?? this.o.botSender;
    if (this.o.departmentId) body.departmentid = this.o.departmentId;
    const locale = activity?.locale ?? ref.locale;
    if (locale) body.language = locale;
    return body;
  }

  /** The `bf_key`s already in the request (after a lost response or a takeover). */
  private async postedKeys(token: string, requestId: string): Promise<Set<string>> {
    let messages;
    try {
      messages = await this.o.api.getMessages(token, requestId);
    } catch (err) {
      // A request that does not exist yet has no messages of ours.
      if (err instanceof TiledeskApiError && err.status === 404) return new Set();
      throw err;
    }
    const keys = new Set<string>();
    for (const m of messages) {
      const key = m.attributes?.['bf_key'];
      if (typeof key === 'string') keys.add(key);
    }
    return keys;
  }
}

interface Part {
  key: string;
  message: OutgoingMessage;
  role: 'user' | 'bot';
  activity?: ChatActivity | undefined;
  /** Makes the message when it is posted (a copied file: upload first, with the user's token). */
  prepare?: FilePart['prepare'];
}

/**
 * Said before the handoff, posted when it started (mirror mode `handoff`): marked, with the time
 * it was said. Not as `clienttimestamp`: chat21 would then order it by the bot's clock against
 * live messages stamped by Tiledesk's, and a clock skew could put history among them.
 */
function asHistory(message: OutgoingMessage, sentAt: number): OutgoingMessage {
  const attributes = {
    ...message.attributes,
    bf_history: true,
    bf_sent_at: new Date(sentAt).toISOString(),
  };
  return { ...message, attributes };
}

function opener(): OutgoingMessage {
  return { text: 'Conversation started', attributes: { subtype: 'info' } };
}

/** Auth failures are retried once with a fresh token; a second one is final. */
function retryableAuth(err: unknown, attempt: number): unknown {
  return err instanceof TiledeskApiError && !err.retryable && attempt < 2 ? err.asRetryable() : err;
}
