import fc from 'fast-check';
import type { StorageFault } from './sim-storage';
import type { AgentPlan, ApiFault, TakeoverPlan } from './sim-tiledesk';

/**
 * What fast-check generates for one simulated run (everything else is derived from it, so a
 * seed and a path reproduce a run exactly, and shrinking makes scripts shorter and faults
 * fewer). Faults are sparse "tapes": entry `{ gap, … }` means "let `gap` calls pass, then inject
 * this"; calls after the tape is used up pass (the empty tape is the fault-free world).
 */

/** One user turn: which instance the load balancer picks, and the user's think time before it. */
export interface TurnPlan {
  /** Index into the live instances (modulo their number). */
  instance: number;
  thinkMs: number;
}

export interface HandoffPlan {
  /** The turn with the keyword ("I want a human"). */
  keyword: TurnPlan;
  /** Turns while the agent has the conversation. */
  during: TurnPlan[];
  /** The user then ends the chat with the agent ("end chat"), racing the agent's own plan. */
  leave?: TurnPlan;
  agent: AgentPlan;
}

export interface SegmentPlan {
  /** Turns the bot answers (after a close or failure when this is not the first segment). */
  plain: TurnPlan[];
  handoff?: HandoffPlan;
}

export interface ConversationPlan {
  segments: SegmentPlan[];
  /** The channel refuses proactive sends to this conversation for a while (virtual ms). */
  channelOutage?: { afterSends: number; durationMs: number };
  /** A person joins the open request from the dashboard (JOIN TO CHAT), racing the script. */
  takeovers?: TakeoverPlan[];
}

export interface Fault<K> {
  gap: number;
  kind: K;
}

export interface WebhookFault {
  gap: number;
  /** Which live instance gets the first attempt (the load balancer's pick). */
  to: number;
  /** Delivered twice (two copies, each with its own attempts). */
  dup: boolean;
  /** Every attempt fails: only a catch-up can recover what it carried. */
  lose: boolean;
  /** The first attempts fail (Tiledesk retries after 2.5 s, then 4.5 s). */
  failFirst: number;
}

export interface CrashPlan {
  /** After this many scheduler steps. */
  atStep: number;
  /** Index into the live instances. */
  victim: number;
  /** A new instance starts over the same storage. */
  restart: boolean;
}

export interface WorldPlan {
  instances: number;
  /** Custom-JWT end users (a project secret) rather than anonymous ones. */
  projectSecret: boolean;
  catchUpIntervalMs: number;
  /** Seed of the `random` the instances get (and of `Math.random` during the run). */
  randomSeed: number;
  /** Tiledesk calls take virtual time (0–2.5 s each, from a stream seeded by `randomSeed`). */
  latency: boolean;
  conversations: ConversationPlan[];
  storageFaults: Fault<StorageFault>[];
  apiFaults: Fault<ApiFault>[];
  channelFaults: Fault<'fail'>[];
  webhookFaults: WebhookFault[];
  crashes: CrashPlan[];
}

/** Knobs of one property: what kind of trouble it explores. */
export interface Profile {
  minInstances: number;
  maxInstances: number;
  maxConversations: number;
  maxSegments: number;
  storageFaults: number;
  apiFaults: number;
  channelFaults: number;
  webhookFaults: number;
  crashes: number;
  /** Handoffs whose routing fails for good (the handoff must end as "failed"). */
  outages: boolean;
  /** Long channel outages (proactive sends fail for a while). */
  channelOutages: boolean;
  maxCrashStep: number;
  /** Takeovers per conversation, at most (a person joining from the dashboard; 0: none). */
  takeovers?: number;
}

/**
 * A user reads the reply and types: at least most of a second between turns (a human's pace;
 * with no pause at all, the next turn would overtake even a 0 ms timer the bot set in the
 * previous one, which real time never does). The long pause lets leases and catch-ups happen.
 */
const think = fc.constantFrom(800, 800, 1_500, 3_000, 45_000);
const agentDelay = fc.constantFrom(0, 0, 400, 3_000, 20_000);

const turn: fc.Arbitrary<TurnPlan> = fc.record({ instance: fc.nat(5), thinkMs: think });

function agentPlan(p: Profile): fc.Arbitrary<AgentPlan> {
  const routes = p.outages
    ? (['assigned', 'assigned', 'assigned', 'queued', 'outage'] as const)
    : (['assigned', 'assigned', 'assigned', 'queued'] as const);
  return fc
    .record({
      route: fc.constantFrom(...routes),
      joinDelayMs: fc.constantFrom(500, 5_000, 30_000),
      messages: fc.array(fc.record({ delayMs: agentDelay }), { maxLength: 3 }),
      close: fc.boolean(),
      closeDelayMs: agentDelay,
    })
    .map(({ route, ...rest }) => ({
      ...rest,
      outage: route === 'outage',
      queued: route === 'queued',
    }));
}

/** A handoff ends (the user gets the bot back) when routing fails, the agent closes or the user leaves. */
export function handoffEnds(h: HandoffPlan): boolean {
  return h.agent.outage || h.agent.close || h.leave !== undefined;
}

function takeover(): fc.Arbitrary<TakeoverPlan> {
  return fc.record({
    atMs: fc.constantFrom(1_000, 3_000, 8_000, 30_000, 90_000),
    chat21: fc.boolean(),
    messages: fc.array(fc.record({ delayMs: agentDelay }), { maxLength: 3 }),
    close: fc.boolean(),
    closeDelayMs: agentDelay,
  });
}

