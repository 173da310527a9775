import type { Observations, SeenRecord, TurnRecord, Verdict } from './invariants';

/**
 * Invariants of a person joining a request (`TiledeskMirrorVisibility=bot`: JOIN TO CHAT seen
 * on `request.update`, sim-tiledesk `takeover`; also a routed agent), on top of 1–5. They hold
 * in every property (an assignment by routing is announced the same way).
 *
 * 8. An agent joining is announced at most once per request generation: in Tiledesk, each
 *    request holds at most one "[assigned …]" notice line (distinct bf_key); each "[assigned …]"
 *    notice the user sees is matched to its own assignment made before it (a copy sent again
 *    because the instance that sent an earlier one crashed before recording it is allowed).
 * 9. A late `request.update` never starts a handoff nor reaches the user once the request is
 *    over: every request holding an "[assigned …]" line in Tiledesk had a person join it (the
 *    line of an accept goes to its own request), and that line comes before the request's
 *    "[left]" or "[closed]" line.
 * 10. The bot never answers a user message sent after an "[assigned …]" notice the user saw and
 *    before that agent's time ended (a "[closed]", "[left]" or "[failed]" the user saw or was
 *    sent, an "end chat", or the agent's close in Tiledesk). Exempt: a turn whose storage read
 *    failed (the bot answers then: its turn never sees our errors, README "Reliability").
 */

/** Runs 8–10 for conversation `c`. */
export function checkTakeovers(o: Observations, c: string, v: Verdict): void {
  const assignedPrefix = o.texts.assigned.split('{agent}')[0]!;
  const isAssigned = (text: string) => text.startsWith(assignedPrefix);
  const seen = o.seen.filter((s) => s.conversation === c).sort((a, b) => a.seq - b.seq);
  const notices = seen.filter((s) => isAssigned(s.text));
  const assignments = o.assignments.filter((a) => a.conversation === c).sort((a, b) => a.at - b.at);
  const crashedAfter = (s: SeenRecord) =>
    o.crashes.some((x) => x.instance === s.instance && x.seq > s.seq);

  // 8, Tiledesk side: one "[assigned …]" line per request.
  const mirrored = o.mirrored.filter((m) => m.conversation === c && isAssigned(m.text));
  for (const requestId of new Set(mirrored.map((m) => m.requestId))) {
    const keys = new Set(mirrored.filter((m) => m.requestId === requestId).map((m) => m.bfKey));
    if (keys.size > 1) {
      v.violations.push(
        `[invariant 8] ${c}: request …${requestId.slice(-6)} holds ${keys.size} different "${assignedPrefix}…" notices`,
      );
    }
    // 9, Tiledesk side: announced only where a person joined.
    if (!assignments.some((a) => a.requestId === requestId)) {
      v.violations.push(
        `[invariant 9] ${c}: request …${requestId.slice(-6)} holds a "${assignedPrefix}…" notice but nobody joined it`,
      );
    }
  }

  // 9, Tiledesk side: within a request, the "[assigned …]" line comes before the line that
  // ends it for the user ("[left]", "[closed]"): nothing of a request that is over starts a
  // handoff, however late its request.update.
  const ends = new Set([o.texts.left, o.texts.closed]);
  for (const m of mirrored) {
    const end = o.mirrored.find(
      (e) => e.requestId === m.requestId && e.info && ends.has(e.text) && e.createdAt < m.createdAt,
    );
    if (end) {
      v.violations.push(
        `[invariant 9] ${c}: request …${m.requestId.slice(-6)} holds "${m.text}" after "${end.text}" (the request was over for the user)`,
      );
    }
  }

  // 8, user side: each notice matched to its own assignment, made before it.
  const used = new Set<number>();
  for (const n of notices) {
    const i = assignments.findIndex((a, k) => !used.has(k) && a.at <= n.at);
    if (i >= 0) {
      used.add(i);
      continue;
    }
    const line = `${c}: "${n.text}" (on ${n.instance} at +${(n.at / 1000).toFixed(1)} s) matches no assignment made before it (${assignments.length} assignment(s), ${notices.length} notice(s))`;
    // A copy sent again because the instance that sent it crashed before recording it.
    const resent = notices.some((m) => m.seq <= n.seq && crashedAfter(m));
    if (resent) v.notes.push(`duplicate inside the crash window: ${line}`);
    else v.violations.push(`[invariant 8] ${line}`);
  }

  // 10. The bot is silent while an agent has the conversation.
  const turns = o.turns.filter((t) => t.conversation === c);
  for (const t of turns) {
    const n = agentWindowAt(o, c, t);
    if (!n) continue;
    const echo = t.replies.find((r) => r.startsWith('Echo: '));
    // Storage unreadable during the turn: the bot answers (the turn never sees our errors).
    const unreadable = o.errors.some(
      (e) =>
        e.instance === t.instance &&
        e.code === 'TILEDESK_STORAGE' &&
        e.seq > t.seq &&
        e.seq < (t.doneSeq ?? Infinity),
    );
    if (echo && unreadable) {
      v.notes.push(`answered by the bot, storage unreadable in the turn: ${c} turn ${t.n}`);
    } else if (echo) {
      v.violations.push(
        `[invariant 10] ${c} turn ${t.n} (on ${t.instance} at +${(t.at / 1000).toFixed(1)} s): the bot answered "${echo}" after the user was told "${n.text}" (at +${(n.at / 1000).toFixed(1)} s) and before that agent's time ended`,
      );
    }
  }
}

