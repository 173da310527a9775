import type { Activity, ResourceResponse, Storage, TurnContext } from 'botbuilder';
import {
  TiledeskHandoff,
  type TiledeskHandoffOptions,
  type TiledeskSettingsInput,
} from '../../lib';
import { ProactiveTestAdapter } from '../support/proactive-test-adapter';
import type {
  CrashRecord,
  EventRecord,
  MirroredRecord,
  Observations,
  SeenRecord,
  TurnRecord,
} from './invariants';
import { storedLeftovers } from './invariants';
import {
  type ConversationPlan,
  type CrashPlan,
  type Fault,
  handoffEnds,
  type TurnPlan,
  userText,
  type WebhookFault,
  type WorldPlan,
} from './scripts';
import { installGlobals, type Owner, seededRandom, settle, VirtualClock, WORLD } from './sim-clock';
import { SimStorage, type StorageFault } from './sim-storage';
import {
  type AgentPlan,
  type ApiFault,
  shortReq,
  SimTiledesk,
  type TakeoverPlan,
} from './sim-tiledesk';

/**
 * The simulated world: 2–3 bot instances (each a `TiledeskHandoff` on its own
 * `ProactiveTestAdapter`) over ONE shared `SimStorage` and ONE `SimTiledesk`, users, a scripted
 * agent, webhooks, faults and crashes, all driven by one scheduler (fast-check's
 * `fc.scheduler()` in the properties, a FIFO one in the regression scenarios).
 *
 * How it runs: every storage call, Tiledesk call (request and response), channel send, user
 * turn, agent action, webhook attempt and (for a lib that still calls it) `setImmediate` is a
 * task of the scheduler, released one at a time in the order the scheduler picks. When no task
 * is pending, the world lets every microtask settle (a real macrotask turn) and, if still
 * nothing is pending, jumps virtual time to the next timer. Latencies are timers: a Tiledesk
 * call's (0–2.5 s, seeded), a user's pause between turns (≥ 0.8 s), the agent's, Tiledesk's
 * webhook retries. A crashed instance's pending calls never resolve, its timers never fire, and
 * it is never used again (an optional restart adds a fresh instance over the same storage).
 *
 * Instances are `i1`, `i2`, … (passed as `instanceId`, with a seeded `random`); conversations
 * `c1`, `c2`, …; user texts `u:c1.3 …`, agent texts `a:c1.h0.m2` (conversation, handoff,
 * message). `world.lines` is the trace.
 */

export const PROJECT_ID = '65a1b2c3d4e5f6a7b8c9d0e1';
export const LEASE_MS = 60_000;
export const HANDOFF_LIMIT_MS = 60_000;
export const TEXTS = {
  connecting: '[connecting]',
  assigned: '[assigned {agent}]',
  queued: '[queued]',
  failed: '[failed]',
  closed: '[closed]',
  left: '[left]',
} as const;
/** What the user writes to end the chat with the agent. */
export const LEAVE_TEXT = 'end chat';
const ADMIN = { email: 'bot-admin@example.com', password: 'sim-password' };
const PROJECT_SECRET = 'sim-project-secret-0123456789abcdef';
const WEBHOOK_URL = 'https://bot.example.com/api/tiledesk';
/** Tiledesk's webhook attempts: 3, retried after 2.5 s then 4.5 s; an attempt times out at 10 s. */
const WEBHOOK_RETRY_MS = [2_500, 4_500];
const WEBHOOK_TIMEOUT_MS = 10_000;
/** How long a user waits to be told the agent left (or the handoff failed) before going on. */
const USER_PATIENCE_MS = 10 * 60_000;
const MAX_STEPS = 60_000;
/** SIM_VERBOSE=1: the trace also shows storage reads and Tiledesk GETs. */
const VERBOSE = process.env['SIM_VERBOSE'] === '1';
/** Latencies of Tiledesk calls (equally likely): instant, fast, usual, slow, very slow. */
const LATENCIES_MS = [0, 40, 150, 600, 2_500];

export type TurnRecordKind = TurnRecord['kind'];

/** The part of fast-check's `Scheduler` the world uses. */
export interface SimScheduler {
  schedule<T>(task: Promise<T>, label?: string): Promise<T>;
  count(): number;
  waitNext(count: number): Promise<void>;
}

/** Releases tasks in the order they were scheduled: deterministic scenarios. */
export class FifoScheduler implements SimScheduler {
  private readonly tasks: (() => void)[] = [];

