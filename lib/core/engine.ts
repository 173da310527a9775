import { asTiledeskError, type TiledeskError } from '../errors';
import type { Logger } from '../logger';
import type { TiledeskSettings } from '../settings';
import type { HandoffEntry } from './handoff';
import { HealthMonitor, type StartResult, type TiledeskHealth } from './health';
import { conversationKey } from './ids';
import { createParts, type EngineDeps, type Parts } from './parts';
import { Recovery } from './recovery';
import type { OutboxEntry } from './record';
import type { Snapshot } from './record-store';
import { backoffMs } from './retry';
import { TurnBatch, type TurnState } from './turn-batch';
import type { ChatActivity, ChatAttachment, Clock, ConversationRef } from './types';
import type { EndReason } from './record';
import { holdBotMessages } from './record-handoff';
import { transcriptEntries } from './record-history';

/** Where a conversation is (`TiledeskMiddleware.statusOf`). */
export type HandoffStatus =
  | { state: 'bot' }
  | { state: 'connecting' | 'queued'; since: number }
  | { state: 'assigned'; since: number; agent?: string };
import type { WebhookReceiver } from './webhook';

export type { EngineDeps } from './parts';
export type { TurnState } from './turn-batch';
export { TurnBatch } from './turn-batch';

/**
 * The core, free of any bot framework: turns in, Tiledesk work out, agent messages back through
 * the `UserChannel`. A binding (lib/botbuilder.ts) feeds it turns.
 *
 * Storage round trips: a message turn reads its conversation's record once (the only storage
 * call the user waits for); a handoff turn adds one write before "connecting". After the turn,
 * its posts are appended in one write (with the lease when nobody else posts for the
 * conversation), and dropped in one write per burst once posted.
 */

/** The user's messages during a handoff look for missed agent messages at most this often. */
const SYNC_ON_TURN_EVERY_MS = 5_000;

interface Pending {
  state: TurnState;
  entries: OutboxEntry[];
  attempts: number;
  since: number;
}

export class Engine {
  readonly webhook: WebhookReceiver;
  readonly logger: Logger;
  private readonly p: Parts;
  private readonly recovery: Recovery;
  private readonly clock: Clock;
  /** Where every background failure goes (the host's `onError`, or the logger). */
  readonly onError: (error: TiledeskError) => void;
  /** Turns' entries not yet in storage (written on the next tick, retried on failure). */
  private pending = new Map<string, Pending[]>();
  /** The after-turn write in flight per conversation (a state change waits for it). */
  private readonly inFlight = new Map<string, Promise<void>>();
  private flushTimer: unknown;
  private retrying = 0;
  /** Appends in flight (their lanes start when they land). */
  private appending = 0;
  private readonly lastSync = new Map<string, number>();
  private timer: unknown;
  private subscribed = false;
  private stopped = false;
  private readonly monitor: HealthMonitor;

  constructor(
    readonly settings: TiledeskSettings,
    deps: EngineDeps,
  ) {
    this.p = createParts(settings, deps);
    this.recovery = new Recovery(this.p, settings.catchUpIntervalMs);
    ({
      clock: this.clock,
      logger: this.logger,
      onError: this.onError,
      webhook: this.webhook,
    } = this.p);
    this.monitor = new HealthMonitor(this.p, settings);
  }

  /** Storage operations made so far, by kind (benchmarks and tests). */
  get storageOps(): Record<string, number> {
    const { store, outboxIndex, handoffIndex } = this.p;
    return {
      recordRead: store.ops.read,
      recordCreate: store.ops.create,
      recordReplace: store.ops.replace,
      recordConflict: store.ops.conflict,
      indexRead: outboxIndex.ops.read + handoffIndex.ops.read,
      indexWrite: outboxIndex.ops.write + handoffIndex.ops.write,
    };
  }

  /**
   * Subscribes the webhooks (idempotent), takes over work left by a previous run or a crashed
   * instance, catches up on agent messages missed meanwhile, and starts the periodic pass.
   * Never throws for Tiledesk or storage being down: the bot must start anyway; failures go to
   * `onError` and are tried again on every periodic pass.
   */
  async start(): Promise<StartResult> {
    this.stopped = false;
    await this.maintain(true);
    if (this.timer !== undefined) return this.monitor.afterStart();
    const tick = () => {
      this.timer = this.clock.setTimeout(() => {
        void this.maintain(false).finally(() => {
          if (this.timer !== undefined && !this.stopped) tick();
        });
      }, this.p.leaseMs / 3);
      (this.timer as { unref?: () => unknown }).unref?.();
    };
    tick();
    return this.monitor.afterStart();
  }

  /** What works and what does not (sign-in, subscriptions, backlog, webhooks); no I/O. */
  health(): TiledeskHealth {
    let entries = 0;
    let oldestAt: number | undefined;
    for (const items of this.pending.values()) {
      for (const i of items) {
        entries += i.entries.length;
        oldestAt = Math.min(oldestAt ?? i.since, i.since);
      }
    }
    return this.monitor.snapshot({ entries, oldestAt });
  }

