import { TiledeskApiError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { TiledeskRequest } from '../tiledesk/wire';
import type { ConversationRecord, ConversationStore } from './conversation-store';
import type { Credentials } from './credentials';
import { requestIdFor } from './ids';
import type { Mirror } from './mirror';
import type { ShardedSet } from './sharded-set';
import type { HandoffTrigger } from './triggers';
import type { UserChannel } from './types';

/**
 * Handoff state transitions and the Tiledesk calls behind them (tiledesk-api.md §4, §8.5).
 * - `begin` (in the turn): mode → handoff, so the bot is silent from the next message on;
 * - `fire` (queued after the triggering message): store why on the request, then route it
 *   (`PUT …/agent`, synchronous: 200 = assigned, 100 = queued) or post the hidden `\agent`;
 * - `accept` / `fail` / `close`: tell the user and emit `handoff.status` to the bot.
 */

export interface HandoffItem {
  kind: 'handoff';
  trigger: HandoffTrigger;
  key: string;
  recovered?: boolean;
}

export interface HandoffTexts {
  assigned: string;
  queued: string;
  failed: string;
  closed: string;
}

export interface HandoffOptions {
  api: TiledeskApi;
  store: ConversationStore;
  credentials: Credentials;
  mirror: Mirror;
  user: UserChannel;
  projectId: string;
  method: 'route' | 'command';
  texts: HandoffTexts;
  now: () => number;
  /** Conversations in handoff, for catch-up after a restart. */
  index: ShardedSet;
}

export class Handoff {
  constructor(private readonly o: HandoffOptions) {}

  /** Switches the conversation to human mode; false if it already was. */
  async begin(convKey: string, trigger: HandoffTrigger): Promise<boolean> {
    let started = false;
    await this.o.store.update(convKey, (r) => {
      if (r.mode === 'handoff') return undefined;
      started = true;
      return {
        ...r,
        mode: 'handoff',
        handoff: { at: this.o.now(), trigger: trigger.trigger, accepted: false },
      };
    });
    if (started) await this.tracked(convKey);
    return started;
  }

  /** Remembers that the conversation is with a human (catch-up looks there). */
  tracked(convKey: string): Promise<void> {
    return this.o.index.add(convKey);
  }

  async fire(
    convKey: string,
    record: ConversationRecord,
    item: HandoffItem,
    attempt: number,
  ): Promise<void> {
    if (record.mode !== 'handoff') return; // closed or failed meanwhile
    await this.o.mirror.ensureOpened(convKey, record, `${item.key}:open`, attempt);
    await this.withAdmin((token) =>
      this.o.api.updateAttributes(token, record.requestId, why(item, this.o.now())),
    );
    if (this.o.method === 'command') {
      await this.o.mirror.postAgentCommand(convKey, record, `${item.key}:agent`, attempt);
      return; // asynchronous: `accept` comes with the agent's MEMBER_JOINED_GROUP message
    }
    const routed = await this.withAdmin((token) =>
      this.o.api.routeToAgent(token, record.requestId),
    );
    if (routed.status === 200 && (routed.participants?.length ?? 0) > 0) {
      await this.accept(convKey, record.requestId, agentName(routed));
    } else {
      await this.o.user.sendNotice(record.reference, this.o.texts.queued);
    }
  }

  /** An agent took the request: tell the user once, emit `accepted`. */
  async accept(convKey: string, requestId: string, agent: string | undefined): Promise<void> {
    let first = false;
    const record = await this.o.store.update(convKey, (r) => {
      if (r.requestId !== requestId || r.mode !== 'handoff' || r.handoff?.accepted)
        return undefined;
      first = true;
      return { ...r, handoff: { ...r.handoff!, accepted: true } };
    });
    if (!first || !record) return;
    const text = this.o.texts.assigned.replace('{agent}', agent ?? 'An agent');
    await this.o.user.sendNotice(record.reference, text);
    await this.o.user.emitHandoffStatus(record.reference, 'accepted', agent);
  }

  /** Routing failed for good: back to the bot. */
  async fail(convKey: string, reason: string): Promise<void> {
    let failed = false;
    const record = await this.o.store.update(convKey, (r) => {
      if (r.mode !== 'handoff') return undefined;
      failed = true;
      return { ...r, mode: 'bot', handoff: undefined };
    });
    if (!failed || !record) return;
    await this.o.index.remove(convKey);
    await this.o.user.sendNotice(record.reference, this.o.texts.failed);
    await this.o.user.emitHandoffStatus(record.reference, 'failed', reason);
  }

  /**
   * The request was closed (CHAT_CLOSED or `request.close`): the next message starts a new
   * request (posting to a closed one would not reopen it, §2.4). Idempotent.
   */
  async close(convKey: string, requestId: string): Promise<void> {
    let wasHandoff = false;
    const record = await this.o.store.update(convKey, (r) => {
      if (r.requestId !== requestId) return undefined;
      wasHandoff = r.mode === 'handoff';
      const generation = r.generation + 1;
      return {
        ...r,
        generation,
        requestId: requestIdFor(this.o.projectId, convKey, generation),
        opened: false,
        mode: 'bot',
        handoff: undefined,
        delivered: [],
        deliveredFloor: undefined,
      };
    });
    if (!wasHandoff || !record) return;
    await this.o.index.remove(convKey);
    await this.o.user.sendNotice(record.reference, this.o.texts.closed);
    await this.o.user.emitHandoffStatus(record.reference, 'completed');
  }

  private async withAdmin<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.o.credentials.admin();
    try {
      return await call(token);
    } catch (err) {
      if (err instanceof TiledeskApiError && err.status === 401) {
        this.o.credentials.resetAdmin();
        return call(await this.o.credentials.admin());
      }
      throw err;
    }
  }
}

function why(item: HandoffItem, now: number): Record<string, unknown> {
  const t = item.trigger;
  return {
    bf_handoff: {
      trigger: t.trigger,
      at: new Date(now).toISOString(),
      ...(t.keyword ? { keyword: t.keyword } : {}),
      ...(t.intent ? { intent: t.intent, score: t.score } : {}),
      ...(t.text ? { text: t.text } : {}),
      ...(t.context !== undefined ? { context: t.context } : {}),
    },
  };
}

function agentName(request: TiledeskRequest): string | undefined {
  const agent = request.participatingAgents?.[0];
  if (!agent) return undefined;
  return [agent.firstname, agent.lastname].filter(Boolean).join(' ') || undefined;
}