  schedule<T>(task: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.tasks.push(() => void task.then(resolve, reject));
    });
  }

  count(): number {
    return this.tasks.length;
  }

  async waitNext(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.tasks.shift()?.();
    await Promise.resolve();
  }
}

const hang = <T>(): Promise<T> => new Promise<T>(() => {});

/** Gap-based fault tape (see scripts.ts). */
class Tape<T extends { gap: number }> {
  private i = 0;
  private passed = 0;
  constructor(private readonly entries: readonly T[]) {}
  next(): T | undefined {
    const e = this.entries[this.i];
    if (!e) return undefined;
    if (this.passed < e.gap) {
      this.passed++;
      return undefined;
    }
    this.i++;
    this.passed = 0;
    return e;
  }
}

/** One bot instance. */
export class SimInstance implements Owner {
  crashed = false;
  ready = false;
  readonly crashSignal: Promise<'crashed'>;
  private fire!: () => void;
  tiledesk!: TiledeskHandoff;
  adapter!: SimAdapter;

  constructor(readonly id: string) {
    this.crashSignal = new Promise((resolve) => (this.fire = () => resolve('crashed')));
  }

  crash(): void {
    this.crashed = true;
    this.fire();
  }
}

/** What the user sees: every send is a scheduled channel call, cut off by a crash. */
export class SimAdapter extends ProactiveTestAdapter {
  constructor(
    private readonly world: World,
    private readonly inst: SimInstance,
  ) {
    super();
  }

  override async sendActivities(
    context: TurnContext,
    activities: Partial<Activity>[],
  ): Promise<ResourceResponse[]> {
    const conversation = context.activity.conversation?.id ?? '?';
    const proactive = context.activity.type !== 'message';
    const texts = activities.map((a) => a.text ?? `(${a.type})`).join(' | ');
    await this.world.pass(this.inst, `${this.inst.id} channel → ${conversation}: ${texts}`);
    if (proactive && this.world.channelRefuses(conversation)) {
      this.world.trace(`${this.inst.id} channel → ${conversation}: ${texts} → refused (502)`);
      this.world.userRefused(this.inst, conversation, activities);
      throw new Error('simulated channel failure (502 from the connector)');
    }
    this.world.userSaw(this.inst, context.activity, activities, proactive);
    return super.sendActivities(context, activities);
  }

  override continueConversationAsync(...args: unknown[]): Promise<void> {
    if (this.inst.crashed) return hang();
    return (super.continueConversationAsync as (...a: unknown[]) => Promise<void>).apply(
      this,
      args,
    );
  }
}

export interface WorldOptions {
  /** Agent plans by conversation, for scenarios without a user script. */
  agentPlans?: Record<string, AgentPlan[]>;
  /** Hold webhooks in `held` instead of delivering them (scenarios deliver by hand). */
  manualWebhooks?: boolean;
  settings?: TiledeskSettingsInput;
}

/** A webhook Tiledesk sends: its event, body (JSON text), secret, and what it carries. */
export interface HeldDelivery {
  event: string;
  json: string;
  secret: string;
  what: string;
  requestId: string;
}

export class World {
  readonly clock = new VirtualClock();
  readonly storage = new SimStorage();
  readonly tiledesk: SimTiledesk;
  readonly instances: SimInstance[] = [];
  readonly held: HeldDelivery[] = [];
  readonly lines: string[] = [];
  /** Called after each applied storage change (scenarios crash an instance from here). */
  readonly appliedHooks: ((key: string, json: string | undefined, by: string) => void)[] = [];
  step = 0;
  /** Drain phase: faults healed. */
  healed = false;
  stuck: string | undefined;
  manualWebhooks: boolean;

  private seq = 0;
  private readonly turns: TurnRecord[] = [];
  private readonly turnById = new Map<string, TurnRecord>();
  private readonly seen: SeenRecord[] = [];
  /** Proactive sends the (faulty) channel refused: the lib tried to tell the user then. */
  private readonly refused: SeenRecord[] = [];
  private readonly events: EventRecord[] = [];
  private readonly crashes: CrashRecord[] = [];
  private readonly errors: { instance: string; code: string; seq: number }[] = [];
  /** When (seq) the user was told the agent left or the handoff failed, per conversation. */
  private readonly backSeqs = new Map<string, number[]>();
  private readonly backWaiters: { conversation: string; above: number; wake(): void }[] = [];
  private readonly storageTape: Tape<Fault<StorageFault>>;
  private readonly apiTape: Tape<Fault<ApiFault>>;
  private readonly channelTape: Tape<Fault<'fail'>>;
  private readonly webhookTape: Tape<WebhookFault>;
  private readonly proactiveSends = new Map<string, number>();
  private readonly channelDownUntil = new Map<string, number>();
  private readonly latencyRandom: () => number;
  private nextCrash = 0;
  private roundRobin = 0;
  private deliveries = 0;
  private idle: { instance: string; resolved: boolean }[] = [];

