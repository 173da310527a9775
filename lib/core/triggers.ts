/** Pure handoff-trigger checks. */

export interface HandoffTrigger {
  /** What started it: `keyword`, `intent`, `event` (handoff.initiate) or `api`. */
  trigger: 'keyword' | 'intent' | 'event' | 'api';
  keyword?: string;
  intent?: string;
  score?: number;
  /** The bot's handoff context (`handoff.initiate` value or the API's `context`). */
  context?: unknown;
  /** The user text that triggered it, if any. */
  text?: string;
}

/** Returns the first keyword found in `text` as a whole word, case-insensitive. */
export function findKeyword(
  text: string | undefined,
  keywords: readonly string[],
): string | undefined {
  if (!text) return undefined;
  const lower = text.toLocaleLowerCase();
  for (const keyword of keywords) {
    const k = keyword.toLocaleLowerCase();
    if (k === '') continue;
    let from = 0;
    for (;;) {
      const at = lower.indexOf(k, from);
      if (at < 0) break;
      if (!isWordChar(lower[at - 1]) && !isWordChar(lower[at + k.length])) return keyword;
      from = at + 1;
    }
  }
  return undefined;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
}

/** The shape of botbuilder's `RecognizerResult.intents`. */
export type Intents = Record<string, { score?: number } | undefined>;

/** The handoff intent's score when it reaches `minScore`, else undefined. */
export function handoffScore(
  intents: Intents | undefined,
  intent: string,
  minScore: number,
): number | undefined {
  const score = intents?.[intent]?.score;
  return typeof score === 'number' && score >= minScore ? score : undefined;
}
