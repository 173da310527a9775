import { expect } from 'chai';
import { DEFAULT_HANDOFF_KEYWORDS } from '../../lib/settings';
import {
  compilePhrases,
  handoffScore,
  type Intents,
  MAX_EXTRA,
  MAX_GAP,
  matchPhrase,
  PhraseMatcher,
} from '../../lib/core/triggers';

/**
 * The default handoff phrases on what users really write. Each row that must trigger names the
 * list entry it must report (the first entry of the list that matches), so a row also fails
 * when a different, earlier entry starts matching it.
 */
describe('default handoff phrases (English and Italian)', () => {
  // prettier-ignore
  const MUST_TRIGGER: [text: string, entry: string][] = [
    ['I want to speak to a person', 'speak to a person'],
    ['real person please', 'real person'],
    ['agent', 'agent'],
    ['Agent please', 'agent'],
    ['human!', 'human'],
    ['HUMAN', 'human'],
    ['operatore per favore', 'operatore'],
    ['I want to talk to a human please', 'talk to a human'],
    ['Can I talk to a human?', 'talk to a human'],
    ['talk to a real person', 'talk to a person'],
    ["I'd like to speak with an agent, please.", 'speak to an agent'],
    ['Could you connect me to a human?', 'connect me to a human'],
    ['connect me with an agent', 'connect me to an agent'],
    ['transfer me to an operator please', 'transfer me to an operator'],
    ['Get me a human', 'human'],
    ['I need a human', 'need a human'],
    ['I want a human, not a bot', 'want a human'],
    ['live agent', 'live agent'],
    ['Live agent please!!', 'live agent'],
    ['Is there a live agent?', 'live agent'],
    ['human agent pls', 'human agent'],
    ['customer service representative', 'customer service representative'],
    ['I want to talk to customer service representative about my bill', 'customer service representative'],
    ['speak to one of your agents', 'speak to an agent'],
    ['talking to a human would be nice', 'talk to a human'],
    ["Why can't I talk to a human?", 'talk to a human'],
    ["why don't you let me speak to a person", 'speak to a person'],
    ["I'm not able to reach a human agent", 'human agent'],
    ['no I want a real person', 'real person'],
    ['No, I want to talk to a human', 'talk to a human'],
    ['This bot is useless. Agent!', 'agent'],
    ["I don't want the bot, I want a human", 'want a human'],
    ['not the bot but a human', 'human'],
    ['👋 agent 🙏', 'agent'],
    ['agent?', 'agent'],
    ['An operator please', 'operator'],
    ['can I have an agent', 'agent'],
    ['Can you get me an agent', 'agent'],
    ['representative', 'representative'],
    ['I am a travel agent. Can I talk to a human?', 'talk to a human'],
    ['hi, can I please get an agent', 'agent'],
    ['Operatore', 'operatore'],
    ['voglio parlare con un operatore', 'parlare con un operatore'],
    ['Vorrei parlare con un operatore, per favore', 'parlare con un operatore'],
    ['posso parlare con una persona?', 'parlare con una persona'],
    ['mi passi un operatore?', 'operatore'],
    ['passami un operatore', 'passami un operatore'],
    ['un operatore, grazie', 'operatore'],
    ['voglio un operatore umano', 'voglio un operatore'],
    ['ho bisogno di un operatore', 'ho bisogno di un operatore'],
    ["c'è un operatore?", 'operatore'],
    ['Perché non posso parlare con un operatore?', 'parlare con un operatore'],
    ['non riesco a parlare con un operatore', 'parlare con un operatore'],
    ['vorrei parlare con una persona reale', 'parlare con una persona'],
    ['mettimi in contatto con un operatore', 'in contatto con un operatore'],
    ['mi serve un operatore subito', 'mi serve un operatore'],
    ["parlare con l'assistenza", "parlare con l'assistenza"],
    ['vorrei parlare con il servizio clienti', 'parlare con il servizio clienti'],
    ['OPERATORE UMANO!!!', 'operatore umano'],
    ['persona vera per favore', 'persona vera'],
    ['Umano per favore', 'umano'],
    ['voglio un umano', 'umano'],
    ['operatrice per favore', 'operatrice'],
    ["vorrei parlare con un'operatrice", "parlare con un'operatrice"],
    ['Pòssò pàrlàrè cön ün öpèràtörè?', 'parlare con un operatore'],
    ['speak to an operator', 'speak to an operator'],
    ['chat with a person', 'chat with a person'],
    ["I'd like to chat with an actual human", 'chat with a human'],
    ['I want a real human being', 'want a human'],
    ['Is it possible to talk to a human?', 'talk to a human'],
    ['AGENT PLEASE!!!', 'agent'],
    ['Agent, please.', 'agent'],
    ['please agent', 'agent'],
    ['agent agent agent', 'agent'],
    ['Hello? Is anyone there? I need a human', 'need a human'],
    ['Let me talk to a person', 'talk to a person'],
    ['I would like to speak to a representative.', 'speak to a representative'],
    ['Please transfer me to a human agent.', 'transfer me to a human'],
    ['connect me to a live agent', 'connect me to an agent'],
    ['speak with a human', 'speak to a human'],
    ['Talk to human', 'talk to a human'],
    ['Live chat with an agent', 'chat with an agent'],
    ['get me a live person', 'live person'],
    ['human, please', 'human'],
    ['A human, please!', 'human'],
    ['yes, a human please', 'human'],
    ['Sì, un operatore', 'operatore'],
    ['Operatore, per favore.', 'operatore'],
    ['Voglio parlare con una persona vera', 'parlare con una persona'],
    ['fammi parlare con un operatore', 'parlare con un operatore'],
    ['posso parlare con un essere umano?', 'parlare con un essere umano'],
    ['vorrei un operatore', 'vorrei un operatore'],
    ['Un umano per favore', 'umano'],
    ['Mi serve un operatore umano', 'mi serve un operatore'],
    ['Buongiorno, vorrei parlare con un operatore.', 'parlare con un operatore'],
    ['Can I speak to someone, a real person?', 'real person'],
    ['i want a human!!!! 😡', 'want a human'],
    ['Human please 🙏', 'human'],
    ['I need to speak to an agent about my refund', 'speak to an agent'],
    // curly apostrophes, full-width letters, line breaks
    ['Can’t I talk to a human?', 'talk to a human'],
    ['Ｈｕｍａｎ ｐｌｅａｓｅ', 'human'],
    ['human\nplease', 'human'],
    ['My order is late. Agent please', 'agent'],
  ];

  // prettier-ignore
  const MUST_NOT_TRIGGER: string[] = [
    'I am a travel agent',
    'My name is Agent Smith',
    'Do you have HUMAN resources?',
    'operator-assisted call',
    "I don't want a human",
    'I do not want to talk to a human',
    "I don't need an agent, thanks",
    'No agent',
    'not a human',
    'no human agent please',
    'No need for a human agent',
    'I never asked to speak to a person',
    'Are you a human?',
    'Are you a real person?',
    'Am I talking to a real person?',
    'Is this a live agent?',
    'r u a real person',
    'Talk to a human? No thanks.',
    'Live agent? Nope',
    'I need to contact the human resources department',
    'human rights are important',
    'to err is human',
    'humane treatment',
    'inhuman',
    'the agent was rude',
    'my insurance agent called me',
    'he is a secret agent',
    'I work as a customer service agent? ',
    'Agent Smith',
    'agent 007',
    'agents',
    'human_resources',
    'the operator of this website',
    'smooth operator',
    'What does representative mean?',
    'Where is the nearest representative office?',
    'reagent',
    'I like the agent',
    'I have an agent',
    "I'm human",
    'we are all human',
    'human error',
    'Human or bot?',
    'hello',
    'thanks!',
    'my order A-1042 is late',
    'I want to talk to the bot',
    'Can I speak to the manager of the store on Monday?',
    'talk to you later',
    'speak to me',
    "I'll ask a person at home",
    'people',
    'sei umano?',
    'sei un operatore?',
    'sei una persona reale?',
    'non voglio parlare con un operatore',
    'non voglio un operatore',
    'nessun operatore',
    "l'operatore mi ha detto di scriverti",
    'sono un operatore telefonico',
    'operatore telefonico',
    'risorse umane',
    "l'errore umano",
    'Il corpo umano',
    'ho parlato con un operatore ieri',
    'senza operatore',
    "l'agente di viaggio",
    'sto parlando con una persona reale?',
    'Operatore? No grazie',
    'grazie mille',
    'un operatore logistico per la spedizione',
    'operatori economici',
    'I am a real person',
    'Is a human going to read this?',
    'The agent told me to write here',
    'I want to talk about the agent who helped me',
    "I don't want to speak to a person",
    "I'd rather not talk to a human",
    'never connect me to an agent',
    "please don't transfer me to an operator",
    'operators',
    "I'm an agent of change",
    'The human body has 206 bones',
    'What is a live agent?',
    'Are you a bot or a real person?',
    'Am I talking to a bot or a real person?',
    "l'operatore è stato gentile",
    "Chi è l'operatore di turno?",
    'parlerò con un operatore domani',
    'non mi serve un operatore',
    'Sei un bot o una persona vera?',
    'operatore ecologico',
    'Il mio agente assicurativo',
    'Ho già parlato con un operatore',
    "cos'è un operatore umano?",
    "I didn't want a human, I wanted the bot",
    // negations in capitals and with curly apostrophes
    'I DON’T want a human',
    'I DONT WANT TO TALK TO A HUMAN',
    'Don’t connect me to an agent',
    'Non voglio parlare con un operatore umano',
    'NO OPERATORE',
    // a phrase never spans two clauses
    'real\nperson',
    // "my agent" is someone's own agent
    'I want to speak to my agent',
  ];

  it('has at least 60 sentences each way', () => {
    expect(MUST_TRIGGER.length).to.be.at.least(60);
    expect(MUST_NOT_TRIGGER.length).to.be.at.least(60);
  });

  for (const [text, entry] of MUST_TRIGGER) {
    it(`triggers: ${JSON.stringify(text)} → ${JSON.stringify(entry)}`, () => {
      expect(DEFAULT_HANDOFF_KEYWORDS).to.include(entry);
      expect(matchPhrase(text, DEFAULT_HANDOFF_KEYWORDS)).to.equal(entry);
    });
  }
  for (const text of MUST_NOT_TRIGGER) {
    it(`does not trigger: ${JSON.stringify(text)}`, () => {
      expect(matchPhrase(text, DEFAULT_HANDOFF_KEYWORDS)).to.equal(undefined);
    });
  }
});

