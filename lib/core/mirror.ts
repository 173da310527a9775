import { randomUUID } from 'node:crypto';
import { TiledeskApiError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { OutgoingMessage } from '../tiledesk/wire';
import type { ConversationRecord, ConversationStore } from './conversation-store';
import type { Credentials, EndUser } from './credentials';
import { endUserId } from './ids';
import { MIRROR_MARK, toTiledeskMessages } from './to-tiledesk';
import type { ChatActivity } from './types';

/**
 * Posts one conversation's mirrored messages to Tiledesk (bot → Tiledesk direction). Called by
 * the ordered queue, so calls for one conversation never overlap.
 *
 * Request creation (tiledesk-api.md §2.2, §8.3): the first message creates the request, posted
 * with the end user's token, carrying the channel, department, requester attributes and
 * `request_status: 50` so no agent gets it before a handoff. Creation fields are sent on every
 * message: Tiledesk reads them only on creation, and that keeps us free of "is it created yet?"
 * races between bot instances.
 */

export interface MirrorItem {
  kind: 'user' | 'bot';
  activity: ChatActivity;
  /** Unique key of this item; `<key>:<n>` marks its n-th Tiledesk message (dedupe on retry). */
  key: string;
  /** How many of its Tiledesk messages were already posted. */
  sent: number;
  /** Taken over from storage after a restart: may have been posted already. */
  recovered?: boolean;
}

export interface MirrorOptions {
  api: TiledeskApi;
  store: ConversationStore;
  credentials: Credentials;
  projectId: string;
  channelName: string;
  departmentId: string | undefined;
  botName: string;
  botSender: string;
}

export class Mirror {
  constructor(private readonly o: MirrorOptions) {}

  static item(kind: 'user' | 'bot', activity: ChatActivity): MirrorItem {
    return { kind, activity, key: randomUUID(), sent: 0 };
  }

  endUserOf(record: ConversationRecord): EndUser {
    const ref = record.reference;
    const channelId = ref.channelId ?? 'unknown';
    const user = ref.user ?? { id: 'unknown' };
    return { id: endUserId(this.o.projectId, channelId, user.id), name: user.name };
  }

  async post(
    convKey: string,
    record: ConversationRecord,
    item: MirrorItem,
    attempt: number,
  ): Promise<void> {
    const messages = toTiledeskMessages(item.activity);
    if (!record.opened && item.kind === 'bot') {
      // A new request must be created by a project user (§3.3): open it with a hidden info line.
      await this.send(convKey, record, opener(), `${item.key}:open`, attempt, 'user');
    }
    for (let i = item.sent; i < messages.length; i++) {
      await this.send(
        convKey,
        record,
        messages[i]!,
        `${item.key}:${i}`,
        attempt,
        item.kind,
        item.activity,
      );
      item.sent = i + 1;
      attempt = 1;
    }
  }

  /** Posts `\agent` (hidden) the way Tiledesk's handoff docs describe (§4.1). */
  async postAgentCommand(
    convKey: string,
    record: ConversationRecord,
    key: string,
    attempt: number,
  ) {
    const message: OutgoingMessage = { text: '\\agent', attributes: { subtype: 'info' } };
    await this.send(convKey, record, message, key, attempt, 'user');
  }

  /** Makes sure the request exists (e.g. a handoff before anything was mirrored). */
  async ensureOpened(convKey: string, record: ConversationRecord, key: string, attempt: number) {
    if (!record.opened) await this.send(convKey, record, opener(), key, attempt, 'user');
  }

  private async send(
    convKey: string,
    record: ConversationRecord,
    message: OutgoingMessage,
    key: string,
    attempt: number,
    role: 'user' | 'bot',
    activity?: ChatActivity,
  ): Promise<void> {
    const user = this.endUserOf(record);
    const register = !record.opened || attempt > 1;
    let credentials;
    try {
      credentials = await this.o.credentials.endUser(user, register);
    } catch (err) {
      throw retryableAuth(err);
    }
    if (attempt > 1 && (await this.alreadyPosted(credentials.token, record.requestId, key))) {
      return this.markOpened(convKey, record);
    }
    const body = this.body(record, message, key, role, activity);
    try {
      await this.o.api.sendMessage(credentials.token, record.requestId, body);
    } catch (err) {
      if (err instanceof TiledeskApiError && (err.status === 401 || err.status === 403)) {
        this.o.credentials.forget(user.id);
        throw retryableAuth(err, attempt);
      }
      throw err;
    }
    await this.markOpened(convKey, record);
  }

  private body(
    record: ConversationRecord,
    message: OutgoingMessage,
    key: string,
    role: 'user' | 'bot',
    activity: ChatActivity | undefined,
  ): OutgoingMessage {
    const ref = record.reference;
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
      request_status: 50,
      senderFullname: role === 'bot' ? this.o.botName : (ref.user?.name ?? 'User'),
    };
    if (role === 'bot') body.sender = this.o.botSender;
    if (this.o.departmentId) body.departmentid = this.o.departmentId;
    const locale = activity?.locale ?? ref.locale;
    if (locale) body.language = locale;
    return body;
  }

  /** After a lost response: was `key` stored anyway? (no duplicate on retry). */
  private async alreadyPosted(token: string, requestId: string, key: string): Promise<boolean> {
    const messages = await this.o.api.getMessages(token, requestId);
    return messages.some((m) => m.attributes?.['bf_key'] === key);
  }

  private async markOpened(convKey: string, record: ConversationRecord): Promise<void> {
    if (record.opened) return;
    record.opened = true;
    await this.o.store.update(convKey, (current) =>
      current.requestId === record.requestId && !current.opened
        ? { ...current, opened: true }
        : undefined,
    );
  }
}

function opener(): OutgoingMessage {
  return { text: 'Conversation started', attributes: { subtype: 'info' } };
}

/** Auth failures are retried once with a fresh token; a second one is final. */
function retryableAuth(err: unknown, attempt = 1): unknown {
  return err instanceof TiledeskApiError && !err.retryable && attempt < 2 ? err.asRetryable() : err;
}