/**
 * The "[assigned …]" notice whose agent had the conversation when turn `t` started (the user
 * saw it before, nothing told them since that the agent's time ended, and the agent had not
 * closed in Tiledesk before the turn), or `undefined`.
 */
export function agentWindowAt(o: Observations, c: string, t: TurnRecord): SeenRecord | undefined {
  const n = toldWithAgent(o, c, t);
  if (!n) return undefined;
  const back = new Set([o.texts.closed, o.texts.left, o.texts.failed]);
  const told = [...o.seen, ...o.refused].filter((s) => s.conversation === c);
  // The agent closed in Tiledesk before the turn (a close after the last "back" notice before
  // the assignment's): the bot may have the conversation back already.
  const before = told.filter((s) => s.seq < n.seq && back.has(s.text)).pop();
  const from = before?.at ?? Number.NEGATIVE_INFINITY;
  if (o.closes.some((x) => x.conversation === c && x.at > from && x.at <= t.at)) return undefined;
  return n;
}

/**
 * The "[assigned …]" notice the user had last seen when turn `t` started, if nothing told them
 * since that the agent's time ended ("[closed]", "[left]", "[failed]", or their "end chat").
 */
export function toldWithAgent(o: Observations, c: string, t: TurnRecord): SeenRecord | undefined {
  const prefix = o.texts.assigned.split('{agent}')[0]!;
  const back = new Set([o.texts.closed, o.texts.left, o.texts.failed]);
  const told = [...o.seen, ...o.refused].filter((s) => s.conversation === c);
  const n = told
    .filter((s) => s.seq < t.seq && o.seen.includes(s) && s.text.startsWith(prefix))
    .sort((a, b) => a.seq - b.seq)
    .pop();
  if (!n) return undefined;
  if (told.some((s) => s.seq > n.seq && s.seq < t.seq && back.has(s.text))) return undefined;
  const leftBetween = o.turns.some(
    (u) => u.conversation === c && u.text === o.leaveText && u.seq > n.seq && u.seq <= t.seq,
  );
  return leftBetween ? undefined : n;
}

/**
 * Invariant 3's "the bot answers again" does not apply to a turn an agent may have had: a
 * takeover made in Tiledesk before the turn ended, of a request the agent had not closed before
 * the turn started, and no "end chat" in between.
 */
export function takenOverDuring(o: Observations, c: string, t: TurnRecord): boolean {
  const end = t.doneAt ?? Infinity;
  return o.takeovers.some(
    (a) =>
      a.conversation === c &&
      a.at <= end &&
      !o.closes.some((x) => x.requestId === a.requestId && x.at <= t.at) &&
      !o.turns.some(
        (u) => u.conversation === c && u.text === o.leaveText && u.at >= a.at && u.seq < t.seq,
      ),
  );
}
