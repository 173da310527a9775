import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Each entry point loads its own SDK only: a bot installs (and loads) just the one it uses. */
describe('entry points load one SDK each', function () {
  this.timeout(30_000);
  const loaded = (entry: string) => {
    const script = `require(${JSON.stringify(resolve(__dirname, '../../lib', entry))});
      const ks = Object.keys(require.cache);
      console.log(JSON.stringify({
        botbuilder: ks.some((k) => /node_modules[\\\\/]botbuilder/.test(k)),
        agents: ks.some((k) => /node_modules[\\\\/]@microsoft[\\\\/]agents-/.test(k)),
      }));`;
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as { botbuilder: boolean; agents: boolean };
  };

  it('botbuilder-tiledesk loads botbuilder and not the Agents SDK', () => {
    expect(loaded('index.ts')).to.deep.equal({ botbuilder: true, agents: false });
  });

  it('botbuilder-tiledesk/agents loads the Agents SDK and not botbuilder', () => {
    expect(loaded('agents.ts')).to.deep.equal({ botbuilder: false, agents: true });
  });
});