/** With takeovers: the plain script plus JOIN TO CHATs at seeded times, racing it. */
function conversation(p: Profile): fc.Arbitrary<ConversationPlan> {
  const max = p.takeovers ?? 0;
  if (max === 0) return scripted(p); // the other properties' runs stay exactly as they were
  return fc
    .tuple(scripted(p), fc.array(takeover(), { minLength: 1, maxLength: max }))
    .map(([plan, takeovers]) => ({ ...plan, takeovers }));
}

function scripted(p: Profile): fc.Arbitrary<ConversationPlan> {
  const handoff: fc.Arbitrary<HandoffPlan> = fc.record(
    {
      keyword: turn,
      during: fc.array(turn, { maxLength: 2 }),
      leave: turn,
      agent: agentPlan(p),
    },
    { requiredKeys: ['keyword', 'during', 'agent'] },
  );
  const segment: fc.Arbitrary<SegmentPlan> = fc.record(
    { plain: fc.array(turn, { maxLength: 2 }), handoff },
    { requiredKeys: ['plain'] },
  );
  const outage = p.channelOutages
    ? fc.option(
        fc.record({
          afterSends: fc.nat(3),
          durationMs: fc.constantFrom(20_000, 20 * 60_000),
        }),
        { freq: 4, nil: undefined },
      )
    : fc.constant(undefined);
  return fc
    .record({
      segments: fc.array(segment, { minLength: 1, maxLength: p.maxSegments }),
      channelOutage: outage,
    })
    .map(({ segments, channelOutage }) => {
      // After a handoff that never ends, the user stays with the agent: drop what follows.
      const kept: SegmentPlan[] = [];
      for (const s of segments) {
        kept.push(s);
        if (s.handoff && !handoffEnds(s.handoff)) break;
      }
      return channelOutage ? { segments: kept, channelOutage } : { segments: kept };
    });
}

function tape<K>(kinds: fc.Arbitrary<K>, maxLength: number, maxGap = 25): fc.Arbitrary<Fault<K>[]> {
  if (maxLength === 0) return fc.constant([]);
  return fc.array(fc.record({ gap: fc.nat(maxGap), kind: kinds }), { maxLength });
}

export function worldPlan(p: Profile): fc.Arbitrary<WorldPlan> {
  return fc.record({
    instances: fc.integer({ min: p.minInstances, max: p.maxInstances }),
    projectSecret: fc.boolean(),
    catchUpIntervalMs: fc.constantFrom(20_000, 60_000),
    randomSeed: fc.noShrink(fc.integer()),
    latency: fc.constant(true),
    conversations: fc.array(conversation(p), { minLength: 1, maxLength: p.maxConversations }),
    storageFaults: tape(fc.constantFrom<StorageFault>('fail', 'lost'), p.storageFaults, 40),
    apiFaults: tape(fc.constantFrom<ApiFault>('503', 'network', 'lost'), p.apiFaults),
    channelFaults: tape(fc.constant('fail' as const), p.channelFaults, 6),
    webhookFaults:
      p.webhookFaults === 0
        ? fc.constant([])
        : fc.array(
            fc.record({
              gap: fc.nat(4),
              to: fc.nat(2),
              dup: fc.boolean(),
              lose: fc.boolean(),
              failFirst: fc.nat(2),
            }),
            { maxLength: p.webhookFaults },
          ),
    crashes:
      p.crashes === 0
        ? fc.constant([])
        : fc.array(
            fc.record({
              atStep: fc.nat(p.maxCrashStep),
              victim: fc.nat(2),
              restart: fc.boolean(),
            }),
            { minLength: 1, maxLength: p.crashes },
          ),
  });
}

/** The user's text of a turn: unique per conversation, with the keyword for a handoff. */
export function userText(conversation: string, n: number, keyword: boolean): string {
  return keyword ? `u:${conversation}.${n} I want a human` : `u:${conversation}.${n} hello`;
}

/** A compact one-line summary of a plan, for failure messages. */
export function summarize(plan: WorldPlan): string {
  const convs = plan.conversations.map((c, i) => {
    const segs = c.segments.map((s) => {
      const plain = `${s.plain.length}p`;
      if (!s.handoff) return plain;
      const a = s.handoff.agent;
      const route = a.outage ? 'outage' : a.queued ? 'queued' : 'assigned';
      return `${plain}+H(${route},${s.handoff.during.length}u,${a.messages.length}a${a.close ? ',close' : ''}${s.handoff.leave ? ',leave' : ''})`;
    });
    const outage = c.channelOutage ? ` channel-outage ${c.channelOutage.durationMs / 1000}s` : '';
    const takeovers = (c.takeovers ?? []).map(
      (t) =>
        ` T@${t.atMs / 1000}s(${t.chat21 ? 'chat21,' : ''}${t.messages.length}a${t.close ? ',close' : ''})`,
    );
    return `c${i + 1}:[${segs.join(' ')}]${outage}${takeovers.join('')}`;
  });
  return [
    `${plan.instances} instances`,
    plan.projectSecret ? 'custom JWT' : 'anonymous users',
    `catch-up ${plan.catchUpIntervalMs / 1000}s`,
    convs.join(' '),
    `faults: storage ${plan.storageFaults.length}, api ${plan.apiFaults.length}, channel ${plan.channelFaults.length}, webhooks ${plan.webhookFaults.length}`,
    `crashes: ${plan.crashes.map((c) => `@${c.atStep}#${c.victim}${c.restart ? '+restart' : ''}`).join(' ') || 'none'}`,
  ].join('; ');
}
