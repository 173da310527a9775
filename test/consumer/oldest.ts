import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from './shell';

/**
 * Our own tests against another botbuilder: a copy of the repository (sources and tests, no
 * node_modules) whose node_modules is a farm of links to ours, except `botbuilder`, which links
 * to a scratch project's copy. Node resolves a link to its real path, so botbuilder's own
 * dependencies (botbuilder-core, botframework-connector…) come from that scratch project: the
 * whole Bot Framework tree is the old one, everything else is ours. No second `npm ci`.
 */

/**
 * Everything that runs on botbuilder alone. Left out: the tests built on botbuilder-azure-blobs
 * (a dev dependency pinned to 4.23.3 that brings its own botbuilder-core, so they would not test
 * the old botbuilder anyway), the simulation (no Bot Framework code; long) and the web demo's
 * browser test (it tests the page and Web Chat; sample.test.ts runs the same sample bot here).
 */
const SPEC = [
  'test/unit/**/*.test.ts',
  'test/integration/**/*.test.ts',
  'test/support/**/*.test.ts',
];
const IGNORE = [
  'test/unit/versioned-storage.test.ts',
  'test/integration/multi-process.test.ts',
  'test/integration/sample-storage.test.ts',
  'test/integration/web-demo.test.ts',
];

export interface OldestResult {
  version: string;
  summary: string;
}

export async function testAgainst(
  repo: string,
  dir: string,
  botbuilderDir: string,
  expected: string,
): Promise<OldestResult> {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['lib', 'test', 'samples', 'package.json', 'tsconfig.json', 'README.md']) {
    cpSync(join(repo, entry), join(dir, entry), { recursive: true });
  }
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name === 'botbuilder') continue;
    symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  }
  symlinkSync(botbuilderDir, join(modules, 'botbuilder'));
  writeFileSync(
    join(dir, '.mocharc.json'),
    JSON.stringify({
      require: ['tsx/cjs'],
      extension: ['ts'],
      spec: SPEC,
      ignore: IGNORE,
      timeout: 10_000,
      exit: true,
    }),
  );
  // Our lib type-checks against the old botbuilder's declarations (an API added later fails).
  writeFileSync(
    join(dir, 'tsconfig.lib.json'),
    JSON.stringify({ extends: './tsconfig.json', include: ['lib'] }),
  );

  const node = process.execPath;
  const version = (
    await mustRun(node, ['-p', "require('botbuilder/package.json').version"], {
      cwd: dir,
      timeoutMs: 30_000,
    })
  ).stdout.trim();
  if (version !== expected) {
    throw new Error(`the copy resolves botbuilder ${version}, expected ${expected}`);
  }
  await mustRun(
    node,
    [join(modules, 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.lib.json'],
    {
      cwd: dir,
      timeoutMs: 180_000,
    },
  );
  const mocha = await mustRun(node, [join(modules, 'mocha', 'bin', 'mocha.js')], {
    cwd: dir,
    timeoutMs: 300_000,
  });
  const summary = /(\d+ passing[^\n]*)/.exec(mocha.output)?.[1] ?? 'passed';
  return { version, summary };
}
