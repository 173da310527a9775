/**
 * Storage operations of one message turn, counted exactly: turns run one at a time on a
 * TestAdapter with the middleware idle before each (nothing else runs), each turn in a scope of
 * the counting storage (see counting-storage.ts). Per event, averaged over a few conversations:
 * - critical: operations the turn made and saw finish before it was over (what the user's
 *   reply waits for);
 * - before "connecting": the same, until the user received a handoff's notice;
 * - not awaited: operations the turn started but that finished after it (fire and forget);
 * - background: what the middleware did after the turn until idle again (posts to Tiledesk,
 *   their clean-up, the routing of a handoff and the "agent joined" notice).
 * Each operation is delayed by `latencyMs` (MemoryStorage answers at once: without a delay an
 * operation the turn does not await would finish inside the turn all the same). The same on
 * any transport: a CloudAdapter turn makes the same calls.
 */
import type { Activity, Storage } from 'botbuilder';
import {
  echo,
  ourMiddleware,
  type OursOptions,
  quiet,
  settle,
  userMessage,
  withTimeout,
} from './common';
import { now, usSince } from './stats';
import {
  addOps,
  copyOps,
  CountingStorage,
  diffOps,
  disableScopes,
  currentScope,
  type OpCounts,
  opsOf,
  zeroOps,
} from './counting-storage';
import type { RemoteStandIn } from './standin-host';

/** One kind of turn: counts summed over `turns`, and the messages it mirrored. */
export interface ProbeEvent {
  label: string;
  turns: number;
  critical: OpCounts;
  /** Handoff turns: critical operations before the user had the "connecting" notice. */
  beforeNotice?: OpCounts;
  /** Started by the turn, finished after it. */
  late: OpCounts;
  background: OpCounts;
  /** How long each turn took (µs; meaningful without an added latency only). */
  us: number[];
  /** Messages the turns mirrored (user's + bot's), for background per message. */
  mirrored: number;
}

export interface TurnProbe {
  events: ProbeEvent[];
  /** Operations made during a turn but outside its scope (0 when the probe is exact). */
  stray: number;
  latencyMs: number;
  errors: string[];
}

export async function probeTurns(
  standin: RemoteStandIn,
  storage: Storage,
  tag: string,
  conversations: number,
  latencyMs: number,
): Promise<TurnProbe> {
  const counting = new CountingStorage(storage, latencyMs);
  const errors: string[] = [];
  let connecting = '';
  const onSent: OursOptions['onSent'] = (a: Partial<Activity>) => {
    if (a.text !== undefined && a.text === connecting) currentScope()?.mark('notice');
  };
  const { adapter, tiledesk } = ourMiddleware(standin, {
    storage: counting,
    onSent,
    onError: (e) => errors.push(`${e.code}: ${e.message}`),
  });
  connecting = tiledesk.settings.textConnecting;
  let stray = 0;
  const idle = async () => {
    await settle(standin, tiledesk, 30_000);
    await quiet(tiledesk, counting, 30_000);
  };
  await idle();
  // Each turn's window starts where the previous one's ended: no operation goes uncounted.
  let last = counting.snapshot();
  const events = new Map<string, ProbeEvent>();
  const turn = async (label: string, conv: string, text: string, mirrored: number) => {
    const before = last;
    const t0 = now();
    const { scope } = await counting.scoped(() =>
      adapter.processActivity(userMessage(conv, `${conv}-user`, text), echo),
    );
    const us = usSince(t0);
    const during = diffOps(counting.snapshot(), before);
    adapter.activeQueue.length = 0;
    await idle();
    last = counting.snapshot();
    adapter.activeQueue.length = 0;
    stray += opsOf(during) - opsOf(scope.ops) - opsOf(scope.late);
    let e = events.get(label);
    if (!e) {
      e = {
        label,
        turns: 0,
        critical: zeroOps(),
        late: zeroOps(),
        background: zeroOps(),
        mirrored: 0,
        us: [],
      };
      events.set(label, e);
    }
    e.turns++;
    e.mirrored += mirrored;
    e.us.push(us);
    addOps(e.critical, scope.ops);
    addOps(e.late, scope.late);
    const notice = scope.marks.get('notice');
    if (notice) addOps((e.beforeNotice ??= zeroOps()), notice);
    // After the turn: everything but what it made itself (critical or not awaited).
    const own = addOps(copyOps(scope.ops), scope.late);
    addOps(e.background, diffOps(diffOps(last, before), own));
  };
  try {
    // Compiles the code paths and signs the admin in (nothing of it counted).
    await turn('warm-up', `${tag}-warm`, 'hello', 2);
    await turn('warm-up', `${tag}-warm`, 'agent please', 3);
    await turn('warm-up', `${tag}-warm`, 'still there?', 1);
    events.delete('warm-up');
    for (let c = 0; c < conversations; c++) {
      const conv = `${tag}-${c}`;
      await turn('first turn', conv, 'hello', 2);
      await turn('steady turn', conv, 'how are you?', 2);
      await turn('steady turn', conv, 'fine, thanks', 2);
      // user + "connecting" mirrored, and the routing (an outbox entry, not a message)
      await turn('handoff turn', conv, 'I want a human agent', 2);
      await turn('with an agent: 1st turn', conv, 'hello agent', 1);
      await turn('with an agent: next turn', conv, 'are you there?', 1);
      await turn('handoff on the first turn', `${tag}-h${c}`, 'agent', 2);
    }
    await withTimeout(tiledesk.whenIdle(), 30_000, 'probe idle');
    return { events: [...events.values()], stray, latencyMs, errors };
  } finally {
    disableScopes();
    await tiledesk.stop(1000);
  }
}