describe('matchPhrase: the rule', () => {
  const cases: { name: string; list: string[]; text: string | undefined; expected?: string }[] = [
    // phrases: content words in order, in one clause, fillers between
    {
      name: 'exact phrase',
      list: ['talk to a human'],
      text: 'talk to a human',
      expected: 'talk to a human',
    },
    { name: 'words out of order', list: ['talk to a human'], text: 'human, talk to me' },
    {
      name: 'fillers are optional',
      list: ['talk to a human'],
      text: 'talk human',
      expected: 'talk to a human',
    },
    {
      name: 'fillers are interchangeable',
      list: ['talk to a human'],
      text: 'talk with the human',
      expected: 'talk to a human',
    },
    {
      name: 'a content word in the gap breaks it',
      list: ['talk to a human'],
      text: 'talk about a human',
    },
    {
      name: 'gap adjectives are allowed between',
      list: ['talk to a human'],
      text: 'talk to a real live human',
      expected: 'talk to a human',
    },
    {
      name: 'a gap adjective written in the phrase is required',
      list: ['real person'],
      text: 'a person please',
    },
    { name: 'a phrase never spans clauses', list: ['talk to a human'], text: 'talk. to a human' },
    { name: '"but" starts a clause', list: ['talk to a human'], text: 'talk but human' },
    // word forms
    {
      name: 'plural and -ing',
      list: ['speak to an agent'],
      text: 'speaking to one of your agents',
      expected: 'speak to an agent',
    },
    {
      name: 'Italian number/gender',
      list: ['operatore umano'],
      text: 'operatori umani',
      expected: 'operatore umano',
    },
    {
      name: 'different words with a common start do not match',
      list: ['operatore umano'],
      text: 'operatrice umana',
    },
    {
      name: 'accents folded both ways',
      list: ['parler à un opérateur'],
      text: 'je veux PARLER A UN OPERATEUR',
      expected: 'parler à un opérateur',
    },
    {
      name: 'prefix word',
      list: ['parl* con un operatore'],
      text: 'parlo con un operatore',
      expected: 'parl* con un operatore',
    },
    {
      name: 'prefix word, other form',
      list: ['parl* con un operatore'],
      text: 'mi fai parlare con un operatore?',
      expected: 'parl* con un operatore',
    },
    {
      name: 'a prefix needs 3 letters (pa* is the word pa)',
      list: ['pa* human'],
      text: 'pat human',
    },
    {
      name: 'a 2-letter "prefix" matches its word',
      list: ['pa* human'],
      text: 'pa human',
      expected: 'pa* human',
    },
    // single words: nearly the whole message
    { name: 'the word alone', list: ['agent'], text: 'Agent!', expected: 'agent' },
    {
      name: `${MAX_EXTRA} courtesy words`,
      list: ['agent'],
      text: 'hi please yes ok now agent thanks',
      expected: 'agent',
    },
    {
      name: `${MAX_EXTRA + 1} courtesy words`,
      list: ['agent'],
      text: 'hi please yes ok now just agent thanks',
    },
    { name: 'a word that is not courtesy', list: ['agent'], text: 'secret agent' },
    {
      name: 'courtesy phrases tile the rest ("would like")',
      list: ['agent'],
      text: 'I would like the agent',
      expected: 'agent',
    },
    { name: '"like" alone is not courtesy', list: ['agent'], text: 'I like the agent' },
    {
      name: 'the last clause counts',
      list: ['agent'],
      text: 'I am a travel agent. Agent please',
      expected: 'agent',
    },
    {
      name: 'an earlier clause alone does not',
      list: ['agent'],
      text: 'Agent please. I am a travel agent',
    },
    { name: 'no word forms for single words', list: ['agent'], text: 'agents' },
    {
      name: 'an entry with one content word is a single word',
      list: ['an agent'],
      text: 'I am an agent',
    },
    {
      name: 'it matches nearly whole messages',
      list: ['an agent'],
      text: 'agent please',
      expected: 'an agent',
    },
    {
      name: 'prefix single word',
      list: ['rimbors*'],
      text: 'rimborso per favore',
      expected: 'rimbors*',
    },
    {
      name: 'prefix single word in a sentence',
      list: ['rimbors*'],
      text: 'il rimborso del mio ordine',
    },
    {
      name: 'digits and "_" are part of words',
      list: ['agent', 'human'],
      text: 'agent007 human_resources',
    },
    { name: 'letters of any script are words', list: ['agent'], text: 'éagent agentñ' },
    { name: 'Cyrillic', list: ['оператор'], text: 'ОПЕРАТОР!', expected: 'оператор' },
    { name: 'Cyrillic, inside a word', list: ['оператор'], text: 'операторы' },
    // negations and what-someone-is
    { name: 'negated', list: ['talk to a human'], text: 'I do not want to talk to a human' },
    {
      name: 'not negated in an earlier clause',
      list: ['talk to a human'],
      text: 'not now, talk to a human',
      expected: 'talk to a human',
    },
    {
      name: '"not" + "know" is not a refusal',
      list: ['talk to a human'],
      text: 'I do not know how to talk to a human',
      expected: 'talk to a human',
    },
    {
      name: '"could not" is not a refusal',
      list: ['talk to a human'],
      text: 'I could not talk to a human',
      expected: 'talk to a human',
    },
    {
      name: '"why" voids a negation',
      list: ['talk to a human'],
      text: "why won't you let me talk to a human",
      expected: 'talk to a human',
    },
    { name: '"no" right before', list: ['live agent'], text: 'no live agent' },
    {
      name: 'clause-initial "no" is an answer',
      list: ['live agent'],
      text: 'no I want a live agent',
      expected: 'live agent',
    },
    { name: '"no" inside the clause', list: ['live agent'], text: 'there is no live agent' },
    { name: '"no need"', list: ['live agent'], text: 'no need for a live agent' },
    { name: 'identity question', list: ['real person'], text: 'are you a real person' },
    {
      name: 'not an identity question',
      list: ['real person'],
      text: 'are you able to find me a real person',
      expected: 'real person',
    },
    {
      name: 'a thing, not a person',
      list: ['talk to a human'],
      text: 'talk to a human resources manager',
    },
    { name: 'refused in the next clause', list: ['live agent'], text: 'live agent? no thanks' },
    {
      name: 'the next clause is more than a refusal',
      list: ['live agent'],
      text: 'live agent! no bots',
      expected: 'live agent',
    },
    // the list
    {
      name: 'list order wins, not text order',
      list: ['real person', 'live agent'],
      text: 'live agent or real person',
      expected: 'real person',
    },
    {
      name: 'a phrase before a single word',
      list: ['talk to a human', 'human'],
      text: 'talk to a human',
      expected: 'talk to a human',
    },
    {
      name: 'a single word before a phrase',
      list: ['human', 'talk to a human'],
      text: 'talk to a human',
      expected: 'human',
    },
    {
      name: 'entries are returned as written',
      list: ['Talk To A Human'],
      text: 'TALK TO A HUMAN',
      expected: 'Talk To A Human',
    },
    { name: 'entries of fillers only never match', list: ['to a', 'the', ''], text: 'to a the' },
    { name: 'empty list', list: [], text: 'human' },
    { name: 'empty text', list: ['human'], text: '' },
    { name: 'no text', list: ['human'], text: undefined },
    { name: 'emoji and punctuation only', list: ['human'], text: '🙏 ?! …' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.text)} with ${JSON.stringify(c.list)} → ${String(c.expected)}`, () => {
      expect(matchPhrase(c.text, c.list)).to.equal(c.expected);
    });
  }

  it(`allows ${MAX_GAP} fillers between two words, not ${MAX_GAP + 1}`, () => {
    const fillers = ['to', 'a', 'the', 'with', 'some'];
    const gap = (n: number) => ['talk', ...fillers.slice(0, n), 'human'].join(' ');
    expect(matchPhrase(gap(MAX_GAP), ['talk human'])).to.equal('talk human');
    expect(matchPhrase(gap(MAX_GAP + 1), ['talk human'])).to.equal(undefined);
  });

  it('finds a phrase at the end of a very long message', () => {
    const text = `${'blah '.repeat(20_000)}talk to a human`;
    expect(matchPhrase(text, ['talk to a human', 'human'])).to.equal('talk to a human');
  });
});

describe('compilePhrases', () => {
  it('compiles an array once and reuses it', () => {
    const list = ['talk to a human'];
    const first = compilePhrases(list);
    expect(first).to.be.instanceOf(PhraseMatcher);
    expect(compilePhrases(list)).to.equal(first);
  });

  it('compiles again when the array was changed', () => {
    const list = ['talk to a human'];
    expect(matchPhrase('live agent', list)).to.equal(undefined);
    list.push('live agent');
    expect(matchPhrase('live agent', list)).to.equal('live agent');
    list[1] = 'real person';
    expect(matchPhrase('live agent', list)).to.equal(undefined);
    expect(matchPhrase('real person', list)).to.equal('real person');
  });

  it('takes a compiled matcher as it is', () => {
    const matcher = new PhraseMatcher(['live agent']);
    expect(compilePhrases(matcher)).to.equal(matcher);
    expect(matchPhrase('a live agent please', matcher)).to.equal('live agent');
    expect(matcher.source).to.deep.equal(['live agent']);
  });

  it('does not keep a reference to the array it compiled', () => {
    const list = ['live agent'];
    const matcher = new PhraseMatcher(list);
    list[0] = 'real person';
    expect(matcher.match('live agent')).to.equal('live agent');
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
