import { checkHistoryMode, mayStayWithTheBot } from './invariants-history';
import { checkTakeovers, takenOverDuring, toldWithAgent } from './invariants-takeover';
import type { SimStorage } from './sim-storage';
import type { AgentPost } from './sim-tiledesk';

/**
 * What a run must guarantee, checked after the drain on what the world observed. Each
 * violation is one line starting with `[invariant N]`; `notes` lists what is allowed but worth
 * counting, each as `<category>: <details>` (duplicates and losses inside a crash window, the
 * documented limits, repeated notices).
 *
 * 1. Every user message and every bot reply the user saw is mirrored into Tiledesk exactly once
 *    (by `attributes.bf_key`) and in the order the turns happened, per conversation. Exempt: a
 *    turn whose instance crashed before the turn reached storage (README "Limits").
 * 2. Every agent message reaches the user at least once, in the request's createdAt order;
 *    a second copy is allowed only from an instance that crashed after sending it.
 * 3. Every handoff is resolved within 60 s of its trigger (the user is told assigned, queued,
 *    failed, or that the agent closed; more when the instance that took the trigger crashed:
 *    lease + catch-up interval),
 *    every agent close is announced, and the bot answers again after a close or a failure.
 * 4. Nothing is left pending: `whenIdle()` of every live instance resolved, and no record
 *    holds outbox entries, a lease or a delivery claim (`storedLeftovers`).
 * 5. At most one `handoff.status completed` per close (and one `accepted` per assignment).
 * 8–10. A person joining (routing or a takeover): invariants-takeover.ts.
 */

export interface TurnRecord {
  conversation: string;
  /** Turn number within the conversation, from 1. */
  n: number;
  text: string;
  kind: 'plain' | 'keyword' | 'during' | 'after';
  instance: string;
  /** Virtual ms since the start. */
  at: number;
  seq: number;
  outcome: 'pending' | 'done' | 'error' | 'crashed';
  /** What the user got back within this turn. */
  replies: string[];
  /** The user's text reached storage (some applied write contained it). */
  durable: boolean;
  /** When the turn was over (its outcome known). */
  doneSeq?: number;
  doneAt?: number;
  /** For `after` turns: the user had been told the agent left (or the handoff failed). */
  sawBack?: boolean;
  error?: string;
}

export interface SeenRecord {
  conversation: string;
  instance: string;
  text: string;
  proactive: boolean;
  at: number;
  seq: number;
}

export interface EventRecord {
  conversation: string;
  instance: string;
  state: string;
  at: number;
  seq: number;
}

export interface CrashRecord {
  instance: string;
  step: number;
  at: number;
  seq: number;
}

export interface MirroredRecord {
  conversation: string;
  requestId: string;
  createdAt: string;
  text: string;
  bfKey: string;
  /** Hidden info lines (`subtype: info`): the request opener, `\agent`. */
  info: boolean;
  /** Virtual ms since the start (from createdAt). */
  at: number;
  /** Posted as history when a handoff started (`attributes.bf_history`, mirror mode handoff). */
  history: boolean;
}

export interface Observations {
  /** `TiledeskMirrorMode`: `handoff` adds invariants 6 and 7 (invariants-history.ts). */
  mirrorMode: 'all' | 'handoff';
  transcriptMaxMessages: number;
  /** What the user writes to end the chat with the agent. */
  leaveText: string;
  texts: {
    connecting: string;
    assigned: string;
    queued: string;
    failed: string;
    closed: string;
    left: string;
  };
  handoffLimitMs: number;
  crashGraceMs: number;
  turns: TurnRecord[];
  seen: SeenRecord[];
  /** Proactive sends the injected channel faults refused (attempts to tell the user). */
  refused: SeenRecord[];
  events: EventRecord[];
  crashes: CrashRecord[];
  agentPosts: AgentPost[];
  /** Requests the user left (closed by the bot): what was not delivered by then never is. */
  leftRequests: ReadonlySet<string>;
  /** Agent closes and assignments in Tiledesk (`at`: virtual ms since the start). */
  closes: { conversation: string; requestId: string; at: number }[];
  assignments: { conversation: string; requestId: string; at: number }[];
  /** The assignments that were a person joining from the dashboard (a takeover). */
  takeovers: { conversation: string; requestId: string; at: number }[];
  /** What the instances reported to `onError` (code), in order. */
  errors: { instance: string; code: string; seq: number }[];
  mirrored: MirroredRecord[];
  idle: { instance: string; resolved: boolean }[];
  leftovers: string[];
  stuck: string | undefined;
}

