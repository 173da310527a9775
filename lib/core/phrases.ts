/**
 * Phrase matching for what users type to ask for something (a handoff today, leaving one next):
 * a list entry is a phrase, matched on words, not on characters, so that "I am a travel agent"
 * does not ask for an agent while "I want to speak to a person" does.
 *
 * The text is folded (lower case; NFKD with the marks removed, so accents and full-width forms
 * do not matter; "n't" joined: "don't" → "dont"), then split into words (runs of letters, digits
 * and `_`; everything else, emoji included, separates them) and clauses (they end at
 * `. , ; : ! ? ¿ ¡ …`, brackets, quotes and new lines, and at the words "but", "however", "ma",
 * "però", which are dropped). An entry is folded the same way; its filler words (articles,
 * prepositions, pronouns: {@link FILLERS}) are optional, the rest are its content words.
 *
 * - **Phrase** (two or more content words): its content words in order in one clause, with at
 *   most {@link MAX_GAP} filler words or gap adjectives ("real", "live", "vero", …) between two
 *   of them. "talk to a human" matches "talk with the human" and "talking to a real human".
 *   Words compare by `stem` (final "s", "-ing", final vowel: "agents", "operatori", "persone");
 *   a content word written `word*` (3 letters or more) matches any word starting with `word`.
 *   A match does not count when it is
 *   - negated: one of {@link NEGATIONS} earlier in its clause ("I don't want to talk to a
 *     human"), unless it reads as inability (after "can"/"could", before "able", "sure", "know",
 *     "riesco", "posso", "so", …) or the clause asks "why"; "no"/"nessun" count right before the
 *     phrase, before "need"/"bisogno", or anywhere but at the start of the clause (a
 *     clause-initial "no" answers the bot: "no I want a real person");
 *   - about what someone is: one of {@link IDENTITY_LEAD_INS} right before it, fillers aside
 *     ("are you a real person?", "am I talking to a human?", "I am a customer service agent");
 *   - about a thing: followed by "resources", "rights", "error", … ("human resources");
 *   - refused: the next clause is "no"/"nope"/"nah" plus courtesy only ("Live agent? No thanks").
 * - **Single word** (one content word: "agent", "an agent"): the message, or its last clause, is
 *   that word (any number of times) plus at most {@link MAX_EXTRA} other words, all of them
 *   courtesy ({@link COURTESY}: "please", "thanks", "hi", "I want", "I'd like", "can I have",
 *   "a", "per favore", "vorrei", "un", …). Exact words only, no stemming ("agents" ≠ "agent").
 *   A negation is not courtesy, so "no agent" or "I don't want a human" never match.
 * - The first entry of the list that matches wins, returned as written in the list.
 */

/** At most this many filler words between two content words of a phrase. */
export const MAX_GAP = 4;
/** At most this many courtesy words beside a single-word entry. */
export const MAX_EXTRA = 6;
/** A quick bound: a longer message (repeats of the word aside) cannot be "nearly" the word. */
const NEARLY_WHOLE_MAX_WORDS = 3 * (MAX_EXTRA + 1);

const words = (s: string): string[] => s.split(' ');

/** Optional inside a phrase (articles, prepositions, pronouns), and allowed in its gaps. */
const FILLERS = new Set(
  words(
    'a an the to with some one of me us your yours ' +
      'un uno una il lo la l i gli le con a al allo alla all ai agli alle col di da ' +
      'del dello della dell dei degli delle d mi ci me te in qualche vostro vostra vostri vostre',
  ),
);
/** Allowed in a phrase's gaps, but a content word when written in a phrase ("real person"). */
const GAP_ADJECTIVES = new Set(
  words('real actual live proper true vero vera veri vere reale reali autentico'),
);