  constructor(
    readonly scheduler: SimScheduler,
    readonly plan: WorldPlan,
    private readonly options: WorldOptions = {},
  ) {
    this.manualWebhooks = options.manualWebhooks ?? false;
    this.storageTape = new Tape(plan.storageFaults);
    this.apiTape = new Tape(plan.apiFaults);
    this.channelTape = new Tape(plan.channelFaults);
    this.webhookTape = new Tape(plan.webhookFaults);
    this.latencyRandom = seededRandom(plan.randomSeed ^ 0x1a7e9c);
    this.clock.onTimerError = (err) => this.trace(`timer threw: ${String(err)}`);
    this.storage.trace = (line) => this.trace(line);
    this.storage.onApplied = (key, json, by) => {
      this.noteDurable(json);
      for (const hook of this.appliedHooks) hook(key, json, by);
    };
    this.tiledesk = new SimTiledesk(
      PROJECT_ID,
      ADMIN,
      plan.projectSecret ? PROJECT_SECRET : undefined,
      this.clock,
      {
        deliver: (event, json, secret, what, requestId) =>
          this.deliver({ event, json, secret, what, requestId }),
        agentStep: async (label, delayMs) => {
          if (delayMs > 0) await this.sleep(delayMs);
          await this.scheduler.schedule(Promise.resolve(), label);
        },
        agentPlan: (conversation, k) => this.agentPlan(conversation, k),
        trace: (line) => this.trace(line),
      },
    );
  }

  // --- the whole run (properties) -----------------------------------------------------------

  /** Runs the plan: start, users' scripts (with faults and crashes), drain. Never throws. */
  async run(): Promise<Observations> {
    const restore = this.install();
    try {
      await this.startInstances(this.plan.instances);
      let usersDone = false;
      void Promise.all([
        ...this.plan.conversations.map((c, i) => this.runUser(`c${i + 1}`, c)),
        ...this.plan.conversations.flatMap((c, i) =>
          (c.takeovers ?? []).map((t, k) => this.runTakeover(`c${i + 1}`, k, t)),
        ),
      ]).then(() => (usersDone = true));
      const finished = await this.runUntil(() => usersDone, 4 * 60 * 60_000);
      if (!finished) this.stuck ??= 'the users did not finish their scripts within 4 h';
      await this.drain();
      return this.observe();
    } finally {
      restore();
    }
  }

  /** Routes the global timers and `Math.random` into this world; returns the undo. */
  install(): () => void {
    return installGlobals({
      clock: this.clock,
      immediate: (fn) => {
        void this.scheduler.schedule(Promise.resolve(), 'setImmediate').then(() => {
          try {
            fn();
          } catch (err) {
            this.trace(`setImmediate callback threw: ${String(err)}`);
          }
        });
      },
      random: seededRandom(this.plan.randomSeed),
    });
  }

  async startInstances(n: number): Promise<void> {
    const started = Array.from({ length: n }, () => this.addInstance());
    for (const inst of started) this.startInstance(inst);
    await this.runUntil(() => started.every((i) => i.ready || i.crashed), 10 * 60_000);
  }

  /**
   * Runs the world until `done()` holds: releases scheduled tasks one at a time (the
   * scheduler picks), and when none is pending, moves virtual time to the next timer, as long
   * as that is before `horizonMs` (elapsed virtual time). Returns `done()`.
   */
  async runUntil(done: () => boolean, horizonMs: number): Promise<boolean> {
    for (;;) {
      if (done()) return true;
      if (this.step >= MAX_STEPS) {
        this.stuck ??= `more than ${MAX_STEPS} scheduler steps (livelock?)`;
        return false;
      }
      this.maybeCrash();
      if (this.scheduler.count() > 0) {
        this.step++;
        await this.scheduler.waitNext(1);
        continue;
      }
      // Nothing scheduled: let every microtask chain finish (a real macrotask turn) before
      // concluding that nothing can run and moving time on. Deterministic either way: only
      // promises run in between, in an order that does not depend on real time.
      await settle();
      if (this.scheduler.count() > 0 || done()) continue;
      const next = this.clock.nextAt();
      if (next === undefined || next - this.clock.start > horizonMs) return done();
      this.clock.fireNext();
    }
  }

