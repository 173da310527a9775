import { expect } from 'chai';
import { findKeyword, handoffScore, type Intents } from '../../lib/core/triggers';

const DEFAULT_KEYWORDS = ['human', 'agent', 'operator'];

describe('findKeyword', () => {
  const cases: { text: string | undefined; keywords?: string[]; expected: string | undefined }[] = [
    // whole words only
    { text: 'humane', expected: undefined },
    { text: 'Human!', expected: 'human' },
    { text: 'agente', expected: undefined },
    { text: 'talk to an AGENT please', expected: 'agent' },
    { text: 'reagent', expected: undefined },
    { text: 'inhuman treatment', expected: undefined },
    { text: 'human', expected: 'human' },
    { text: '(operator)', expected: 'operator' },
    { text: 'agent,please', expected: 'agent' },
    { text: "l'agent svp", expected: 'agent' },
    { text: 'l’agent svp', expected: 'agent' },
    { text: 'line one\nagent\nline three', expected: 'agent' },
    // digits and "_" are word characters
    { text: 'agent007', expected: undefined },
    { text: 'human_resources', expected: undefined },
    { text: '2human', expected: undefined },
    // unicode letters are word characters (not only [A-Za-z])
    { text: 'éagent', expected: undefined },
    { text: 'agentñ', expected: undefined },
    { text: 'Ωhuman', expected: undefined },
    { text: 'нужен ОПЕРАТОР!', keywords: ['оператор'], expected: 'оператор' },
    { text: 'операторы заняты', keywords: ['оператор'], expected: undefined },
    { text: 'Je veux un opérateur.', keywords: ['opérateur'], expected: 'opérateur' },
    { text: 'Je veux un OPÉRATEUR.', keywords: ['opérateur'], expected: 'opérateur' },
    // a later occurrence counts when the first is inside a word
    { text: 'humanity needs a human', expected: 'human' },
    // keyword list order wins, not text order; the keyword is returned as configured
    { text: 'operator or human', keywords: ['human', 'operator'], expected: 'human' },
    { text: 'i want an agent', keywords: ['Agent'], expected: 'Agent' },
    // multi-word keywords
    { text: 'I need a real person.', keywords: ['real person'], expected: 'real person' },
    { text: 'a surreal personality', keywords: ['real person'], expected: undefined },
    // nothing to look at
    { text: '', expected: undefined },
    { text: undefined, expected: undefined },
    { text: 'human', keywords: [], expected: undefined },
  ];

  for (const c of cases) {
    const keywords = c.keywords ?? DEFAULT_KEYWORDS;
    it(`${JSON.stringify(c.text)} with [${keywords.join(', ')}] → ${String(c.expected)}`, () => {
      expect(findKeyword(c.text, keywords)).to.equal(c.expected);
    });
  }

  // BUG (lib/core/triggers.ts:25-29, latent: resolveSettings drops empty keywords, so the public
  // API cannot reach it): with an empty keyword, `indexOf('', from)` clamps `from` to the text
  // length, so `from = at + 1` never moves past the end and the loop never ends when the text
  // ends with a word character. The text below counts indexOf calls and throws instead of hanging.
  it('terminates for an empty keyword (latent infinite loop)', () => {
    let calls = 0;
    const counting = Object.assign(new String('abc'), {
      indexOf(search: string, from?: number): number {
        if (++calls > 1000) throw new Error('findKeyword is looping: 1000 indexOf calls on "abc"');
        return String.prototype.indexOf.call('abc', search, from);
      },
    });
    // A string whose lower-case form counts the scans; only the type is bent, not the behaviour.
    const text = { toLocaleLowerCase: () => counting } as unknown as string;

    expect(findKeyword(text, [''])).to.equal(undefined);
  });
});

describe('handoffScore', () => {
  const cases: {
    name: string;
    intents: Intents | undefined;
    intent?: string;
    min: number;
    expected: number | undefined;
  }[] = [
    { name: 'above the threshold', intents: { Handoff: { score: 0.7 } }, min: 0.5, expected: 0.7 },
    {
      name: 'exactly the threshold (inclusive)',
      intents: { Handoff: { score: 0.5 } },
      min: 0.5,
      expected: 0.5,
    },
    {
      name: 'just below the threshold',
      intents: { Handoff: { score: 0.49 } },
      min: 0.5,
      expected: undefined,
    },
    {
      name: 'threshold 0 accepts score 0',
      intents: { Handoff: { score: 0 } },
      min: 0,
      expected: 0,
    },
    {
      name: 'threshold 1 needs score 1',
      intents: { Handoff: { score: 0.99 } },
      min: 1,
      expected: undefined,
    },
    { name: 'score 1 with threshold 1', intents: { Handoff: { score: 1 } }, min: 1, expected: 1 },
    {
      name: 'other intents are ignored',
      intents: { Greeting: { score: 0.99 } },
      min: 0.5,
      expected: undefined,
    },
    { name: 'intent without score', intents: { Handoff: {} }, min: 0, expected: undefined },
    {
      name: 'intent entry undefined',
      intents: { Handoff: undefined },
      min: 0,
      expected: undefined,
    },
    { name: 'no intents at all', intents: undefined, min: 0, expected: undefined },
    { name: 'NaN score', intents: { Handoff: { score: Number.NaN } }, min: 0, expected: undefined },
    {
      name: 'intent names are case-sensitive',
      intents: { handoff: { score: 0.9 } },
      min: 0.5,
      expected: undefined,
    },
    {
      name: 'custom intent name',
      intents: { TalkToHuman: { score: 0.9 } },
      intent: 'TalkToHuman',
      min: 0.5,
      expected: 0.9,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${String(c.expected)}`, () => {
      expect(handoffScore(c.intents, c.intent ?? 'Handoff', c.min)).to.equal(c.expected);
    });
  }
});