/** Negate a phrase anywhere before it in its clause. */
const NEGATIONS = new Set(
  words(
    'not never dont doesnt didnt wont wouldnt isnt arent nobody without neither nor ' +
      'non mai senza neanche nemmeno neppure',
  ),
);
/** Negate a phrase except as a clause-initial answer ("no I want a real person"). */
const DETERMINER_NEGATIONS = new Set(words('no nessun nessuno nessuna zero'));
const NO_NEED = new Set(words('need bisogno'));
/** After a negation: inability, not refusal ("not able to reach", "non riesco a parlare"). */
const VOIDS_NEXT = new Set(
  words('able sure know riesco riusciamo riuscito riuscita posso possiamo trovo so sappiamo'),
);
/** Before a negation: "can not", "could not". */
const VOIDS_PREVIOUS = new Set(words('can could'));
const WHY = new Set(words('why'));
/**
 * Right before a phrase (fillers aside), these say or ask what someone is rather than ask for
 * someone: "are you a real person?", "am I talking to a human?", "I am a customer service
 * agent", "what is a live agent?", "a bot or a real person?".
 */
const IDENTITY_LEAD_INS = [
  'are you',
  'r u',
  'you are',
  'you re',
  'youre',
  'u r',
  'is this',
  'is that',
  'am i',
  'am i talking',
  'am i speaking',
  'am i chatting',
  'i am',
  'i m',
  'im',
  'we are',
  'work as',
  'sei',
  'siete',
  'sono',
  'siamo',
  'lavoro come',
  'sto parlando',
  'sto chattando',
  'what is',
  'what s',
  'whats',
  'what does',
  'cos e',
  'cosa e',
  'che cos e',
  'cosa significa',
  'bot or',
  'robot or',
  'chatbot or',
  'ai or',
  'machine or',
  'bot o',
  'robot o',
  'chatbot o',
].map(words);
/** A phrase followed by one of these names a thing, not a person ("human resources"). */
const NOT_A_PERSON_NEXT = new Set(
  words('resources resource rights error errors nature body race trafficking'),
);
/** First word of a clause that only refuses ("No thanks", "Nope"). */
const REFUSALS = new Set(words('no nope nah'));
/** Words that start a new clause (and are dropped). */
const CLAUSE_WORDS = new Set(words('but however ma pero'));

/** Courtesy around a single word: "agent please", "I'd like an agent", "un operatore, grazie". */
const COURTESY = [
  // English
  'please',
  'pls',
  'plz',
  'pleas',
  'thanks',
  'thank you',
  'thankyou',
  'thx',
  'ty',
  'hi',
  'hello',
  'hey',
  'ok',
  'okay',
  'yes',
  'yeah',
  'yep',
  'sure',
  'a',
  'an',
  'the',
  'some',
  'another',
  'different',
  'now',
  'right now',
  'asap',
  'just',
  'i',
  'want',
  'need',
  'would like',
  'd like',
  'can',
  'could',
  'may',
  'can i have',
  'could i have',
  'may i have',
  'can you',
  'could you',
  'will you',
  'would you',
  'is there',
  'get',
  'give',
  'me',
  'talk',
  'speak',
  'chat',
  'to',
  'with',
  'connect',
  'transfer',
  'real',
  'actual',
  'live',
  // Italian
  'per favore',
  'per piacere',
  'perfavore',
  'pf',
  'prego',
  'grazie',
  'ciao',
  'salve',
  'buongiorno',
  'buonasera',
  'si',
  'un',
  'uno',
  'una',
  'il',
  'lo',
  'la',
  'l',
  'altro',
  'voglio',
  'vorrei',
  'mi',
  'serve',
  'servirebbe',
  'ho bisogno di',
  'ho bisogno d',
  'posso',
  'potrei',
  'avere',
  'parlare',
  'con',
  'passami',
  'passarmi',
  'passi',
  'dammi',
  'puoi',
  'potete',
  'c e',
  'subito',
  'ora',
  'adesso',
  'vero',
  'vera',
  'reale',
  'gentilmente',
  'cortesemente',
].map(words);

// ---------------------------------------------------------------------------------------------
// Text → clauses of words

