/**
 * Deterministic, seeded, property-based simulation of several bot instances sharing one storage.
 *
 * WHAT IS SIMULATED (in process, no HTTP, no real time; see world.ts)
 * - 2–3 bot instances, each a `TiledeskHandoff` with its own `ProactiveTestAdapter` (what the
 *   user sees is captured per instance), an echo bot, ONE shared storage (sim-storage.ts: both
 *   botbuilder `Storage` and `VersionedStorage`), ONE in-memory Tiledesk (sim-tiledesk.ts) with a
 *   scripted agent, and a virtual clock (sim-clock.ts).
 * - Users (1–3 conversations, scripts from scripts.ts): messages, a handoff keyword, messages
 *   to the agent, more messages once the agent closes or the handoff fails. Each turn goes to an
 *   instance picked by fast-check (a load balancer), one turn at a time per conversation;
 *   conversations run concurrently.
 * - fast-check's scheduler (`fc.scheduler()`) orders everything: each storage call, each
 *   Tiledesk call (request and response), each channel send, each webhook attempt, each agent
 *   action and each user turn. Virtual time jumps to the next timer only when nothing else can
 *   run. Tiledesk calls take 0–2.5 s of virtual time, users pause at least 0.8 s between turns
 *   (a human's pace: without it, the next turn would overtake even a 0 ms timer of the last one).
 * - Faults: storage calls that fail (503) or are applied with their response lost; Tiledesk calls
 *   that fail (503, network) or are applied with their response lost (TILEDESK_TIMEOUT);
 *   routing that fails for good; proactive sends the channel refuses (single ones, or an outage
 *   of 20 s or 20 min); webhooks sent to any instance, duplicated, retried after failed attempts
 *   (2.5 s, 4.5 s), or lost for good; instance crashes at any step (pending calls never return,
 *   timers never fire), optionally with a restart over the same storage.
 * - Takeovers (their own property, `TiledeskMirrorVisibility=bot`): requests are served by our
 *   Tiledesk bot; at seeded times a person joins the conversation's open request from the
 *   dashboard (JOIN TO CHAT: `request.update` with [bot, person], maybe chat21's "added to
 *   group", then [person] once the bot is removed), writes and maybe closes, racing the user's
 *   script (messages, handoff keywords, "end chat"), routing (whose answer is a request.update
 *   too) and crashes; the request.updates go through the same webhook faults.
 * - Then a drain: faults healed, time moved past the lease (60 s) and the catch-up interval
 *   three times, `whenIdle()` awaited on every live instance.
 *
 * INVARIANTS (invariants.ts; every message starts with `[invariant N]`)
 * 1. Every user message and bot reply the user saw is mirrored exactly once (by bf_key), in turn
 *    order per conversation (exempt: a turn whose instance crashed before it reached storage).
 * 2. Every agent message reaches the user at least once, in createdAt order; a duplicate only
 *    from an instance that crashed after sending it ("duplicates inside the crash window").
 * 3. Every handoff is resolved (assigned / queued / failed) within 60 s of its trigger, every
 *    close is announced, and the bot answers again after a close or a failure.
 * 4. Nothing is left pending: `whenIdle()` resolves; `storedLeftovers(storage)` is empty.
 * 5. At most one `handoff.status completed` per close.
 * 8–10. A person joining (invariants-takeover.ts; all properties, and its own property with
 *    `TiledeskMirrorVisibility=bot` and takeovers from the dashboard): announced at most once per
 *    request; a late request.update never starts a handoff nor reaches the user once the request
 *    was left or closed; the bot never answers while an announced agent has the chat.
 * 6, 7. Mirror mode `handoff` (its own property, invariants-history.ts): nothing in Tiledesk before
 *    a handoff is asked for, nor of the bot's time after the last one; the bounded history in
 *    Tiledesk, in order, before the live words that started its handoff (1 then asks only for
 *    what the bound keeps).
 *
 * RUNNING / REPRODUCING (part of `npm test`; SIM=0 skips it)
 *   npx mocha test/sim/simulation.test.ts --grep "simulation"
 *   SIM_RUNS=2000 … runs per property (no time budget then); SIM_SEED=123 … another seed
 *   (default 20260105); SIM_NO_SHRINK=1 … report the first failing run without shrinking it;
 *   SIM_SURVEY=1 … do every run, then list each kind of violation with its count and one
 *   example (trace files in the temp directory) instead of stopping at the first;
 *   SIM_VERBOSE=1 … traces also show storage reads and Tiledesk GETs.
 *   (.mocharc.json's `spec` loads every test file; `--grep` keeps the run to these tests.)
 * A failure prints its seed, its fast-check path and the exact command that replays just that
 * run (shrunk), e.g.
 *   SIM_SEED=20260105 SIM_PATH="0:1:0" npx mocha test/sim/simulation.test.ts --grep "crashes and restarts"
 * then the violations, the plan, the world's counters and the end of the run's trace (the whole
 * trace is written to a file in the temp directory, named in the message).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import type { TiledeskSettingsInput } from '../../lib';
import { checkInvariants, type Verdict } from './invariants';
import { type Profile, summarize, type WorldPlan, worldPlan } from './scripts';
import { describeSim, World } from './world';

const SEED = Number(process.env['SIM_SEED'] ?? 20260105);
const RUNS = process.env['SIM_RUNS'] ? Number(process.env['SIM_RUNS']) : undefined;
const PATH = process.env['SIM_PATH'];
const NO_SHRINK = process.env['SIM_NO_SHRINK'] === '1';
const SURVEY = process.env['SIM_SURVEY'] === '1';

const base: Profile = {
  minInstances: 2,
  maxInstances: 3,
  maxConversations: 3,
  maxSegments: 2,
  storageFaults: 0,
  apiFaults: 0,
  channelFaults: 0,
  webhookFaults: 0,
  crashes: 0,
  outages: false,
  channelOutages: false,
  maxCrashStep: 0,
};

/**
 * 30–50 ms a run on a 2-core machine (3–5 s per 100): 3 × 400 runs ≈ 40–55 s. `budgetMs` caps a
 * property (fewer runs on a slow machine; the rest of it for shrinking after a failure); with
 * SIM_RUNS set there is no cap.
 */
