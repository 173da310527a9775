import type { TiledeskApi } from '../tiledesk/client';
import type { TiledeskMessage } from '../tiledesk/wire';
import { classifyMessage } from './classify-delivery';
import {
  type ConversationRecord,
  type ConversationStore,
  wasDelivered,
} from './conversation-store';
import type { Credentials } from './credentials';
import type { Mirror } from './mirror';
import type { ShardedSet } from './sharded-set';

/**
 * Catch-up (tiledesk-api.md §5.3, §7): Tiledesk drops a webhook after 3 attempts over ~8 s and
 * keeps no dead-letter queue. For conversations in handoff we read the request's messages
 * (`GET …/messages`, the end user's token suffices) and feed what we have not delivered
 * through the webhook receiver's checks, in creation order. Runs on start, periodically and
 * on the user's next message.
 */

export interface CatchUpOptions {
  api: TiledeskApi;
  store: ConversationStore;
  credentials: Credentials;
  mirror: Mirror;
  index: ShardedSet;
  ownSenders: ReadonlySet<string>;
  /** Hands a missed message to the webhook receiver (dedupe, claim, delivery). */
  deliver(message: TiledeskMessage): void;
}

export class CatchUp {
  constructor(private readonly o: CatchUpOptions) {}

  /** Every conversation in handoff; returns how many messages were handed on. */
  async all(): Promise<number> {
    let found = 0;
    for (const convKey of await this.o.index.all()) found += await this.one(convKey);
    return found;
  }

  async one(convKey: string): Promise<number> {
    const record = await this.o.store.get(convKey);
    if (!record || record.mode !== 'handoff') {
      await this.o.index.remove(convKey);
      return 0;
    }
    if (!record.opened) return 0;
    const { token } = await this.o.credentials.endUser(this.o.mirror.endUserOf(record), false);
    const messages = await this.o.api.getMessages(token, record.requestId);
    const missed = messages.filter((m) => this.isMissed(record, m));
    missed.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
    for (const m of missed) this.o.deliver(m);
    return missed.length;
  }

  /**
   * Every agent message of the current request belongs to the user (a request is replaced when
   * it closes), so no time filter: only what was delivered already is skipped.
   */
  private isMissed(record: ConversationRecord, m: TiledeskMessage): boolean {
    const kind = classifyMessage(m, this.o.ownSenders).kind;
    if (kind === 'agent') return !wasDelivered(record, m._id, m.createdAt);
    return kind === 'closed' || kind === 'joined';
  }
}