const NON_ASCII = /[^\x00-\x7f]/;
const MARKS = /\p{M}+/gu;
/** "don't" → "dont" before splitting, so the negation is one word ("l'agente" still splits). */
const NT = /n['’ʼ`]t\b/g;
const BREAKS = '.,;:!?¿¡…()[]{}"“”«»\n\r';
const TOKEN = /[\p{L}\p{N}_]+|[.,;:!?¿¡…()[\]{}"“”«»\n\r]/gu;
const ENTRY_WORD = /[\p{L}\p{N}_]+\*?/gu;

/** Lower case, accents and other marks removed, compatibility forms unified. */
function fold(text: string): string {
  let s = text.toLowerCase();
  if (NON_ASCII.test(s)) s = s.normalize('NFKD').replace(MARKS, '');
  return s.replace(NT, 'nt');
}

/** The words of a folded text, grouped into clauses (no empty clause). */
function clausesOf(folded: string): string[][] {
  const clauses: string[][] = [];
  let clause: string[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(folded); m !== null; m = TOKEN.exec(folded)) {
    const token = m[0];
    if ((token.length > 1 || !BREAKS.includes(token)) && !CLAUSE_WORDS.has(token)) {
      clause.push(token);
    } else if (clause.length > 0) {
      clauses.push(clause);
      clause = [];
    }
  }
  if (clause.length > 0) clauses.push(clause);
  return clauses;
}

/**
 * Word forms that compare equal inside phrases: one final "s" (agents → agent), "-ing" (talking
 * → talk, chatting → chat) and one final vowel (operatore, operatori → operator; persona,
 * persone → person). Crude on purpose: the entry and the text go through the same function,
 * and a phrase needs all its words in order, so two words that collide rarely matter.
 */
function stem(word: string): string {
  let w = word;
  if (w.length >= 4 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w.length >= 6 && w.endsWith('ing')) {
    w = w.slice(0, -3);
    if (w.length >= 4 && w[w.length - 1] === w[w.length - 2]) w = w.slice(0, -1);
    return w;
  }
  if (w.length >= 4 && 'aeiou'.includes(w[w.length - 1]!)) w = w.slice(0, -1);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Compiled lists

interface Word {
  /** The stem (phrases) or the word (single words); the prefix for `*` words. */
  text: string;
  prefix: boolean;
}

interface Entry {
  index: number;
  entry: string;
}
interface Phrase extends Entry {
  words: Word[];
}
interface Single extends Entry {
  word: Word;
}

/** A phrase list compiled once; pass it to {@link matchPhrase} on every turn. */
export class PhraseMatcher {
  /** The list as given (entries are returned exactly as written here). */
  readonly source: readonly string[];
  /** Phrases by the stem of their first word, or by the first 3 letters of a `*` first word. */
  private readonly phrases = new Map<string, Phrase[]>();
  private readonly prefixPhrases = new Map<string, Phrase[]>();
  private readonly singles = new Map<string, Single[]>();
  private readonly prefixSingles: Single[] = [];
  readonly size: number;
  /**
   * A quick screen: every entry's longest word (its stem or prefix) is part of any text it
   * matches (a stem is a prefix of the word it comes from), so a text without one of them
   * cannot match and is not split into words.
   */
  private readonly screen: RegExp;

  constructor(list: readonly string[]) {
    this.source = [...list];
    let size = 0;
    const screen = new Set<string>();
    list.forEach((entry, index) => {
      const all = [...fold(entry).matchAll(ENTRY_WORD)].map((m) => m[0]);
      const content = all.filter((w) => !FILLERS.has(w.replace(/\*$/, '')));
      if (content.length === 0) return; // only fillers: never matches
      size++;
      const longest = content
        .map((w) => toWord(w, true).text)
        .reduce((a, b) => (b.length > a.length ? b : a));
      screen.add(longest);
      if (content.length === 1) {
        const single: Single = { index, entry, word: toWord(content[0]!, false) };
        if (single.word.prefix) this.prefixSingles.push(single);
        else push(this.singles, single.word.text, single);
        return;
      }
      const phrase: Phrase = { index, entry, words: content.map((w) => toWord(w, true)) };
      const first = phrase.words[0]!;
      if (first.prefix) push(this.prefixPhrases, first.text.slice(0, 3), phrase);
      else push(this.phrases, first.text, phrase);
    });
    this.size = size;
    const escaped = [...screen].map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.screen = new RegExp(escaped.join('|') || '(?!)');
  }

  /** The first entry (in list order) that matches `text`, as written in the list. */
  match(text: string | undefined): string | undefined {
    if (!text || this.size === 0) return undefined;
    const folded = fold(text);
    if (!this.screen.test(folded)) return undefined;
    const clauses = clausesOf(folded);
    if (clauses.length === 0) return undefined;
    let best: Entry | undefined;
    for (let c = 0; c < clauses.length; c++) {
      const clause = clauses[c]!;
      const stems = clause.map(stem);
      for (let i = 0; i < clause.length; i++) {
        const exact = this.phrases.get(stems[i]!);
        if (exact) best = this.phraseAt(exact, clauses, c, stems, i, best);
        if (this.prefixPhrases.size > 0) {
          const prefixed = this.prefixPhrases.get(clause[i]!.slice(0, 3));
          if (prefixed) best = this.phraseAt(prefixed, clauses, c, stems, i, best);
        }
      }
    }
    if (this.singles.size > 0 || this.prefixSingles.length > 0) {
      const last = clauses[clauses.length - 1]!;
      let words = 0;
      for (const clause of clauses) words += clause.length;
      const whole =
        words > NEARLY_WHOLE_MAX_WORDS
          ? undefined
          : this.nearlyWhole(
              clauses.length === 1 ? last : ([] as string[]).concat(...clauses),
              best,
            );
      const single = whole ?? (clauses.length > 1 ? this.nearlyWhole(last, best) : undefined);
      if (single) best = single;
    }
    return best?.entry;
  }

  /** The earliest of `best` and the phrases of `list` that match at word `i` of clause `c`. */
  private phraseAt(
    list: Phrase[],
    clauses: string[][],
    c: number,
    stems: string[],
    i: number,
    best: Entry | undefined,
  ): Entry | undefined {
    const clause = clauses[c]!;
    for (const phrase of list) {
      if (best && phrase.index >= best.index) continue;
      const end = matchAt(phrase.words, clause, stems, i);
      if (end >= 0 && !blocked(clause, i, end, clauses[c + 1])) best = phrase;
    }
    return best;
  }

  /**
   * The first single-word entry (list order, before `best`) that, with courtesy words only,
   * makes up `tokens`.
   */
  private nearlyWhole(tokens: string[], best: Entry | undefined): Single | undefined {
    if (tokens.length > NEARLY_WHOLE_MAX_WORDS) return undefined;
    let found: Single[] | undefined;
    for (const token of tokens) {
      const exact = this.singles.get(token);
      if (exact) found = found ? found.concat(exact) : exact;
      for (const s of this.prefixSingles)
        if (token.startsWith(s.word.text)) found = found ? found.concat(s) : [s];
    }
    if (!found) return undefined;
    if (found.length > 1) found = [...new Set(found)].sort((a, b) => a.index - b.index);
    for (const s of found) {
      if (best && s.index >= best.index) return undefined;
      const rest = tokens.map((t) => (wordIs(s.word, t) ? undefined : t));
      let extra = 0;
      for (const t of rest) if (t !== undefined) extra++;
      if (extra <= MAX_EXTRA && runsAreCourtesy(rest)) return s;
    }
    return undefined;
  }
}

function toWord(raw: string, stemmed: boolean): Word {
  const bare = raw.replace(/\*$/, '');
  if (raw.endsWith('*') && bare.length >= 3) return { text: bare, prefix: true };
  return { text: stemmed ? stem(bare) : bare, prefix: false };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function wordIs(word: Word, token: string): boolean {
  return word.prefix ? token.startsWith(word.text) : token === word.text;
}

function phraseWordIs(word: Word, token: string, stemmed: string): boolean {
  return word.prefix ? token.startsWith(word.text) : stemmed === word.text;
}

/** Index after the phrase when it matches at `start` (its first word is already there), or -1. */
function matchAt(phraseWords: Word[], clause: string[], stems: string[], start: number): number {
  if (!phraseWordIs(phraseWords[0]!, clause[start]!, stems[start]!)) return -1;
  let at = start + 1;
  for (let k = 1; k < phraseWords.length; k++) {
    const word = phraseWords[k]!;
    let gap = 0;
    for (;;) {
      if (at >= clause.length) return -1;
      if (phraseWordIs(word, clause[at]!, stems[at]!)) break;
      const t = clause[at]!;
      if (gap >= MAX_GAP || !isFiller(t)) return -1;
      gap++;
      at++;
    }
    at++;
  }
  return at;
}

/** Whether a phrase found at [start, end) of `clause` is negated, about someone or refused. */
function blocked(
  clause: string[],
  start: number,
  end: number,
  next: string[] | undefined,
): boolean {
  const after = clause[end];
  if (after !== undefined && NOT_A_PERSON_NEXT.has(after)) return true;
  const why = clause.slice(0, start).some((t) => WHY.has(t));
  for (let j = 0; j < start; j++) {
    const t = clause[j]!;
    if (NEGATIONS.has(t)) {
      if (why || VOIDS_PREVIOUS.has(clause[j - 1] ?? '') || VOIDS_NEXT.has(clause[j + 1] ?? ''))
        continue;
      return true;
    }
    if (DETERMINER_NEGATIONS.has(t)) {
      // A clause-initial "no" answers the bot ("no I want a real person") unless it is the
      // phrase's determiner ("no live agent") or says there is no need ("no need for a human").
      let k = j + 1;
      while (k < start && isFiller(clause[k]!)) k++;
      const rightBefore = k === start;
      if (j > 0 || rightBefore || NO_NEED.has(clause[j + 1] ?? '')) return true;
    }
  }
  // Fillers may stand between the lead-in and the phrase, and a lead-in may end with one ("am i").
  for (let at = start; ; at--) {
    for (const seq of IDENTITY_LEAD_INS) if (endsAt(clause, seq, at)) return true;
    if (at === 0 || !isFiller(clause[at - 1]!)) break;
  }
  if (next && REFUSALS.has(next[0]!)) {
    const rest = next.slice(1);
    if (rest.length <= MAX_EXTRA && runsAreCourtesy(rest)) return true;
  }
  return false;
}

function isFiller(word: string): boolean {
  return FILLERS.has(word) || GAP_ADJECTIVES.has(word);
}

/** Whether `clause` has `sequence` right before index `end`. */
function endsAt(clause: string[], sequence: string[], end: number): boolean {
  const from = end - sequence.length;
  if (from < 0) return false;
  for (let k = 0; k < sequence.length; k++) if (clause[from + k] !== sequence[k]) return false;
  return true;
}

const COURTESY_BY_FIRST = new Map<string, string[][]>();
for (const seq of COURTESY) push(COURTESY_BY_FIRST, seq[0]!, seq);

/** Every run of words between the matched single words is made only of courtesy phrases. */
function runsAreCourtesy(tokens: (string | undefined)[]): boolean {
  let runStart = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i === tokens.length || tokens[i] === undefined) {
      if (!tiles(tokens as string[], runStart, i)) return false;
      runStart = i + 1;
    }
  }
  return true;
}

/** Whether tokens[from, to) is a concatenation of courtesy phrases (tiny DP). */
function tiles(tokens: string[], from: number, to: number): boolean {
  if (from >= to) return true;
  const reach = new Array<boolean>(to - from + 1).fill(false);
  reach[0] = true;
  for (let i = from; i < to; i++) {
    if (!reach[i - from]) continue;
    for (const seq of COURTESY_BY_FIRST.get(tokens[i]!) ?? []) {
      if (i + seq.length > to) continue;
      let k = 1;
      while (k < seq.length && tokens[i + k] === seq[k]) k++;
      if (k === seq.length) reach[i + seq.length - from] = true;
    }
  }
  return reach[to - from] === true;
}

// ---------------------------------------------------------------------------------------------

const compiled = new WeakMap<readonly string[], PhraseMatcher>();

/** The compiled form of `list`, built once per array (rebuilt if the array was changed). */
export function compilePhrases(list: readonly string[] | PhraseMatcher): PhraseMatcher {
  if (list instanceof PhraseMatcher) return list;
  const cached = compiled.get(list);
  if (cached && sameEntries(cached.source, list)) return cached;
  const matcher = new PhraseMatcher(list);
  compiled.set(list, matcher);
  return matcher;
}

function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The first entry of `phrases` that `text` matches (see the rule at the top of this file), as
 * written in the list; undefined when none does. A plain array is compiled on first use and the
 * compiled form is cached for that array.
 */
export function matchPhrase(
  text: string | undefined,
  phrases: readonly string[] | PhraseMatcher,
): string | undefined {
  if (!text) return undefined;
  return compilePhrases(phrases).match(text);
}