  /**
   * Finishes pending work within `deadlineMs`; what is left stays in storage, handed back, and
   * is taken over at once by another instance (or the next start). Leaves no timer behind.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    let handle: unknown;
    const deadline = new Promise<void>((r) => (handle = this.clock.setTimeout(r, deadlineMs)));
    await Promise.race([this.whenIdle(), deadline]);
    this.clock.clearTimeout(handle);
    this.stopped = true;
    this.p.handoff.stop();
    this.p.delivery.halt();
    await this.flush();
    if (this.flushTimer !== undefined) this.clock.clearTimeout(this.flushTimer);
    await this.p.outbox.release();
    await this.p.instances
      .leave(this.clock.now())
      .catch((err: unknown) => this.onError(asTiledeskError(err, 'TILEDESK_STORAGE')));
  }

  /** Resolves when nothing is left to store, post or deliver (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all([
        this.p.outbox.whenIdle(),
        this.p.delivery.whenIdle(),
        this.p.typing.whenIdle(),
      ]);
      if (this.pending.size === 0 && this.retrying === 0 && this.appending === 0) {
        if (this.p.outbox.size === 0 && this.p.delivery.size === 0) return;
      } else {
        await new Promise<void>((r) => this.clock.setTimeout(r, 1));
      }
    }
  }

  /** Runs recovery and catch-up now (also done on start and periodically). */
  recoverAndCatchUp(): Promise<void> {
    return this.maintain(true);
  }