  /** Everything that can happen without moving time past `horizonMs` from now. */
  runFor(ms: number): Promise<boolean> {
    return this.runUntil(() => false, this.clock.elapsed + ms);
  }

  /**
   * The drain: heal every fault, advance time past the lease and the catch-up interval a few
   * times, then wait (up to 10 virtual minutes) for `whenIdle()` of every live instance.
   */
  async drain(): Promise<void> {
    this.heal();
    const round = LEASE_MS + this.plan.catchUpIntervalMs + 5_000;
    for (let i = 0; i < 3; i++) await this.runFor(round);
    const live = this.live();
    this.idle = live.map((inst) => {
      const state = { instance: inst.id, resolved: false };
      void inst.tiledesk.whenIdle().then(() => (state.resolved = true));
      return state;
    });
    await this.runUntil(() => this.idle.every((s) => s.resolved), this.clock.elapsed + 10 * 60_000);
    // Whatever the last passes set off (deliveries, echoes) may still be moving: let it land.
    await this.runFor(WEBHOOK_TIMEOUT_MS + 10_000);
  }

  heal(): void {
    this.healed = true;
    this.tiledesk.healed = true;
    this.channelDownUntil.clear();
    this.trace('--- drain: faults healed ---');
  }

  // --- instances ----------------------------------------------------------------------------

  addInstance(): SimInstance {
    const inst = new SimInstance(`i${this.instances.length + 1}`);
    const index = this.instances.length;
    this.instances.push(inst);
    const storage = this.storage.view({
      name: inst.id,
      pass: (label) => this.pass(inst, label),
      fault: () => (this.healed ? undefined : this.storageTape.next()?.kind),
      alive: () => !inst.crashed,
      verbose: VERBOSE,
    });
    const api = this.tiledesk.api({
      name: inst.id,
      pass: (label) => this.pass(inst, label),
      latency: () => this.latency(inst),
      verbose: VERBOSE,
      fault: () => (this.healed ? undefined : this.apiTape.next()?.kind),
      trace: (line) => this.trace(line),
    });
    inst.adapter = new SimAdapter(this, inst);
    const logic = (context: TurnContext) => this.botLogic(inst, context);
    const options: TiledeskHandoffOptions & { instanceId: string; random: () => number } = {
      adapter: inst.adapter,
      storage: storage as Storage,
      api,
      clock: this.clock.view(inst),
      bot: logic,
      appSettings: {
        TiledeskProjectId: PROJECT_ID,
        TiledeskEmail: ADMIN.email,
        TiledeskPassword: ADMIN.password,
        TiledeskWebhookUrl: WEBHOOK_URL,
        TiledeskWebhookProbe: 'false', // a made-up public URL: nothing to probe
        ...(this.plan.projectSecret ? { TiledeskProjectSecret: PROJECT_SECRET } : {}),
        MicrosoftAppId: '',
      },
      settings: {
        catchUpIntervalMs: this.plan.catchUpIntervalMs,
        textConnecting: TEXTS.connecting,
        textAssigned: TEXTS.assigned,
        textQueued: TEXTS.queued,
        textFailed: TEXTS.failed,
        textClosed: TEXTS.closed,
        textLeft: TEXTS.left,
        leaveKeywords: [LEAVE_TEXT],
        textEndChatButton: '',
        // The queue and inactivity timeouts end handoffs the scripts below do not plan for (a
        // queued handoff waits for its agent however long a channel outage lasts): off here.
        queueTimeoutMs: 0,
        inactivityTimeoutMs: 0,
        // The invariants compare what agents wrote with what the user got.
        agentPrefix: '',
        ...this.options.settings,
      },
      logger: {
        debug: () => {},
        info: (message) => this.trace(`${inst.id} info: ${message}`),
        warn: (message) => this.trace(`${inst.id} warn: ${message}`),
        error: (message) => this.trace(`${inst.id} error: ${message}`),
      },
      onError: (e) => {
        this.errors.push({ instance: inst.id, code: e.code, seq: ++this.seq });
        this.trace(`${inst.id} onError ${e.code}: ${e.message}`);
      },
      instanceId: inst.id,
      random: seededRandom(this.plan.randomSeed ^ (index + 1)),
    };
    inst.tiledesk = new TiledeskHandoff(options);
    inst.adapter.use(inst.tiledesk);
    return inst;
  }

