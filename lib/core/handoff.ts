import { randomUUID } from 'node:crypto';
import { asTiledeskError, TiledeskApiError, type TiledeskError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { Credentials } from './credentials';
import { agentName, assignedAgent, why } from './handoff-request';
import {
  expectedWaitMinutes,
  type RequestInfoDeps,
  titleWithFirstWords,
  withAdmin,
} from './request-info';
import type { Mirror } from './mirror';
import type { Outbox, PostContext } from './outbox';
import { type ConversationRecord, newRecord, type Notice, type OutboxEntry } from './record';
import {
  acceptHandoff,
  beginHandoff,
  closeRequest,
  endHandoff,
  failHandoff,
  noticeEntry,
  queueHandoff,
  releaseHeld,
  withNotice,
} from './record-handoff';
import { keepHistory, takeHistory } from './record-history';
import { append, keysHeldByOthers } from './record-outbox';
import type { EndReason } from './record';
import type { RecordStore, Snapshot } from './record-store';
import type { ShardedSet } from './sharded-set';
import type { HandoffTrigger } from './triggers';
import type { Clock, ConversationRef } from './types';

/**
 * Handoff state transitions and the Tiledesk calls behind them (tiledesk-api.md §4, §8.5).
 * - `begin` (in the turn): mode → handoff and the routing entry queued after the turn's earlier
 *   posts, in ONE write, so the bot is silent from the next message on;
 * - `route` (the outbox entry): store why on the request, then route it (`PUT …/agent`: 200 with
 *   an agent = assigned, else queued) or post the hidden `\agent`. A retry or a takeover reads
 *   the request first and never routes a request that already has an agent;
 * - the limit counts from the trigger, whatever is queued before the routing: a little before
 *   it passes with the routing not done, the handoff fails and the bot answers again;
 * - `accept` / `fail` / `close` / queued: the notice for the user and the `handoff.status` for
 *   the bot are stored in the very write that makes the change, so only that write's instance
 *   decides them, and `Delivery` sends them at least once (a crash or a refused send right after
 *   the change loses nothing).
 */

export interface HandoffTexts {
  assigned: string;
  queued: string;
  /** Appended to `queued` when Tiledesk knows the current wait; `{minutes}`. */
  queuedWait: string;
  failed: string;
  closed: string;
  /** The user ended the chat with the agent (a leave phrase or the button). */
  left: string;
  queueTimeout: string;
  inactivity: string;
  /** `endHandoff()` from bot code. */
  ended: string;
  /** The button offered with the connecting, queued and assigned notices ('' = none). */
  endChatButton: string;
}

export interface HandoffOptions {
  api: TiledeskApi;
  store: RecordStore;
  outbox: Outbox;
  credentials: Credentials;
  mirror: Mirror;
  method: 'route' | 'command';
  texts: HandoffTexts;
  clock: Clock;
  /** Routing must be done within this long after the trigger. */
  limitMs: number;
  /** A queued handoff nobody took is ended after this long (0 = never). */
  queueTimeoutMs: number;
  /** An assigned chat where nobody wrote for this long is closed (0 = never). */
  inactivityTimeoutMs: number;
  /** Conversations in handoff, for catch-up and limits after a restart. */
  index: ShardedSet;
  /** Notices were stored for the conversation: send them. */
  notices(convKey: string): void;
  onError(error: TiledeskError): void;
}

export type HandoffEntry = OutboxEntry & { kind: 'handoff'; trigger: HandoffTrigger };

export class Handoff {
  private readonly deadlines = new Map<string, unknown>();
  private readonly requestInfo: RequestInfoDeps;

  constructor(private readonly o: HandoffOptions) {
    this.requestInfo = o;
  }

  /**
   * Switches the conversation to human mode, storing `before` (the turn's posts so far) and the
   * routing entry after them. False if it already was with a human.
   */
  async begin(
    convKey: string,
    ref: ConversationRef,
    entry: HandoffEntry,
    before: readonly OutboxEntry[],
    hint: Snapshot | null | undefined,
    transcript?: readonly OutboxEntry[],
  ): Promise<boolean> {
    let started: boolean;
    try {
      ({ result: started } = await this.o.outbox.write(convKey, hint, (current) => {
        const base = current ?? newRecord(ref, this.o.clock.now());
        const begun = beginHandoff(
          base,
          entry,
          before,
          this.instanceId,
          this.o.clock.now(),
          this.leaseMs,
          transcript,
        );
        if (!begun) return { next: undefined, result: false };
        return {
          next: begun.next,
          result: true,
          takeover: begun.ownsLease ? keysHeldByOthers(current, this.instanceId) : undefined,
        };
      }));
    } catch (err) {
      // A write whose answer was lost may have landed: look before saying it did not (a read
      // failing too is tried again twice; after that we say no: a storage outage).
      let stored;
      for (let i = 0; i < 3 && stored === undefined; i++) {
        stored = await this.o.store.read(convKey).then(
          (s) => s ?? null,
          () => undefined,
        );
      }
      if (stored?.record.handoff?.key !== entry.key) throw err;
      this.o.outbox.adopt(convKey, stored.record);
      started = true;
    }
    if (started) {
      this.armDeadline(convKey, entry.key, entry.at);
      this.track(convKey, true);
    }
    return started;
  }

  /** The routing entry, run by the outbox after the posts before it. */
  async route(
    convKey: string,
    snapshot: Snapshot,
    entry: OutboxEntry,
    ctx: PostContext,
  ): Promise<void> {
    const record = snapshot.record;
    const h = record.handoff;
    if (record.mode !== 'handoff' || h?.key !== entry.key || h.state !== 'pending') return;
    if (this.o.clock.now() - h.at >= this.decideWithinMs) {
      return this.fail(convKey, entry.key, 'no agent could be reached in time');
    }
    const requestId = this.o.mirror.requestId(convKey, record);
    await this.o.mirror.ensureOpened(convKey, record, `${entry.key}:open`, ctx);
    await this.withAdmin((token) =>
      this.o.api.updateAttributes(token, requestId, why(entry, this.o.clock.now())),
    );
    await titleWithFirstWords(this.requestInfo, convKey, record, requestId);
    if (this.o.method === 'command') {
      await this.o.mirror.postAgentCommand(convKey, record, `${entry.key}:agent`, {
        ...ctx,
        opened: true,
      });
      // Asynchronous: `accept` comes with the agent's joined message.
      await this.queued(convKey, entry.key, false);
      return;
    }
    if (ctx.maybePosted) {
      // We may have routed it already (lost response, takeover): never route an assigned
      // request again, or it may go to another agent.
      const current = await this.withAdmin((token) => this.o.api.getRequest(token, requestId));
      if (current && assignedAgent(current)) {
        return this.accept(convKey, record.gen, agentName(current));
      }
    }
    const routed = await this.withAdmin((token) => this.o.api.routeToAgent(token, requestId));
    if (assignedAgent(routed)) await this.accept(convKey, record.gen, agentName(routed));
    else await this.queued(convKey, entry.key, true);
  }

  /** An agent has request `gen`: the user is told once and `accepted` emitted. */
  async accept(convKey: string, gen: number, agent: string | undefined): Promise<void> {
    const text = this.o.texts.assigned.replace('{agent}', agent ?? 'An agent');
    const notice: Notice = {
      key: randomUUID(),
      text,
      ...this.endChatAction(),
      status: { state: 'accepted', ...(agent ? { message: agent } : {}) },
    };
    const changed = await this.change(convKey, (r) => {
      const next = acceptHandoff(r, gen, agent, this.o.clock.now());
      // Its transcript line belongs to request `gen`, even once closed: left unposted, it
      // would open the next request on its own.
      return next && this.told(next, notice, gen);
    });
    if (!changed) return;
    this.clearDeadline(convKey);
    this.track(convKey, true);
  }

  /** Routing failed or timed out: back to the bot (only the handoff `key`). */
  async fail(convKey: string, key: string, reason: string): Promise<void> {
    const notice: Notice = {
      key: randomUUID(),
      text: this.o.texts.failed,
      status: { state: 'failed', message: reason },
    };
    const changed = await this.change(convKey, (r) => {
      const next = failHandoff(r, key);
      return next && this.released(this.told(next, notice));
    });
    if (!changed) return;
    this.clearDeadline(convKey);
    this.track(convKey, false);
  }

  /**
   * Request `gen` was closed (CHAT_CLOSED or `request.close`): the next message starts a new
   * request. Idempotent: only the write that moved the generation on tells the user.
   */
  async close(convKey: string, gen: number): Promise<void> {
    const notice: Notice = {
      key: randomUUID(),
      text: this.o.texts.closed,
      status: { state: 'completed', message: 'agent closed' },
    };
    let stillInHandoff = false;
    const changed = await this.change(convKey, (r) => {
      const closed = closeRequest(r, gen);
      if (!closed) return undefined;
      // A handoff begun after the user left this request goes on in the next one.
      stillInHandoff = closed.next.mode === 'handoff';
      if (stillInHandoff) return { next: closed.next };
      // The closed notice goes into the request that was closed, not a new one.
      const told = closed.wasHandoff ? this.told(closed.next, notice, gen) : { next: closed.next };
      return this.released(told);
    });
    if (!changed) return;
    if (stillInHandoff) return; // its limit timer and the handoff index stay as they are
    this.clearDeadline(convKey);
    this.track(convKey, false);
  }

  /**
   * Enforces the limits of a stored handoff (found by the periodic pass, or after a restart):
   * the routing limit (arms a timer when it is still running), the queue timeout of a handoff
   * nobody took, and the inactivity timeout of an assigned chat where nobody wrote.
   */
  async checkLimit(convKey: string, record: ConversationRecord): Promise<void> {
    const h = record.handoff;
    if (record.mode !== 'handoff' || !h) return;
    const now = this.o.clock.now();
    const { queueTimeoutMs, inactivityTimeoutMs, texts } = this.o;
    if (
      h.state === 'queued' &&
      queueTimeoutMs > 0 &&
      now - (h.queuedAt ?? h.at) >= queueTimeoutMs
    ) {
      await this.end(convKey, 'queue timeout', texts.queueTimeout);
      return;
    }
    if (
      h.state === 'assigned' &&
      inactivityTimeoutMs > 0 &&
      now - (h.active ?? h.at) >= inactivityTimeoutMs
    ) {
      await this.end(convKey, 'inactivity', texts.inactivity);
      return;
    }
    if (h.state !== 'pending') return;
    if (now - h.at >= this.decideWithinMs) {
      return this.fail(convKey, h.key, 'no agent could be reached in time');
    }
    if (!this.deadlines.has(convKey)) this.armDeadline(convKey, h.key, h.at);
  }

  /** Stops the limit timers (shutdown). */
  stop(): void {
    for (const timer of this.deadlines.values()) this.o.clock.clearTimeout(timer);
    this.deadlines.clear();
  }

  private async queued(convKey: string, key: string, tell: boolean): Promise<void> {
    const wait =
      tell && this.o.texts.queuedWait ? await expectedWaitMinutes(this.requestInfo) : undefined;
    const text =
      wait === undefined || !this.o.texts.queued
        ? this.o.texts.queued
        : `${this.o.texts.queued}${this.o.texts.queuedWait.replace('{minutes}', String(wait))}`;
    const notice: Notice = { key: randomUUID(), text, ...this.endChatAction() };
    const changed = await this.change(convKey, (r) => {
      const next = queueHandoff(r, key, this.o.clock.now());
      if (!next) return undefined;
      return tell ? this.told(next, notice) : { next };
    });
    if (changed) this.clearDeadline(convKey);
  }

  /**
   * Ends the handoff on our side: the user left, a timeout, or bot code. The user is told, the
   * bot gets `handoff.status completed` (`reason`), the bot answers again at once, and the
   * request is closed in Tiledesk after what is already queued for it (the notice included).
   * `before`: the turn's own entries (the user's leave message), stored in the same write so they
   * reach the request being closed. False if the conversation was not with a human.
   */
  async end(
    convKey: string,
    reason: EndReason,
    text: string,
    before: readonly OutboxEntry[] = [],
  ): Promise<boolean> {
    const notice: Notice = {
      key: randomUUID(),
      text,
      status: { state: 'completed', message: reason },
    };
    const changed = await this.change(convKey, (r) => {
      const ended = endHandoff(r);
      if (!ended) return undefined;
      // The user's last words and what they are told go to the request they leave, even when
      // the agent's close moves the conversation on before they are posted.
      const told = this.told(ended.next, notice, ended.gen);
      const at = this.o.clock.now();
      const close: OutboxEntry = { key: randomUUID(), kind: 'close', at, gen: ended.gen };
      const theirs = before.map((e) => ({ ...e, gen: ended.gen }));
      // Held bot messages go after the close, into the next request.
      const held = releaseHeld(told.next, at, randomUUID);
      return { next: held.next, entries: [...theirs, ...told.entries, close, ...held.entries] };
    });
    if (!changed) return false;
    this.clearDeadline(convKey);
    this.track(convKey, false);
    return true;
  }

  /** The `close` entry: closes request `gen` in Tiledesk, then moves the conversation on. */
  async closeInTiledesk(convKey: string, snapshot: Snapshot, entry: OutboxEntry): Promise<void> {
    const gen = entry.gen ?? snapshot.record.gen;
    if (snapshot.record.gen !== gen) return; // closed meanwhile (the agent, or a retry)
    const requestId = this.o.mirror.requestId(convKey, snapshot.record);
    try {
      await this.withAdmin((token) => this.o.api.closeRequest(token, requestId));
    } catch (err) {
      // Never created (nothing was posted yet) or already gone: nothing to close.
      if (!(err instanceof TiledeskApiError && err.status === 404)) throw err;
    }
    await this.close(convKey, gen);
  }

  private endChatAction(): { actions?: string[] } {
    return this.o.texts.endChatButton ? { actions: [this.o.texts.endChatButton] } : {};
  }

  /** Stores the notice, and its copy for the transcript (to request `gen`, default current). */
  private told(
    record: ConversationRecord,
    notice: Notice,
    gen?: number,
  ): { next: ConversationRecord; entries: OutboxEntry[] } {
    return {
      next: withNotice(record, notice),
      entries: noticeEntry(notice, this.o.clock.now(), gen),
    };
  }

  /** The bot has it back: its held messages go out after what the user is told. */
  private released(t: { next: ConversationRecord; entries?: OutboxEntry[] }): {
    next: ConversationRecord;
    entries: OutboxEntry[];
  } {
    const { next, entries } = releaseHeld(t.next, this.o.clock.now(), randomUUID);
    return { next, entries: [...(t.entries ?? []), ...entries] };
  }

  /**
   * One state change, by compare-and-set; true when this call's write made it. The notices it
   * stores are sent by `Delivery` (claimed, sent, dropped), so a crash or a refused send right
   * after the change does not lose them.
   */
  private async change(
    convKey: string,
    transition: (
      record: ConversationRecord,
    ) => { next: ConversationRecord; entries?: OutboxEntry[] } | undefined,
  ): Promise<boolean> {
    let result: boolean;
    try {
      ({ result } = await this.o.outbox.write(convKey, undefined, (current) => {
        const t = current && transition(current);
        if (!t) return { next: undefined, result: false };
        const now = this.o.clock.now();
        const { record, entries } = this.withHistory(t.next, t.entries ?? [], now);
        if (!entries.length) return { next: record, result: true };
        const { next, ownsLease } = append(record, entries, this.instanceId, now, this.leaseMs);
        const takeover = ownsLease ? keysHeldByOthers(current, this.instanceId) : undefined;
        return { next, result: true, takeover };
      }));
    } catch (err) {
      // The write may have landed (its answer lost) with its notice and its mirror entries,
      // and the outbox lease: send the notice, and work on the outbox if the lease is ours.
      this.o.notices(convKey);
      void this.o.store.read(convKey).then(
        (stored) => stored && this.o.outbox.adopt(convKey, stored.record),
        () => undefined, // storage down: the lease runs out and the recovery pass takes it
      );
      throw err;
    }
    if (result) this.o.notices(convKey);
    return result;
  }

  /**
   * Mirror mode `handoff`: back with the bot, a change's messages (a notice, held bot messages)
   * are kept as history; an agent who took over a conversation the bot had gets the history
   * first. Mode `all`: unchanged.
   */
  private withHistory(
    record: ConversationRecord,
    entries: readonly OutboxEntry[],
    now: number,
  ): { record: ConversationRecord; entries: OutboxEntry[] } {
    if (record.mode === 'handoff' && record.history) {
      const taken = takeHistory(record, now);
      return { record: taken.next, entries: [...taken.entries, ...entries] };
    }
    const kept = keepHistory(record, entries, this.o.outbox.history);
    return { record: kept.next, entries: kept.live };
  }

  private armDeadline(convKey: string, key: string, at: number): void {
    this.failAfter(convKey, key, Math.max(0, at + this.decideWithinMs - this.o.clock.now()));
  }

  private failAfter(convKey: string, key: string, waitMs: number): void {
    this.clearDeadline(convKey);
    const timer = this.o.clock.setTimeout(() => {
      this.deadlines.delete(convKey);
      this.fail(convKey, key, 'no agent could be reached in time').catch((err: unknown) => {
        this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey }));
        // Storage failed: try again in a second (a no-op once the handoff is settled).
        if (!this.deadlines.has(convKey)) this.failAfter(convKey, key, 1000);
      });
    }, waitMs);
    (timer as { unref?: () => unknown }).unref?.();
    this.deadlines.set(convKey, timer);
  }

  private clearDeadline(convKey: string): void {
    const timer = this.deadlines.get(convKey);
    if (timer === undefined) return;
    this.o.clock.clearTimeout(timer);
    this.deadlines.delete(convKey);
  }

  /** Keeps the handoff index in step (best effort: the periodic pass repairs it). */
  private track(convKey: string, inHandoff: boolean): void {
    const change = inHandoff ? this.o.index.add(convKey) : this.o.index.remove(convKey);
    change.catch((err: unknown) =>
      this.o.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey })),
    );
  }

  private withAdmin<T>(call: (token: string) => Promise<T>): Promise<T> {
    return withAdmin(this.o.credentials, call);
  }

  /**
   * The routing is given up a little before the limit (a tenth, at most 5 s), so that the
   * writes and the send that tell the user still land within it.
   */
  private get decideWithinMs(): number {
    return this.o.limitMs - Math.min(5000, this.o.limitMs / 10);
  }

  private get instanceId(): string {
    return this.o.outbox.instanceId;
  }

  private get leaseMs(): number {
    return this.o.outbox.leaseMs;
  }
}
