import { randomUUID } from 'node:crypto';
import { TiledeskError, asTiledeskError } from '../errors';
import type { Logger } from '../logger';
import type { TiledeskSettings } from '../settings';
import type { CatchUp } from './catch-up';
import { type ConversationStore, newRecord } from './conversation-store';
import type { Handoff, HandoffItem } from './handoff';
import { conversationKey, requestIdFor } from './ids';
import { Mirror, type MirrorItem } from './mirror';
import { Outbox } from './outbox';
import { createParts, type EngineDeps } from './parts';
import type { Subscriptions } from './subscriptions';
import type { HandoffTrigger } from './triggers';
import type { ChatActivity, Clock, ConversationRef } from './types';
import type { WebhookReceiver } from './webhook';

export type { EngineDeps } from './parts';

/**
 * The core, free of any bot framework: wires the Tiledesk client, state, mirror, handoff and
 * webhook receiver together. A binding (lib/botbuilder.ts) feeds it turns and gives it a
 * `UserChannel` to reach the user.
 */

/** Collects one turn's mirror work, in order; see {@link Engine.batch}. */
export class TurnBatch {
  private readonly items: [string, OutboxItem][] = [];

  constructor(
    private readonly handoffs: Handoff,
    private readonly enqueue: (convKey: string, item: OutboxItem) => void,
  ) {}

  /** Mirrors a user message; in handoff also looks for agent messages we may have missed. */
  user(convKey: string, activity: ChatActivity, inHandoff = false): void {
    this.items.push([convKey, Mirror.item('user', activity)]);
    if (inHandoff) this.items.push([convKey, { kind: 'catch-up', key: randomUUID() }]);
  }

  bot(convKey: string, activity: ChatActivity): void {
    this.items.push([convKey, Mirror.item('bot', activity)]);
  }

  /** Starts a handoff (mode switch now, routing after the turn); false if already with a human. */
  async handoff(convKey: string, trigger: HandoffTrigger): Promise<boolean> {
    const started = await this.handoffs.begin(convKey, trigger);
    if (started) this.items.push([convKey, { kind: 'handoff', trigger, key: randomUUID() }]);
    return started;
  }

  /** Hands everything to the outbox; called once the turn is over. */
  commit(): void {
    for (const [convKey, item] of this.items.splice(0)) this.enqueue(convKey, item);
  }
}

export interface TurnState {
  convKey: string;
  mode: 'bot' | 'handoff';
}

type OutboxItem = MirrorItem | HandoffItem | CatchUpItem;

/** Polls Tiledesk for agent messages of one conversation (after its earlier items). */
interface CatchUpItem {
  kind: 'catch-up';
  key: string;
  recovered?: boolean;
}

export class Engine {
  readonly webhook: WebhookReceiver;
  readonly logger: Logger;
  private readonly store: ConversationStore;
  private readonly mirror: Mirror;
  private readonly handoff: Handoff;
  private readonly subscriptions: Subscriptions;
  private readonly outbox: Outbox<OutboxItem>;
  private readonly catchUp: CatchUp;
  private readonly clock: Clock;
  private readonly onError: (error: TiledeskError) => void;
  private pending = new Map<string, OutboxItem[]>();
  private flushScheduled = false;
  private timer: unknown;
  private subscribed = false;

  constructor(
    readonly settings: TiledeskSettings,
    deps: EngineDeps,
  ) {
    ({
      clock: this.clock,
      logger: this.logger,
      onError: this.onError,
      store: this.store,
      mirror: this.mirror,
      handoff: this.handoff,
      subscriptions: this.subscriptions,
      webhook: this.webhook,
      catchUp: this.catchUp,
    } = createParts(settings, deps));
    this.outbox = new Outbox<OutboxItem>({
      storage: deps.storage,
      clock: this.clock,
      instanceId: randomUUID(),
      maxAgeMs: settings.mirrorMaxAgeMs,
      concurrency: settings.mirrorConcurrency,
      // The user is waiting for a handoff: give up (and say so) after a minute, not a day.
      maxAgeOf: (item) =>
        item.kind === 'handoff' ? 60_000 : item.kind === 'catch-up' ? 0 : undefined,
      transient: (item) => item.kind === 'catch-up',
      process: (convKey, item, attempt) => this.process(convKey, item, attempt),
      onDrop: (convKey, item, error, attempts) => this.dropped(convKey, item, error, attempts),
      onError: this.onError,
    });
  }

  /**
   * Subscribes the webhooks (idempotent), takes over posts left in storage by a previous run,
   * catches up on agent messages missed while we were away, and starts the periodic pass.
   * Never throws for Tiledesk being down or refusing: the bot must start anyway; the failure
   * goes to `onError` and the subscriptions are tried again on every periodic pass.
   */
  async start(): Promise<void> {
    await this.maintain(false);
    if (this.timer !== undefined) return;
    const interval = this.settings.catchUpIntervalMs || 60_000;
    const tick = () => {
      this.timer = this.clock.setTimeout(() => {
        void this.maintain(true).finally(() => {
          const more = !this.subscribed || this.settings.catchUpIntervalMs > 0;
          if (this.timer !== undefined && more) tick();
        });
      }, interval);
      (this.timer as { unref?: () => void }).unref?.();
    };
    tick();
  }

