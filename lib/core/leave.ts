/**
 * Does the user's message end the chat with the agent? Only when the message IS one of the
 * phrases (case, accents, punctuation and emoji aside, with a polite word or two around it):
 * "End chat", "cancel!", "quit please" leave; "I want to cancel my order" does not.
 */

const FILLER = new Set(['please', 'pls', 'now', 'ok', 'okay', 'thanks', 'grazie', 'ora', 'adesso']);

function words(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLocaleLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Precompiles the phrases (once, from settings). */
export function leaveMatcher(phrases: readonly string[]): (text: string | undefined) => boolean {
  const compiled = new Set(phrases.map((p) => words(p).join(' ')).filter(Boolean));
  if (compiled.size === 0) return () => false;
  return (text) => {
    if (!text || text.length > 80) return false;
    let w = words(text);
    while (w.length > 0 && FILLER.has(w[0]!)) w = w.slice(1);
    while (w.length > 0 && FILLER.has(w.at(-1)!)) w = w.slice(0, -1);
    if (w.length > 0 && w[0] === 'per' && w[1] === 'favore') w = w.slice(2);
    if (w.length > 1 && w.at(-2) === 'per' && w.at(-1) === 'favore') w = w.slice(0, -2);
    return compiled.has(w.join(' '));
  };
}
