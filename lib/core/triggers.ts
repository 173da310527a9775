/** Pure handoff-trigger checks. */

export { compilePhrases, MAX_EXTRA, MAX_GAP, matchPhrase, PhraseMatcher } from './phrases';

export interface HandoffTrigger {
  /** What started it: `keyword`, `intent`, `event` (handoff.initiate) or `api`. */
  trigger: 'keyword' | 'intent' | 'event' | 'api';
  /** For `keyword`: the entry of `TiledeskHandoffKeywords` that matched, as configured. */
  keyword?: string;
  intent?: string;
  score?: number;
  /** The bot's handoff context (`handoff.initiate` value or the API's `context`). */
  context?: unknown;
  /** The user text that triggered it, if any. */
  text?: string;
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
