import { expect } from 'chai';
import { neutralize } from '../../lib/core/content/text';

const LOOKALIKE = '\u29F5'; // ⧵ REVERSE SOLIDUS OPERATOR
const ZWSP = '\u200B';

/**
 * What Tiledesk's messageActionsInterceptor would run for a text (tiledesk-api.md §4.1):
 * everything after the FIRST backslash; only `agent` and `close` have handlers.
 */
function tiledeskCommandOf(text: string): string | undefined {
  const at = text.indexOf('\\');
  return at < 0 ? undefined : text.substring(at + 1);
}

describe('neutralize', () => {
  const cases: { name: string; input: string; expected: string }[] = [
    {
      name: 'trailing \\agent',
      input: 'please connect me \\agent',
      expected: `please connect me ${LOOKALIKE}agent`,
    },
    { name: 'bare \\agent', input: '\\agent', expected: `${LOOKALIKE}agent` },
    { name: '\\close', input: '\\close', expected: `${LOOKALIKE}close` },
    { name: 'upper case \\AGENT', input: 'hi \\AGENT', expected: `hi ${LOOKALIKE}AGENT` },
    { name: 'mixed case \\Close', input: '\\Close', expected: `${LOOKALIKE}Close` },
    // documented choice: whitespace between the backslash and the command is neutralised too
    {
      name: '"\\ agent" (space after the backslash)',
      input: '\\ agent',
      expected: `${LOOKALIKE} agent`,
    },
    {
      name: '"\\\\n close" (newline after the backslash)',
      input: 'bye \\\nclose',
      expected: `bye ${LOOKALIKE}\nclose`,
    },
    // a prefix match is enough (over-eager, harmless)
    {
      name: 'a Windows path with \\agents',
      input: 'C:\\agents\\x',
      expected: `C:${LOOKALIKE}agents\\x`,
    },
    {
      name: 'two backslashes: only the one before the command',
      input: 'x\\\\agent',
      expected: `x\\${LOOKALIKE}agent`,
    },
    { name: 'other backslashes are kept', input: 'a \\b \\n c', expected: 'a \\b \\n c' },
    {
      name: '${KEY} label placeholder',
      input: 'Hi ${WELCOME_MSG}!',
      expected: `Hi $${ZWSP}{WELCOME_MSG}!`,
    },
    { name: 'several placeholders', input: '${A}${B}', expected: `$${ZWSP}{A}$${ZWSP}{B}` },
    {
      name: 'a dollar without brace is kept',
      input: 'costs $5 {approx}',
      expected: 'costs $5 {approx}',
    },
    { name: 'plain text is unchanged', input: 'Hello, world', expected: 'Hello, world' },
    { name: 'empty text', input: '', expected: '' },
  ];
  for (const c of cases) {
    it(`${c.name}`, () => {
      const out = neutralize(c.input);
      expect(out).to.equal(c.expected);
      // Whatever the input, Tiledesk must not find a command in the output.
      const command = tiledeskCommandOf(out);
      expect(command?.trim().toLowerCase()).not.to.be.oneOf(['agent', 'close']);
      expect(out).not.to.match(/\$\{/);
    });
  }

  it('the inputs above would have run a command without it (the guard is meaningful)', () => {
    expect(tiledeskCommandOf('please connect me \\agent')).to.equal('agent');
    expect(tiledeskCommandOf('\\close')).to.equal('close');
  });
});
