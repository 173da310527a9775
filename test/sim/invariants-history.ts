import type { Observations, TurnRecord, Verdict } from './invariants';

/**
 * Invariants of mirror mode `handoff` (`TiledeskMirrorMode=handoff`), on top of 1–5 (whose
 * "exactly once, in order" still holds for whatever is mirrored):
 *
 * 1'. Presence, mode-aware (used by invariant 1): what was said before a handoff the user was
 *    told about ("connecting") is in Tiledesk, unless more than `TiledeskTranscriptMaxMessages`
 *    items may have been kept after it (counted conservatively: every later item that was not
 *    surely posted live, plus one for a "failed" notice). What comes after the last handoff may
 *    stay with the bot.
 * 6. Nothing is in Tiledesk before the first handoff is asked for (no request at all for a
 *    conversation that never asks), and what the user said with the bot after the last handoff
 *    ended (they had been told so) is never posted.
 * 7. The history comes first: the words that started a handoff are posted live (not marked
 *    `bf_history`), after every history message of that handoff.
 */

/** Invariant 1 in mode `handoff`: may this text of turn `t` be missing from Tiledesk? */
export function mayStayWithTheBot(
  o: Observations,
  turns: readonly TurnRecord[],
): (t: TurnRecord, text: string) => boolean {
  const started = startedHandoffs(o, turns);
  const items = (t: TurnRecord) => [t.text, ...t.replies].filter((x) => !isNotice(o, x));
  return (t, text) => {
    const trigger = started.find((k) => k.seq >= t.seq);
    if (!trigger) return true; // no handoff after it: it may never leave the bot
    if (trigger === t) return false; // the trigger's own words go live
    const own = items(t);
    let after = own.length - 1 - own.indexOf(text) + 1; // + a "failed" notice kept as history
    for (const u of turns) if (u.seq > t.seq && u.seq < trigger.seq) after += items(u).length;
    return after >= o.transcriptMaxMessages;
  };
}

export function checkHistoryMode(o: Observations, c: string, v: Verdict): void {
  const turns = o.turns.filter((t) => t.conversation === c).sort((a, b) => a.seq - b.seq);
  const mirrored = o.mirrored.filter((m) => m.conversation === c);
  const said = mirrored.filter((m) => !m.info);

  // 6. Nothing before the trigger; nothing of the bot's time after the last handoff.
  const firstAsk = turns.find((t) => t.kind === 'keyword');
  if (!firstAsk && mirrored.length > 0) {
    v.violations.push(
      `[invariant 6] ${c}: ${mirrored.length} message(s) in Tiledesk ("${mirrored[0]!.text}", …) but no handoff was ever asked for`,
    );
  }
  const early = firstAsk && mirrored.find((m) => m.at < firstAsk.at);
  if (early) {
    v.violations.push(
      `[invariant 6] ${c}: "${early.text}" reached Tiledesk at +${early.at} ms, before the first handoff was asked for (turn ${firstAsk.n} at +${firstAsk.at} ms)`,
    );
  }
  const lastAsk = [...turns].reverse().find((t) => t.kind === 'keyword');
  for (const t of turns) {
    if (t.kind !== 'after' || !t.sawBack || (lastAsk && t.seq < lastAsk.seq)) continue;
    for (const text of [t.text, ...t.replies]) {
      if (said.some((m) => m.text === text)) {
        v.violations.push(
          `[invariant 6] ${c} turn ${t.n}: "${text}" was posted to Tiledesk, though the bot had the conversation back and no handoff followed`,
        );
      }
    }
  }

  // 7. The history before the live words of its handoff.
  const started = startedHandoffs(o, turns);
  started.forEach((k, i) => {
    const live = said.find((m) => m.text === k.text);
    if (!live) return;
    if (live.history) {
      v.violations.push(
        `[invariant 7] ${c}: "${k.text}" started a handoff but was posted as history`,
      );
    }
    const from = started[i - 1]?.seq ?? 0;
    const window = new Set(
      turns.filter((t) => t.seq > from && t.seq < k.seq).flatMap((t) => [t.text, ...t.replies]),
    );
    const late = said.find((m) => m.history && window.has(m.text) && m.createdAt > live.createdAt);
    if (late) {
      v.violations.push(
        `[invariant 7] ${c}: history "${late.text}" was posted after "${k.text}", which started its handoff`,
      );
    }
  });
}

function startedHandoffs(o: Observations, turns: readonly TurnRecord[]): TurnRecord[] {
  return turns.filter((t) => t.kind === 'keyword' && t.replies.includes(o.texts.connecting));
}

function isNotice(o: Observations, text: string): boolean {
  const assigned = o.texts.assigned.split('{agent}')[0]!;
  return text.startsWith(assigned) || Object.values(o.texts).includes(text);
}