  startInstance(inst: SimInstance): void {
    this.trace(`${inst.id} starts`);
    inst.tiledesk.start().then(
      () => {
        inst.ready = true;
        this.trace(`${inst.id} started`);
      },
      (err: unknown) => this.trace(`${inst.id} start() threw: ${String(err)}`),
    );
  }

  /** Live instances, in creation order. */
  live(): SimInstance[] {
    return this.instances.filter((i) => !i.crashed);
  }

  crash(inst: SimInstance, restart: boolean): void {
    if (inst.crashed) return;
    inst.crash();
    this.crashes.push({
      instance: inst.id,
      step: this.step,
      at: this.clock.elapsed,
      seq: ++this.seq,
    });
    this.trace(`*** ${inst.id} CRASHES${restart ? ' (a new instance starts)' : ''} ***`);
    if (restart) this.startInstance(this.addInstance());
  }

  private maybeCrash(): void {
    const plans = this.plan.crashes;
    while (
      !this.healed &&
      this.nextCrash < plans.length &&
      plans[this.nextCrash]!.atStep <= this.step
    ) {
      const c: CrashPlan = plans[this.nextCrash++]!;
      const live = this.live();
      if (live.length === 0) continue;
      const victim = live[c.victim % live.length]!;
      // Someone must stay up to serve the users: the last instance only crashes with a restart.
      this.crash(victim, c.restart || live.length === 1);
    }
  }

  /** Waits for the scheduler; never resolves once `owner` crashed. */
  async pass(owner: Owner, label: string): Promise<void> {
    if (owner.crashed) return hang();
    await this.scheduler.schedule(Promise.resolve(), label);
    if (owner.crashed) return hang();
  }