export interface Verdict {
  violations: string[];
  notes: string[];
}

export function checkInvariants(o: Observations): Verdict {
  const v: Verdict = { violations: [], notes: [] };
  if (o.stuck) v.violations.push(`[harness] the run did not finish: ${o.stuck}`);
  const conversations = [...new Set(o.turns.map((t) => t.conversation))].sort();
  for (const c of conversations) {
    checkMirror(o, c, v);
    checkAgentMessages(o, c, v);
    checkHandoffs(o, c, v);
    checkCompleted(o, c, v);
    checkTakeovers(o, c, v);
    if (o.mirrorMode === 'handoff') checkHistoryMode(o, c, v);
  }
  checkIdle(o, v);
  return v;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function crashedAfter(o: Observations, instance: string, seq: number): CrashRecord | undefined {
  return o.crashes.find((c) => c.instance === instance && c.seq > seq);
}

// --- 1. mirror: exactly once, in order ---------------------------------------------------------

function checkMirror(o: Observations, c: string, v: Verdict): void {
  const turns = o.turns.filter((t) => t.conversation === c).sort((a, b) => a.seq - b.seq);
  const mirrored = o.mirrored.filter((m) => m.conversation === c);
  const byKey = new Map<string, MirroredRecord[]>();
  for (const m of mirrored) byKey.set(m.bfKey, [...(byKey.get(m.bfKey) ?? []), m]);
  for (const [key, copies] of byKey) {
    if (copies.length < 2) continue;
    const line = `${c}: "${copies[0]!.text}" is mirrored ${copies.length} times (bf_key ${key})`;
    if (copies[0]!.info) v.notes.push(`duplicate hidden info line: ${line}`);
    else v.violations.push(`[invariant 1] ${line}`);
  }
  const texts = mirrored.filter((m) => !m.info).map((m) => m.text);
  const count = (text: string) => texts.filter((t) => t === text).length;
  const withTheBot = o.mirrorMode === 'handoff' ? mayStayWithTheBot(o, turns) : () => false;

  // Presence, turn by turn.
  const expected: string[] = [];
  /** The order check's list: without a repeated text that may have been dropped from history. */
  const ordered: string[] = [];
  const said = turns.flatMap((t) => [t.text, ...t.replies]);
  const repeated = (text: string) => said.indexOf(text) !== said.lastIndexOf(text);
  let connectingRequired = 0;
  let connectingExcused = 0;
  for (const t of turns) {
    const crash = o.crashes.find((x) => x.instance === t.instance && x.seq > t.seq);
    const excused = !t.durable && crash !== undefined;
    // A handoff turn stores its "connecting" notice before telling the user: a crash in between
    // leaves it mirrored but never shown (the documented window).
    if (t.kind === 'keyword' && crash && !t.replies.includes(o.texts.connecting)) {
      connectingExcused++;
    }
    const items = [t.text, ...t.replies];
    for (const text of items) {
      if (text === o.texts.connecting) {
        if (excused) connectingExcused++;
        else connectingRequired++;
        continue;
      }
      // A turn lost in the crash window is not in the order check (its text may still be in
      // Tiledesk from another turn: "end chat" twice).
      if (!excused) expected.push(text);
      if (!excused && !(repeated(text) && withTheBot(t, text))) ordered.push(text);
      if (count(text) > 0) continue;
      if (withTheBot(t, text)) {
        v.notes.push(`kept with the bot (mirror mode handoff): ${c} turn ${t.n} "${text}"`);
      } else if (excused) {
        v.notes.push(
          `lost before reaching storage (crash window, documented limit): ${c} turn ${t.n} "${text}" was never mirrored; ${t.instance} crashed first`,
        );
      } else {
        const why = crash
          ? `the turn had reached storage before ${t.instance} crashed`
          : `${t.instance} never crashed`;
        v.violations.push(
          `[invariant 1] ${c} turn ${t.n} (${t.kind}, on ${t.instance}): "${text}" was never mirrored to Tiledesk (${why})`,
        );
      }
    }
  }
  const connecting = count(o.texts.connecting);
  if (connecting < connectingRequired || connecting > connectingRequired + connectingExcused) {
    v.violations.push(
      `[invariant 1] ${c}: "${o.texts.connecting}" was shown ${connectingRequired + connectingExcused} times but mirrored ${connecting} times`,
    );
  }
  const known = new Set([...expected, o.texts.connecting]);
  for (const text of new Set(texts)) {
    if (!known.has(text)) {
      v.violations.push(`[invariant 1] ${c}: "${text}" was mirrored but the user never saw it`);
    }
  }

  // Order: the unique texts (user messages, echoes) as the turns saw them vs Tiledesk's order.
  const unique = new Set(ordered);
  const actual = [...new Set(texts.filter((t) => unique.has(t)))];
  const present = new Set(actual);
  // First occurrences on both sides (a text the user may write twice, "end chat", counts once).
  const wanted = [...new Set(ordered.filter((t) => present.has(t)))];
  for (let i = 0; i < wanted.length; i++) {
    if (wanted[i] !== actual[i]) {
      v.violations.push(
        `[invariant 1] ${c}: mirrored out of order at position ${i + 1}: Tiledesk has "${actual[i]}" where the conversation had "${wanted[i]}" (conversation: ${wanted
          .slice(Math.max(0, i - 1), i + 3)
          .join(' → ')}; Tiledesk: ${actual.slice(Math.max(0, i - 1), i + 3).join(' → ')})`,
      );
      break;
    }
  }
}

// --- 2. agent messages: at least once, in createdAt order ---------------------------------------

function checkAgentMessages(o: Observations, c: string, v: Verdict): void {
  const posts = o.agentPosts.filter((p) => p.conversation === c);
  const seen = o.seen.filter((s) => s.conversation === c && s.proactive);
  for (const p of posts) {
    const copies = seen.filter((s) => s.text === p.text);
    // The user left that request: nothing more of it reaches them, even what was on its way.
    if (copies.length === 0 && o.leftRequests.has(p.requestId)) {
      v.notes.push(`not delivered, the user had left: ${c} "${p.text}"`);
      continue;
    }
    // A takeover no delivery ever told us of (its request.updates and messages lost, or sent
    // before we subscribed): a bot-served conversation has no catch-up; the user's next message
    // (its webhook) would find it. The documented limit, counted.
    const assigned = o.texts.assigned.split('{agent}')[0]!;
    const unseen =
      o.takeovers.some((x) => x.requestId === p.requestId) &&
      !o.mirrored.some((m) => m.requestId === p.requestId && m.text.startsWith(assigned));
    if (copies.length === 0 && unseen) {
      v.notes.push(`takeover never seen (no delivery of it reached us): ${c} "${p.text}"`);
      continue;
    }
    if (copies.length === 0) {
      v.violations.push(
        `[invariant 2] ${c}: agent message "${p.text}" (createdAt ${p.createdAt}) never reached the user`,
      );
      continue;
    }
    if (copies.length === 1) continue;
    const crashWindow = copies.some((s) => crashedAfter(o, s.instance, s.seq));
    const from = copies.map((s) => s.instance).join(', ');
    if (crashWindow) {
      v.notes.push(
        `duplicate inside the crash window: ${c} "${p.text}" reached the user ${copies.length} times (from ${from})`,
      );
    } else {
      v.violations.push(
        `[invariant 2] ${c}: agent message "${p.text}" reached the user ${copies.length} times (from ${from}) and none of those instances crashed`,
      );
    }
  }
  for (const requestId of new Set(posts.map((p) => p.requestId))) {
    const ofRequest = posts.filter((p) => p.requestId === requestId);
    const firstSeen = ofRequest
      .map((p) => ({ p, s: seen.find((s) => s.text === p.text) }))
      .filter((x): x is { p: AgentPost; s: SeenRecord } => x.s !== undefined)
      .sort((a, b) => a.s.seq - b.s.seq);
    for (let i = 1; i < firstSeen.length; i++) {
      if (firstSeen[i]!.p.createdAt < firstSeen[i - 1]!.p.createdAt) {
        v.violations.push(
          `[invariant 2] ${c}: agent messages reached the user out of createdAt order: ${firstSeen
            .map((x) => `"${x.p.text}"`)
            .join(' → ')} (created ${ofRequest.map((p) => `"${p.text}"`).join(' → ')})`,
        );
        break;
      }
    }
  }
}

// --- 3. handoffs resolved in time; closes announced; the bot answers again ----------------------

function checkHandoffs(o: Observations, c: string, v: Verdict): void {
  const turns = o.turns.filter((t) => t.conversation === c).sort((a, b) => a.seq - b.seq);
  const notices = o.seen.filter((s) => s.conversation === c && s.proactive);
  const assigned = o.texts.assigned.split('{agent}')[0]!;
  // A close also tells the user the outcome (an agent had it, even if "assigned" never came).
  const isResolution = (text: string) =>
    text.startsWith(assigned) ||
    text === o.texts.queued ||
    text === o.texts.failed ||
    text === o.texts.closed ||
    text === o.texts.left;
  const started = turns.filter(
    (t) => t.kind === 'keyword' && t.replies.includes(o.texts.connecting),
  );
  started.forEach((t, i) => {
    // Its outcome must reach the user before the next handoff starts.
    const until = started[i + 1]?.seq ?? Number.POSITIVE_INFINITY;
    const resolution = notices.find((s) => s.seq > t.seq && s.seq < until && isResolution(s.text));
    // A refused attempt to tell the user counts: the lib decided in time, the channel failed.
    const attempt = o.refused.find(
      (s) => s.conversation === c && s.seq > t.seq && s.seq < until && isResolution(s.text),
    );
    const toldAt = Math.min(resolution?.at ?? Infinity, attempt?.at ?? Infinity);
    const crash = crashedAfter(o, t.instance, t.seq);
    // Whichever instance was working on it (routing, telling the user) may have crashed.
    const anyCrash = o.crashes.some((x) => x.seq > t.seq);
    const limit = o.handoffLimitMs + (anyCrash ? o.crashGraceMs : 0);
    const what = `${c}: the handoff triggered by turn ${t.n} (on ${t.instance} at +${seconds(t.at)})`;
    if (!t.durable && crash) {
      if (!resolution || resolution.at - t.at > limit) {
        v.notes.push(
          `handoff lost before reaching storage (crash window, documented limit): ${what}; ${t.instance} crashed first`,
        );
      }
      return;
    }
    if (!resolution && attempt && attempt.at - t.at <= limit) {
      v.notes.push(`told in time, but the channel refused until the end: ${what}`);
    } else if (!resolution) {
      v.violations.push(
        `[invariant 3] ${what} was never resolved: the user was not told assigned, queued or failed`,
      );
    } else if (toldAt - t.at > limit) {
      v.violations.push(
        `[invariant 3] ${what} was resolved after ${seconds(toldAt - t.at)} ("${resolution?.text ?? attempt?.text}"), limit ${seconds(limit)}${anyCrash ? ' (crash grace included)' : ''}`,
      );
    }
  });
  // A person who joined and closed unseen (their request.update lost, no message of theirs):
  // the user, still with the bot, is told nothing (the request holds no "assigned" line).
  const unseen = (requestId: string) =>
    o.takeovers.some((x) => x.requestId === requestId) &&
    !o.mirrored.some((m) => m.requestId === requestId && m.text.startsWith(assigned));
  const closes = o.closes.filter((x) => x.conversation === c && !unseen(x.requestId));
  for (const x of o.closes) {
    if (x.conversation === c && unseen(x.requestId)) {
      v.notes.push(`a takeover closed unseen, not announced: ${c} …${x.requestId.slice(-6)}`);
    }
  }
  const closedNotices = notices.filter((s) => s.text === o.texts.closed);
  // An agent's close that crosses the user's leaving is announced as the leaving.
  const leftNotices = notices.filter((s) => s.text === o.texts.left);
  if (closedNotices.length + leftNotices.length < closes.length) {
    const crashWindow = o.crashes.some((x) => closes.some((cl) => x.at >= cl.at));
    const line = `${c}: the agent closed ${closes.length} time(s) but the user was told ${closedNotices.length} time(s)`;
    if (crashWindow) v.notes.push(`close not announced (crash window): ${line}`);
    else v.violations.push(`[invariant 3] ${line}`);
  }
  if (closedNotices.length > closes.length) {
    v.notes.push(
      `repeated close notice: ${c}: the user was told "${o.texts.closed}" ${closedNotices.length} times for ${closes.length} close(s)`,
    );
  }
  for (const t of turns) {
    if (t.kind !== 'after' || !t.sawBack || t.outcome !== 'done') continue;
    // A person joined meanwhile, or the user was told so and not yet that they left.
    if (takenOverDuring(o, c, t) || toldWithAgent(o, c, t)) continue;
    if (!t.replies.includes(`Echo: ${t.text}`)) {
      v.violations.push(
        `[invariant 3] ${c} turn ${t.n} (on ${t.instance}): after the handoff ended the bot did not answer (replies: ${JSON.stringify(t.replies)})`,
      );
    }
  }
}

// --- 5. one `completed` per close ---------------------------------------------------------------

function checkCompleted(o: Observations, c: string, v: Verdict): void {
  // An instance that emitted and then crashed before recording it: the next one emits again
  // (the documented at-least-once window). Anything beyond that is a violation.
  const crashedAfter = (e: EventRecord) =>
    o.crashes.some((x) => x.instance === e.instance && x.seq > e.seq);
  const check = (state: string, allowed: number, what: string) => {
    const events = o.events.filter((e) => e.conversation === c && e.state === state);
    if (events.length <= allowed) return;
    const excused = events.filter(crashedAfter).length;
    const line = `${c}: handoff.status ${state} emitted ${events.length} times (by ${events
      .map((e) => e.instance)
      .join(', ')}) for ${allowed} ${what}`;
    if (events.length - excused <= allowed)
      v.notes.push(`duplicate inside the crash window: ${line}`);
    else v.violations.push(`[invariant 5] ${line}`);
  };
  check(
    'accepted',
    o.assignments.filter((x) => x.conversation === c).length,
    'agent assignment(s)',
  );
  // One per agent close, or per leave of the user (each ends one handoff).
  const leaves = o.turns.filter((t) => t.conversation === c && t.text === o.leaveText).length;
  check(
    'completed',
    o.closes.filter((x) => x.conversation === c).length + leaves,
    'close(s) and leave(s)',
  );
}

// --- 4. nothing left pending ----------------------------------------------------------------------

function checkIdle(o: Observations, v: Verdict): void {
  for (const s of o.idle) {
    if (!s.resolved) {
      v.violations.push(
        `[invariant 4] whenIdle() of ${s.instance} did not resolve within 10 virtual minutes of the drain`,
      );
    }
  }
  for (const left of o.leftovers) v.violations.push(`[invariant 4] left in storage: ${left}`);
}

/**
 * Work left in storage after the drain. The one place that knows the stored format; it reads
 * both the record of the state-layer rewrite (`tiledesk/conversation/*` with its outbox, lease
 * and delivery claim, either flat — `outbox: []`, `lease`, `claim` — or nested — `outbox.items`,
 * `outbox.lease`, `delivery.claim`) and the separate outbox items of the lib before it
 * (`tiledesk/outbox/*`, `items: [...]`).
 */
export function storedLeftovers(storage: SimStorage): string[] {
  const out: string[] = [];
  for (const [key, value] of storage.snapshot()) {
    if (key.startsWith('tiledesk/conversation/')) {
      const outbox = value['outbox'] as
        { items?: unknown; lease?: unknown } | unknown[] | undefined;
      const items = Array.isArray(outbox) ? outbox : outbox?.items;
      if (Array.isArray(items) && items.length > 0) {
        out.push(`${key}: ${items.length} outbox item(s) ${describeItems(items)}`);
      }
      const lease = value['lease'] ?? (Array.isArray(outbox) ? undefined : outbox?.lease);
      if (lease !== undefined) out.push(`${key}: an outbox lease ${JSON.stringify(lease)}`);
      const delivery = value['delivery'] as { claim?: unknown } | undefined;
      const claim = value['claim'] ?? delivery?.claim;
      if (claim !== undefined) out.push(`${key}: a delivery claim ${JSON.stringify(claim)}`);
    } else if (key.startsWith('tiledesk/outbox/')) {
      const items = value['items'];
      if (Array.isArray(items) && items.length > 0) {
        out.push(`${key}: ${items.length} outbox item(s) ${describeItems(items)}`);
      }
    }
  }
  return out;
}

function describeItems(items: unknown[]): string {
  return JSON.stringify(
    items.map((e) => {
      const entry = e as { item?: unknown; owner?: unknown };
      const item = (entry.item ?? e) as { kind?: unknown; activity?: { text?: unknown } };
      return `${String(item.kind)}${item.activity?.text ? `:${String(item.activity.text)}` : ''}`;
    }),
  );
}