const PROPERTIES: {
  title: string;
  profile: Profile;
  runs: number;
  budgetMs: number;
  settings?: TiledeskSettingsInput;
}[] = [
  {
    title: 'webhooks: duplicated, reordered, delayed and lost deliveries to any instance',
    profile: { ...base, webhookFaults: 12 },
    runs: 400,
    budgetMs: 18_000,
  },
  {
    title: 'storage, Tiledesk and channel faults, routing outages',
    profile: {
      ...base,
      storageFaults: 6,
      apiFaults: 6,
      channelFaults: 3,
      webhookFaults: 4,
      outages: true,
      channelOutages: true,
    },
    runs: 400,
    budgetMs: 18_000,
  },
  {
    title: 'crashes and restarts',
    profile: {
      ...base,
      storageFaults: 2,
      apiFaults: 2,
      webhookFaults: 4,
      crashes: 2,
      maxCrashStep: 400,
    },
    runs: 400,
    budgetMs: 18_000,
  },
  {
    // The history moves into the outbox in the write that starts the handoff: under conflicts
    // (several instances), lost write answers, crashes and failing handoffs. A bound of 3 (each
    // turn is 2 messages) makes the oldest go.
    title:
      'mirror mode handoff: history kept, then moved ahead of the routing, under faults and crashes',
    profile: {
      ...base,
      storageFaults: 4,
      apiFaults: 4,
      webhookFaults: 4,
      outages: true,
      crashes: 1,
      maxCrashStep: 400,
    },
    settings: { mirrorMode: 'handoff', transcriptMaxMessages: 3 },
    runs: 400,
    budgetMs: 18_000,
  },
  {
    // TiledeskMirrorVisibility=bot: requests served by our Tiledesk bot; a person joins from the
    // dashboard (JOIN TO CHAT) at seeded times, racing the user's script, a handoff's routing
    // (whose answer is a request.update too), the user leaving and the agent's close; the
    // request.updates go through the same webhook faults (lost, duplicated, retried, late).
    title:
      'takeovers: a person joins a bot-served request (request.update), under faults and crashes',
    profile: {
      ...base,
      storageFaults: 2,
      apiFaults: 3,
      webhookFaults: 8,
      crashes: 1,
      maxCrashStep: 400,
      takeovers: 2,
    },
    settings: { mirrorVisibility: 'bot' },
    runs: 400,
    budgetMs: 18_000,
  },
];

interface Failure {
  verdict: Verdict;
  plan: WorldPlan;
  world: World;
}