  /**
   * Called at the start of a message turn: the conversation's mode, from one read (the only
   * storage call the user waits for). Fails open to `bot` mode.
   */
  async turn(ref: ConversationRef): Promise<TurnState> {
    const convKey = keyOf(ref);
    let snapshot: Snapshot | null | undefined;
    try {
      snapshot = (await this.p.store.read(convKey)) ?? null;
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey }));
    }
    return { convKey, ref, mode: snapshot?.record.mode ?? 'bot', snapshot };
  }

  /**
   * Ends the conversation's handoff on our side (the user left, bot code): see `Handoff.end`.
   * False if it was not with a human.
   */
  endHandoff(
    ref: ConversationRef,
    reason: EndReason,
    text: string,
    before: readonly OutboxEntry[] = [],
  ): Promise<boolean> {
    const convKey = keyOf(ref);
    return this.withEarlierTurns(convKey, before, (all) =>
      this.p.handoff.end(convKey, reason, text, all),
    );
  }

  /**
   * A state change that stores a turn's entries (`before`) must store, first, what earlier turns
   * of the conversation still hold in memory (waiting for the after-turn write, or with that
   * write in flight): else the change's entries would be posted before them. Taken here, put
   * back when the change does not happen.
   */
  private async withEarlierTurns(
    convKey: string,
    before: readonly OutboxEntry[],
    change: (all: readonly OutboxEntry[]) => Promise<boolean>,
  ): Promise<boolean> {
    await this.inFlight.get(convKey);
    const waiting = this.pending.get(convKey) ?? [];
    this.pending.delete(convKey);
    const earlier = waiting.flatMap((item) => item.entries);
    try {
      const done = await change([...earlier, ...before]);
      if (!done) this.putBack(convKey, waiting);
      return done;
    } catch (err) {
      this.putBack(convKey, waiting);
      throw err;
    }
  }

  private putBack(convKey: string, items: Pending[]): void {
    if (items.length === 0) return;
    this.pending.set(convKey, [...items, ...(this.pending.get(convKey) ?? [])]);
    this.scheduleFlush();
  }

  /** Where the conversation is: with the bot, waiting for an agent, or with one. */
  async statusOf(ref: ConversationRef): Promise<HandoffStatus> {
    const record = (await this.p.store.read(keyOf(ref)))?.record;
    const h = record?.mode === 'handoff' ? record.handoff : undefined;
    if (!h) return { state: 'bot' };
    if (h.state === 'assigned')
      return { state: 'assigned', since: h.at, ...(h.agent ? { agent: h.agent } : {}) };
    return { state: h.state === 'queued' ? 'queued' : 'connecting', since: h.at };
  }

  /**
   * Keeps the bot's own messages, sent while an agent has the conversation, until the bot has it
   * back (then they are sent and mirrored). False if the conversation is with the bot.
   */
  async hold(ref: ConversationRef, activities: ChatActivity[]): Promise<boolean> {
    const { result } = await this.p.store.update(keyOf(ref), (current) => {
      const next = current && holdBotMessages(current, activities);
      return { next, result: next !== undefined };
    });
    return result;
  }

  /**
   * A turn's batch: what the turn mirrors is collected and written when the turn is over
   * (`commit`, from the binding's `finally`), so the user's reply never waits for it.
   */
  batch(): TurnBatch {
    return new TurnBatch({
      now: () => this.clock.now(),
      keyOf,
      beginHandoff: (state, entry, before, attachments) =>
        this.beginHandoff(state, entry, before, attachments),
      enqueue: (state, entries, inHandoff) => this.enqueue(state, entries, inHandoff),
    });
  }

  private async beginHandoff(
    state: TurnState,
    entry: HandoffEntry,
    before: readonly OutboxEntry[],
    attachments?: readonly ChatAttachment[],
  ): Promise<boolean> {
    try {
      return await this.withEarlierTurns(state.convKey, before, (all) =>
        this.p.handoff.begin(
          state.convKey,
          state.ref,
          entry,
          all,
          state.snapshot,
          this.transcript(state.ref, entry, all, attachments),
        ),
      );
    } catch (err) {
      // The turn must never see our errors: no handoff now, the bot answers as usual.
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey: state.convKey }));
      return false;
    }
  }

  /**
   * Mirror mode `handoff`: the transcript a `handoff.initiate` carries becomes the history (the
   * bot's own view, in place of what was kept), less what goes with the turn itself. Mode
   * `all`: ignored, the conversation is in Tiledesk already.
   */
  private transcript(
    ref: ConversationRef,
    entry: HandoffEntry,
    before: readonly OutboxEntry[],
    attachments: readonly ChatAttachment[] | undefined,
  ): OutboxEntry[] | undefined {
    const limits = this.p.outbox.history;
    if (!limits || !attachments?.length) return undefined;
    const ids = new Set(before.flatMap((e) => (e.activity?.id ? [e.activity.id] : [])));
    const cap = before[0]?.at ?? entry.at;
    try {
      return transcriptEntries(attachments, ref, entry.key, cap, limits, ids);
    } catch (err) {
      // Whatever the bot put there (a circular card, a BigInt), the handoff goes on, with what
      // the middleware kept. Reported like the other handoff input of the bot's that failed.
      const step = 'read the handoff.initiate transcript';
      this.onError(asTiledeskError(err, 'TILEDESK_RECOGNIZER', { step }));
      return undefined;
    }
  }

  private enqueue(state: TurnState, entries: OutboxEntry[], inHandoff: boolean): void {
    if (inHandoff) this.syncSoon(state.convKey);
    // The user is back: what they were not told yet (their channel was failing) goes now.
    else if (state.snapshot?.record.notices.length) this.p.delivery.notices(state.convKey);
    if (entries.length === 0) return;
    const list = this.pending.get(state.convKey);
    const item = { state, entries, attempts: 0, since: this.clock.now() };
    if (list) list.push(item);
    else this.pending.set(state.convKey, [item]);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    // After the turn (its HTTP answer is out), batched with the turns of this tick.
    this.flushTimer = this.clock.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 0);
  }

  /** Writes pending turns' entries, one append per conversation; failures are retried. */
  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    await Promise.all(
      [...batch].map(([convKey, items]) => {
        const entries = items.flatMap((i) => i.entries);
        const first = items[0]!;
        return this.append(convKey, { ...first, entries, state: items.at(-1)!.state });
      }),
    );
  }

  private async append(convKey: string, item: Pending): Promise<void> {
    this.appending++;
    const write = this.p.outbox.append(convKey, item.state.ref, item.entries, item.state.snapshot);
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(convKey, settled);
    try {
      await write;
    } catch (err) {
      this.onError(
        asTiledeskError(err, 'TILEDESK_STORAGE', { convKey, items: item.entries.length }),
      );
      if (this.stopped || this.clock.now() - item.since > this.settings.mirrorMaxAgeMs) return;
      // Storage down: keep the entries and try again (they are in memory only until then).
      this.retrying++;
      const delay = backoffMs(++item.attempts, this.p.random, undefined, 250, 30_000);
      this.clock.setTimeout(() => {
        this.retrying--;
        void this.append(convKey, { ...item, state: { ...item.state, snapshot: undefined } });
      }, delay);
    } finally {
      this.appending--;
      if (this.inFlight.get(convKey) === settled) this.inFlight.delete(convKey);
    }
  }

  private syncSoon(convKey: string): void {
    const now = this.clock.now();
    if (now - (this.lastSync.get(convKey) ?? Number.NEGATIVE_INFINITY) < SYNC_ON_TURN_EVERY_MS) {
      return;
    }
    this.lastSync.set(convKey, now);
    if (this.lastSync.size > 1000) this.lastSync.delete(this.lastSync.keys().next().value!);
    this.p.delivery.sync(convKey);
  }

  private async maintain(starting: boolean): Promise<void> {
    if (this.stopped) return;
    if (!this.subscribed) {
      try {
        await this.p.subscriptions.ensure();
        this.subscribed = true;
      } catch (err) {
        this.onError(asTiledeskError(err, 'TILEDESK_HTTP', { step: 'subscribe webhooks' }));
      }
    }
    const bot = this.p.tiledeskBot;
    if (bot && bot.status().state === 'unknown') {
      try {
        await bot.ensure();
      } catch (err) {
        this.onError(asTiledeskError(err, 'TILEDESK_BOT_MISSING', { step: 'tiledesk bot' }));
      }
    }
    try {
      await this.recovery.pass(starting);
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { step: 'recovery' }));
    }
  }
}

export function keyOf(reference: ConversationRef): string {
  return conversationKey(reference.channelId ?? 'unknown', reference.conversation?.id ?? 'unknown');
}