  /** A Tiledesk call's latency (a timer of the caller: it dies with it). */
  private latency(owner: Owner): Promise<void> {
    if (!this.plan.latency) return Promise.resolve();
    const ms = LATENCIES_MS[Math.floor(this.latencyRandom() * LATENCIES_MS.length)]!;
    if (ms === 0) return Promise.resolve();
    return new Promise((resolve) => this.clock.setTimer(resolve, ms, owner));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, ms, WORLD));
  }

  // --- users ----------------------------------------------------------------------------------

  private async runUser(conversation: string, plan: ConversationPlan): Promise<void> {
    let n = 0;
    let sawBack: boolean | undefined;
    for (const [s, segment] of plan.segments.entries()) {
      for (const t of segment.plain) {
        const turn = await this.userTurn(conversation, ++n, s === 0 ? 'plain' : 'after', t);
        if (s > 0) turn.sawBack = sawBack ?? false;
      }
      const h = segment.handoff;
      if (!h) continue;
      const keyword = await this.userTurn(conversation, ++n, 'keyword', h.keyword);
      for (const t of h.during) await this.userTurn(conversation, ++n, 'during', t);
      if (h.leave) await this.userTurn(conversation, ++n, 'during', h.leave, LEAVE_TEXT);
      const started = keyword.replies.includes(TEXTS.connecting);
      // Told after the keyword was sent (not a close of an earlier request, told meanwhile).
      if (handoffEnds(h) && started) sawBack = await this.waitBack(conversation, keyword.seq);
      else sawBack = false;
    }
  }

  /** One user turn on a live instance (the load balancer's pick); resolves when it is over. */
  async userTurn(
    conversation: string,
    n: number,
    kind: TurnRecord['kind'],
    plan: TurnPlan,
    text = userText(conversation, n, kind === 'keyword'),
  ): Promise<TurnRecord> {
    if (plan.thinkMs > 0) await this.sleep(plan.thinkMs);
    await this.scheduler.schedule(Promise.resolve(), `user ${conversation} turn ${n}`);
    const live = this.live();
    const inst = live[plan.instance % live.length]!;
    const id = `${conversation}-t${n}`;
    const turn: TurnRecord = {
      conversation,
      n,
      text,
      kind,
      instance: inst.id,
      at: this.clock.elapsed,
      seq: ++this.seq,
      outcome: 'pending',
      replies: [],
      durable: false,
    };
    this.turns.push(turn);
    this.turnById.set(id, turn);
    this.trace(`${conversation} user → ${inst.id}: "${text}"`);
    const activity: Partial<Activity> = {
      type: 'message',
      id,
      text,
      channelId: 'sim',
      serviceUrl: 'https://channel.example.com/',
      locale: 'en-US',
      from: { id: `user-${conversation}`, name: `User ${conversation}` },
      recipient: { id: 'bot', name: 'Bot' },
      conversation: { id: conversation, isGroup: false, conversationType: 'personal', name: '' },
    };
    const logic = (context: TurnContext) => this.botLogic(inst, context);
    const outcome = await Promise.race([
      inst.adapter.processActivity(activity, logic).then(
        () => 'done' as const,
        (err: unknown) => {
          turn.error = err instanceof Error ? err.message : String(err);
          return 'error' as const;
        },
      ),
      inst.crashSignal,
    ]);
    turn.outcome = outcome;
    turn.doneSeq = ++this.seq;
    turn.doneAt = this.clock.elapsed;
    this.trace(
      `${conversation} turn ${n} on ${inst.id}: ${outcome}${turn.error ? ` (${turn.error})` : ''}`,
    );
    return turn;
  }

  /**
   * A person looks at the conversation at `atMs` (then every 20 s, 4 times at most) and joins
   * its open request if no person has it (sim-tiledesk `takeover`).
   */
  private async runTakeover(conversation: string, k: number, plan: TakeoverPlan): Promise<void> {
    await this.sleep(plan.atMs);
    for (let i = 0; i < 4; i++) {
      if (i > 0) await this.sleep(20_000);
      await this.scheduler.schedule(Promise.resolve(), `agent looks at ${conversation} (${k})`);
      if (await this.tiledesk.takeover(conversation, k, plan)) return;
    }
    this.trace(`agent: nothing to take over in ${conversation} (${k})`);
  }

  /** Waits until the user is told the agent left or the handoff failed; false after patience. */
  private waitBack(conversation: string, above: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        resolve(ok);
      };
      const handle = this.clock.setTimer(() => finish(false), USER_PATIENCE_MS, WORLD);
      const wake = () => {
        this.clock.clear(handle);
        finish(true);
      };
      if ((this.backSeqs.get(conversation) ?? []).some((seq) => seq > above)) wake();
      else this.backWaiters.push({ conversation, above, wake });
    });
  }

  /** The echo bot: "Echo: <text>"; `handoff.status` events are recorded. */
  private async botLogic(inst: SimInstance, context: TurnContext): Promise<void> {
    const a = context.activity;
    if (a.type === 'message') {
      await context.sendActivity(`Echo: ${a.text ?? ''}`);
    } else if (a.type === 'event' && a.name === 'handoff.status') {
      const state = (a.value as { state?: string } | undefined)?.state ?? '?';
      const conversation = a.conversation?.id ?? '?';
      this.events.push({
        conversation,
        instance: inst.id,
        state,
        at: this.clock.elapsed,
        seq: ++this.seq,
      });
      this.trace(`${inst.id} bot got handoff.status ${state} in ${conversation}`);
    }
  }

  /** Called by the adapters once the channel accepted activities. */
  userSaw(
    inst: SimInstance,
    turnActivity: Partial<Activity>,
    activities: Partial<Activity>[],
    proactive: boolean,
  ): void {
    const conversation = turnActivity.conversation?.id ?? '?';
    const turn = proactive ? undefined : this.turnById.get(turnActivity.id ?? '');
    for (const a of activities) {
      if ((a.type ?? 'message') !== 'message') continue;
      const text = a.text ?? '';
      this.seen.push({
        conversation,
        instance: inst.id,
        text,
        proactive,
        at: this.clock.elapsed,
        seq: ++this.seq,
      });
      turn?.replies.push(text);
      this.trace(
        `${conversation} user sees (${proactive ? 'proactive' : 'reply'}, ${inst.id}): "${text}"`,
      );
      if (proactive)
        this.proactiveSends.set(conversation, (this.proactiveSends.get(conversation) ?? 0) + 1);
      if (proactive && (text === TEXTS.closed || text === TEXTS.failed || text === TEXTS.left)) {
        const seq = this.seq;
        this.backSeqs.set(conversation, [...(this.backSeqs.get(conversation) ?? []), seq]);
        for (const w of this.backWaiters.splice(0)) {
          if (w.conversation === conversation && seq > w.above) w.wake();
          else this.backWaiters.push(w);
        }
      }
    }
  }

  /** Does the channel refuse a proactive send to this conversation now (injected)? */
  channelRefuses(conversation: string): boolean {
    if (this.healed) return false;
    const down = this.channelDownUntil.get(conversation);
    if (down !== undefined && this.clock.now() < down) return true;
    const outage = this.conversationPlan(conversation)?.channelOutage;
    if (
      outage &&
      down === undefined &&
      (this.proactiveSends.get(conversation) ?? 0) >= outage.afterSends
    ) {
      this.channelDownUntil.set(conversation, this.clock.now() + outage.durationMs);
      this.trace(`channel outage for ${conversation} starts (${outage.durationMs / 1000} s)`);
      return true;
    }
    return this.channelTape.next() !== undefined;
  }

  /** Makes the channel refuse proactive sends to `conversation` until `untilElapsedMs`. */
  channelDown(conversation: string, forMs: number): void {
    this.channelDownUntil.set(conversation, this.clock.now() + forMs);
  }

  /** Has this user text reached storage (some applied write held it)? */
  isDurable(text: string): boolean {
    return this.turns.some((t) => t.text === text && t.durable);
  }

  /** Texts the user saw in a conversation, in order (replies and proactive messages). */
  userRefused(inst: SimInstance, conversation: string, activities: Partial<Activity>[]): void {
    for (const a of activities) {
      if ((a.type ?? 'message') !== 'message') continue;
      this.refused.push({
        conversation,
        instance: inst.id,
        text: a.text ?? '',
        proactive: true,
        at: this.clock.elapsed,
        seq: ++this.seq,
      });
    }
  }

  seenTexts(conversation: string): string[] {
    return this.seen.filter((s) => s.conversation === conversation).map((s) => s.text);
  }

  /** The `handoff.status` states the bots got in a conversation, in order. */
  statuses(conversation: string): string[] {
    return this.events.filter((e) => e.conversation === conversation).map((e) => e.state);
  }

  /** A user message text reached storage: it is durable from now on. */
  private noteDurable(json: string | undefined): void {
    if (json === undefined) return;
    for (const t of this.turns) {
      if (t.durable || !json.includes(JSON.stringify(t.text))) continue;
      // "end chat" is not unique: its turn's activity id must be there too.
      if (t.text === LEAVE_TEXT && !json.includes(JSON.stringify(`${t.conversation}-t${t.n}`))) {
        continue;
      }
      t.durable = true;
    }
  }

  // --- Tiledesk side ----------------------------------------------------------------------------

  private conversationPlan(conversation: string): ConversationPlan | undefined {
    const i = Number(conversation.slice(1)) - 1;
    return this.plan.conversations[i];
  }

  private agentPlan(conversation: string, k: number): AgentPlan | undefined {
    const fixed = this.options.agentPlans?.[conversation];
    if (fixed) return fixed[k];
    const plan = this.conversationPlan(conversation);
    const handoffs = plan?.segments.flatMap((s) => (s.handoff ? [s.handoff.agent] : [])) ?? [];
    return handoffs[k];
  }

  private deliver(d: HeldDelivery): void {
    if (this.manualWebhooks) {
      this.held.push(d);
      return;
    }
    const id = ++this.deliveries;
    const label = `webhook#${id} ${d.event === 'request.close' ? 'request.close' : d.what} ${shortReq(d.requestId)}`;
    const fault = this.healed ? undefined : this.webhookTape.next();
    if (fault?.lose) {
      this.trace(`${label}: every attempt fails (lost)`);
      return;
    }
    const to = fault ? fault.to : this.roundRobin++;
    void this.attempt(label, d, to, 1, fault?.failFirst ?? 0);
    if (fault?.dup) void this.attempt(`${label} (duplicate)`, d, to + 1, 1, 0);
  }

  /** One delivery attempt to a live instance, with Tiledesk's retries. */
  private async attempt(
    label: string,
    d: HeldDelivery,
    to: number,
    attempt: number,
    failFirst: number,
  ): Promise<void> {
    await this.scheduler.schedule(Promise.resolve(), `${label} attempt ${attempt}`);
    const live = this.live();
    const inst = live[to % live.length];
    let ok = false;
    let final = false;
    if (!inst) {
      this.trace(`${label} attempt ${attempt}: no instance up`);
    } else if (attempt <= failFirst && !this.healed) {
      this.trace(`${label} attempt ${attempt} → ${inst.id}: network error (injected)`);
    } else {
      const status = await this.deliverTo(inst, d);
      if (status === 'crashed') {
        this.trace(`${label} attempt ${attempt} → ${inst.id}: no answer (crashed)`);
        await this.sleep(WEBHOOK_TIMEOUT_MS);
      } else {
        this.trace(`${label} attempt ${attempt} → ${inst.id}: ${status}`);
        ok = status >= 200 && status < 300;
        // Tiledesk retries network errors, 1xx, 429 and 5xx only (§5.3).
        final = status >= 200 && status !== 429 && status < 500;
      }
    }
    if (ok || final) return;
    if (attempt >= 3) {
      this.trace(`${label}: dropped after 3 attempts`);
      return;
    }
    await this.sleep(WEBHOOK_RETRY_MS[attempt - 1]!);
    await this.attempt(label, d, to + 1, attempt + 1, failFirst);
  }

  /** Calls an instance's webhook handler; its HTTP status, or 'crashed' if it never answered. */
  async deliverTo(inst: SimInstance, d: HeldDelivery): Promise<number | 'crashed'> {
    const res = {
      statusCode: 0,
      setHeader: () => undefined,
      end: () => undefined,
    };
    const handled = inst.tiledesk
      .webhookHandler(
        {
          headers: { 'content-type': 'application/json', 'x-hook-secret': d.secret },
          body: d.json, // the raw body, as a server without a body parser hands it over
        },
        res,
      )
      .then(() => res.statusCode);
    return Promise.race([handled, inst.crashSignal]);
  }

  // --- observations -------------------------------------------------------------------------

  trace(line: string): void {
    const t = (this.clock.elapsed / 1000).toFixed(3);
    this.lines.push(`[+${t}s #${this.step}] ${line}`);
  }

  observe(): Observations {
    const mirrored: MirroredRecord[] = [];
    for (const r of this.tiledesk.requests.values()) {
      for (const m of this.tiledesk.messages.get(r.request_id) ?? []) {
        const key = m.attributes?.['bf_key'];
        if (typeof key !== 'string') continue;
        mirrored.push({
          conversation: r.conversation ?? '?',
          requestId: r.request_id,
          createdAt: m.createdAt,
          at: Date.parse(m.createdAt) - this.clock.start,
          text: m.text ?? '',
          bfKey: key,
          info: m.attributes?.['subtype'] === 'info',
          history: m.attributes?.['bf_history'] === true,
        });
      }
    }
    mirrored.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const settings = this.options.settings;
    return {
      mirrorMode: settings?.mirrorMode ?? 'all',
      transcriptMaxMessages: settings?.transcriptMaxMessages ?? 50,
      texts: TEXTS,
      leaveText: LEAVE_TEXT,
      handoffLimitMs: HANDOFF_LIMIT_MS,
      crashGraceMs: LEASE_MS + this.plan.catchUpIntervalMs + 5_000,
      turns: this.turns,
      seen: this.seen,
      refused: this.refused,
      events: this.events,
      crashes: this.crashes,
      agentPosts: this.tiledesk.agentPosts,
      // Requests the user left: closed by the bot, or holding the "[left]" line it mirrors there.
      leftRequests: new Set([
        ...this.tiledesk.leftRequests,
        ...[...this.tiledesk.messages]
          .filter(([, list]) => list.some((m) => m.text === TEXTS.left))
          .map(([requestId]) => requestId),
      ]),
      closes: this.tiledesk.closes,
      assignments: this.tiledesk.assignments,
      takeovers: this.tiledesk.takeovers,
      errors: this.errors,
      mirrored,
      idle: this.idle,
      leftovers: storedLeftovers(this.storage),
      stuck: this.stuck,
    };
  }

  /** Counts of operations, for the report. */
  stats(): string {
    const s = this.storage.counts;
    const api = Object.values(this.tiledesk.counts).reduce((a, b) => a + b, 0);
    return (
      `${this.step} steps, ${(this.clock.elapsed / 1000).toFixed(0)} s virtual; storage ` +
      `read ${s.read} write ${s.write} delete ${s.delete} create ${s.create} replace ${s.replace}; ` +
      `tiledesk calls ${api}; webhooks ${this.deliveries}; crashes ${this.crashes.length}`
    );
  }
}

/** On in `npm test`; `SIM=0` skips the simulation and its regression scenarios (quick runs). */
export const SIM_ENABLED = process.env['SIM'] !== '0';

export function describeSim(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  return (SIM_ENABLED ? describe : describe.skip)(title, fn);
}