describeSim('simulation: several bot instances over one storage (fast-check)', function () {
  this.timeout(0);

  for (const p of PROPERTIES) {
    it(p.title, async () => {
      let last: Failure | undefined;
      let runs = 0;
      let shrinking = false;
      const notes = new Map<string, number>();
      const started = Date.now();
      const survey = new Survey();
      let skipped = 0;
      const budgetMs = RUNS ? Number.POSITIVE_INFINITY : p.budgetMs;
      const property = fc.asyncProperty(fc.scheduler(), worldPlan(p.profile), async (s, plan) => {
        // Past the time budget the remaining runs are skipped here, not by fast-check: its
        // skipAllAfterTimeLimit keeps generating and skipping until maxSkipsPerRun is exceeded,
        // then reports the property as failed (fast-check 4.11) — a false failure on a slow or
        // busy machine. (A run in progress is never interrupted: it routes the global timers
        // into its world until it ends.)
        if (Date.now() - started > budgetMs && !shrinking) {
          skipped++;
          return;
        }
        runs++;
        const world = new World(s, plan, p.settings ? { settings: p.settings } : {});
        const verdict = checkInvariants(await world.run());
        for (const n of verdict.notes) {
          const kind = n.split(':')[0]!;
          notes.set(kind, (notes.get(kind) ?? 0) + 1);
        }
        if (SURVEY) survey.add(runs, verdict, plan, world);
        else if (verdict.violations.length > 0) {
          last = { verdict, plan, world };
          shrinking = true; // a failure found: shrinking may take the rest of the time
          throw new Error(verdict.violations.join('\n'));
        }
      });
      const details = await fc.check(property, {
        seed: SEED,
        numRuns: RUNS ?? p.runs,
        ...(PATH ? { path: PATH } : {}),
        endOnFailure: NO_SHRINK,
      });
      const ms = Date.now() - started;
      const noted = [...notes].map(([k, n]) => `${n}× ${k}`).join('; ') || 'none';
      console.log(
        `      ${runs} runs in ${(ms / 1000).toFixed(1)} s (${(((ms / runs) * 100) / 1000).toFixed(1)} s per 100)` +
          `${skipped > 0 ? ` (time budget reached: ${skipped} skipped)` : ''}; allowed: ${noted}`,
      );
      if (details.failed) throw new Error(report(p.title, details, last));
      if (SURVEY && survey.size > 0) throw new Error(survey.report(p.title, runs));
    });
  }

  it('is deterministic: the same seed gives the same runs', async () => {
    const traces = async () => {
      const out: string[] = [];
      await fc.check(
        fc.asyncProperty(fc.scheduler(), worldPlan(PROPERTIES[2]!.profile), async (s, plan) => {
          const world = new World(s, plan);
          await world.run();
          out.push(world.lines.join('\n'));
        }),
        { seed: SEED, numRuns: 4 },
      );
      return out;
    };
    const first = await traces();
    const second = await traces();
    expect(first.length).to.equal(4);
    for (let i = 0; i < first.length; i++) {
      if (first[i] !== second[i]) {
        const a = first[i]!.split('\n');
        const b = second[i]!.split('\n');
        const at = a.findIndex((line, j) => line !== b[j]);
        expect.fail(`run ${i + 1} differs at trace line ${at + 1}:\n  ${a[at]}\n  ${b[at]}`);
      }
    }
  });
});

function report(
  title: string,
  details: fc.RunDetails<[fc.Scheduler, WorldPlan]>,
  last: Failure | undefined,
): string {
  const path = details.counterexamplePath ?? '';
  const lines = [
    `Simulation "${title}" failed (seed ${SEED}, path "${path}", after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s)).`,
    `Reproduce: SIM_SEED=${SEED} SIM_PATH="${path}" npx mocha test/sim/simulation.test.ts --grep "${title}"`,
  ];
  if (!last) {
    lines.push(String(details.errorInstance ?? 'no failure recorded'));
    return lines.join('\n');
  }
  const file = join(tmpdir(), `sim-trace-${SEED}-${path.replace(/:/g, '_') || 'run'}.log`);
  writeFileSync(file, `${last.world.lines.join('\n')}\n`);
  const tail = last.world.lines.slice(-150);
  lines.push(
    `Plan: ${summarize(last.plan)}`,
    `World: ${last.world.stats()}`,
    'Violations:',
    ...last.verdict.violations.map((v) => `  ${v} (seed ${SEED})`),
    ...(last.verdict.notes.length > 0
      ? ['Allowed (crash window, documented limits):', ...last.verdict.notes.map((n) => `  ${n}`)]
      : []),
    `Trace: the last ${tail.length} of ${last.world.lines.length} lines (all of it: ${file})`,
    ...tail.map((l) => `  ${l}`),
  );
  return lines.join('\n');
}

/** SIM_SURVEY=1: every kind of violation over all runs, with a count and a first example. */
class Survey {
  private readonly kinds = new Map<string, { count: number; example: string; file: string }>();

  get size(): number {
    return this.kinds.size;
  }

  add(run: number, verdict: Verdict, plan: WorldPlan, world: World): void {
    for (const line of verdict.violations) {
      // The kind: the line without its particulars (texts, numbers, names).
      const kind = line
        .replace(/"[^"]*"/g, '"…"')
        .replace(/\(bf_key [^)]*\)|\{[^}]*\}|\[[^\]]*\]/g, '…')
        .replace(/tiledesk\/conversation\/\w+/g, 'tiledesk/conversation/…')
        .replace(/\d+(\.\d+)?/g, 'N')
        .slice(0, 140);
      const known = this.kinds.get(kind);
      if (known) {
        known.count++;
        continue;
      }
      const file = join(tmpdir(), `sim-survey-${SEED}-run${run}.log`);
      writeFileSync(
        file,
        `${summarize(plan)}\n${verdict.violations.join('\n')}\n\n${world.lines.join('\n')}\n`,
      );
      this.kinds.set(kind, { count: 1, example: line, file });
    }
  }

  report(title: string, runs: number): string {
    const rows = [...this.kinds.values()].sort((a, b) => b.count - a.count);
    return [
      `Simulation "${title}": ${rows.length} kind(s) of violation in ${runs} runs (seed ${SEED}):`,
      ...rows.map(
        (r) => `  ${String(r.count).padStart(4)}× ${r.example}\n         trace: ${r.file}`,
      ),
    ].join('\n');
  }
}