  private async maintain(periodic: boolean): Promise<void> {
    if (!this.subscribed) {
      try {
        await this.subscriptions.ensure();
        this.subscribed = true;
      } catch (err) {
        this.onError(asTiledeskError(err, 'TILEDESK_HTTP', { step: 'subscribe webhooks' }));
      }
    }
    if (!periodic || this.settings.catchUpIntervalMs > 0) await this.recoverAndCatchUp();
  }

  /** Finishes pending work within `deadlineMs`; what is left stays in storage for the next run. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    let handle: unknown;
    const deadline = new Promise<void>((r) => (handle = this.clock.setTimeout(r, deadlineMs)));
    await Promise.race([this.whenIdle(), deadline]);
    this.clock.clearTimeout(handle);
    await this.outbox.release();
  }

  /** Resolves when nothing is left to post or deliver (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      await Promise.all([this.outbox.whenIdle(), this.webhook.whenIdle()]);
      if (this.pending.size === 0 && this.outbox.size === 0 && this.webhook.pending === 0) return;
    }
  }

  /** Runs recovery and catch-up now (also done on start and periodically). */
  async recoverAndCatchUp(): Promise<void> {
    try {
      const recovered = await this.outbox.recover();
      if (recovered > 0) this.logger.info('Took over pending Tiledesk posts', { recovered });
      const missed = await this.catchUp.all();
      if (missed > 0) this.logger.info('Caught up on Tiledesk messages', { missed });
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE'));
    }
  }

  /**
   * Called at the start of a message turn: the conversation's mode, creating its record on
   * first sight (so later writes are eTag-checked updates). Fails open to `bot` mode.
   */
  async turn(reference: ConversationRef): Promise<TurnState> {
    const convKey = keyOf(reference);
    try {
      const record = await this.store.get(convKey);
      if (record) return { convKey, mode: record.mode };
      const requestId = requestIdFor(this.settings.projectId, convKey, 0);
      const created = await this.store.create(convKey, newRecord(reference, requestId));
      return { convKey, mode: created.mode };
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE', { convKey }));
    }
    return { convKey, mode: 'bot' };
  }

  /** Makes sure a record exists outside a message turn (bot-initiated messages). */
  async ensureRecord(reference: ConversationRef): Promise<string> {
    return (await this.turn(reference)).convKey;
  }

  /**
   * A turn's batch: what the turn mirrors is collected and handed to the outbox only when the
   * turn is over (`commit`, from the binding's `finally`), so neither storage writes nor HTTP
   * requests start while the user is still waiting for the bot's reply (starting an axios
   * request costs a turn ~160 µs: toolchain.md, "Performance facts"). Order is kept.
   */
  batch(): TurnBatch {
    return new TurnBatch(this.handoff, (convKey, item) => this.enqueue(convKey, item));
  }

  /** Hands items to the outbox once the current macrotask is done (batched across turns). */
  private enqueue(convKey: string, item: OutboxItem): void {
    const list = this.pending.get(convKey);
    if (list) list.push(item);
    else this.pending.set(convKey, [item]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.pending;
      this.pending = new Map();
      for (const [key, items] of batch) this.outbox.add(key, items);
    });
  }

  private async process(convKey: string, item: OutboxItem, attempt: number): Promise<void> {
    if (item.kind === 'catch-up') {
      await this.catchUp.one(convKey);
      return;
    }
    const record = await this.store.get(convKey);
    if (!record) return;
    // A recovered item may have been posted before the crash: check first (no duplicate).
    const effective = item.recovered ? Math.max(attempt, 2) : attempt;
    if (item.kind === 'handoff') return this.handoff.fire(convKey, record, item, effective);
    return this.mirror.post(convKey, record, item, effective);
  }

  private dropped(convKey: string, item: OutboxItem, error: unknown, attempts: number): void {
    const cause = error instanceof Error ? error.message : String(error);
    if (item.kind === 'catch-up') {
      this.logger.warn('Catch-up failed; the periodic catch-up will try again', { convKey, cause });
      return;
    }
    if (item.kind === 'handoff') {
      this.onError(asTiledeskError(error, 'TILEDESK_MIRROR_GAVE_UP', { convKey, attempts }));
      this.handoff
        .fail(convKey, cause)
        .catch((e: unknown) => this.onError(asTiledeskError(e, 'TILEDESK_STORAGE', { convKey })));
      return;
    }
    this.onError(
      new TiledeskError(
        'TILEDESK_MIRROR_GAVE_UP',
        `Gave up mirroring a ${item.kind} message to Tiledesk`,
        {
          convKey,
          attempts,
          cause,
        },
      ),
    );
  }
}

export function keyOf(reference: ConversationRef): string {
  return conversationKey(reference.channelId ?? 'unknown', reference.conversation?.id ?? 'unknown');
}
