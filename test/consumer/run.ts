/**
 * `npm run test:consumer`: the package as a user gets it (issue 10, items 1–2).
 *
 *  1. build, `npm pack`, inspect the tarball (files, LICENSE, exports, declarations free of zod,
 *     source maps that resolve), `npm publish --dry-run`;
 *  2. scratch projects outside the repository, one per botbuilder version at the ends of the
 *     peer range, with the tarball, restify, Express and TypeScript at both ends of its range;
 *  3. strict consumer compiles (no skipLibCheck) of the README's TypeScript bot: every TypeScript
 *     × botbuilder pair as ESM, and each TypeScript once as CommonJS;
 *  4. the README's bots as processes through one handoff and a SIGTERM that must exit with 0:
 *     the CommonJS restify bot on both botbuilder versions, the TypeScript Express bot (ESM) on
 *     the newest;
 *  5. our own unit and integration tests against the oldest botbuilder.
 *
 * Prints the time of each step. CONSUMER_KEEP=1 keeps the scratch directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CompileCell, compileCell } from './compile';
import { driveBot } from './drive-bot';
import { testAgainst } from './oldest';
import { createScratch, readVersions, tsAlias } from './scratch';
import { mustRun, NPM, run } from './shell';
import { inspect, pack, publishDryRun } from './tarball';

const REPO = resolve(__dirname, '..', '..');

interface Timing {
  step: string;
  ms: number;
  ok: boolean;
}

const timings: Timing[] = [];
const failures: string[] = [];

async function step<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  const started = Date.now();
  process.stdout.write(`▶ ${name}\n`);
  try {
    const value = await fn();
    timings.push({ step: name, ms: Date.now() - started, ok: true });
    process.stdout.write(`  ✔ ${name} (${seconds(Date.now() - started)})\n`);
    return value;
  } catch (err) {
    timings.push({ step: name, ms: Date.now() - started, ok: false });
    const message = err instanceof Error ? err.message : String(err);
    failures.push(`${name}: ${message}`);
    process.stdout.write(`  ✘ ${name} (${seconds(Date.now() - started)})\n${indent(message)}\n`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const versions = readVersions(REPO);
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const root = mkdtempSync(join(tmpdir(), 'botbuilder-tiledesk-consumer-'));
  console.log(`scratch: ${root}`);
  console.log(
    `botbuilder ${versions.botbuilder.oldest} and ${versions.botbuilder.newest}; ` +
      `TypeScript ${versions.typescript.oldest} and ${versions.typescript.newest}`,
  );
  try {
    await step('build', () => mustRun(NPM, ['run', 'build'], { cwd: REPO, timeoutMs: 180_000 }));
    const packed = await step('npm pack + inspect the tarball', async () => {
      const p = await pack(REPO, root);
      const problems = inspect(p);
      console.log(
        `  ${p.files.length} files, ${kb(p.packedBytes)} packed, ${kb(p.unpackedBytes)} unpacked: ` +
          `${p.files.filter((f) => !f.startsWith('dist/')).join(', ')} + dist/`,
      );
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return p;
    });
    await step('npm publish --dry-run', async () => {
      const problems = await publishDryRun(REPO);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    });
    if (!packed) return;

    const scratch = new Map<string, string>();
    for (const bb of [versions.botbuilder.newest, versions.botbuilder.oldest]) {
      const dir = await step(`npm install (botbuilder ${bb}, tarball, restify, Express, TS)`, () =>
        createScratch(root, bb, packed.tarball, versions, readme),
      );
      if (dir) scratch.set(bb, dir);
    }

    // Every TypeScript × botbuilder pair as ESM (module node16: package.json "exports"); each
    // TypeScript once as CommonJS: 5.0 with node10 resolution (reads "types", as Microsoft's
    // TypeScript samples compile), 6.0 with its default.
    const { botbuilder: bb, typescript: ts } = versions;
    const esm = (t: string): CompileCell => ({
      typescript: t,
      config: 'tsconfig.json',
      label: 'ESM, module node16',
    });
    const cells: [string, CompileCell][] = [
      [bb.newest, esm(ts.oldest)],
      [bb.newest, esm(ts.newest)],
      [bb.oldest, esm(ts.oldest)],
      [bb.oldest, esm(ts.newest)],
      [
        bb.oldest,
        {
          typescript: ts.oldest,
          config: 'tsconfig.cjs.json',
          label: 'CommonJS, node10 resolution',
        },
      ],
      [bb.newest, { typescript: ts.newest, config: 'tsconfig.cjs6.json', label: 'CommonJS' }],
    ];
    for (const [botbuilder, cell] of cells) {
      const dir = scratch.get(botbuilder);
      if (!dir) continue;
      await step(`tsc ${cell.typescript} × botbuilder ${botbuilder} (${cell.label})`, async () => {
        const r = await compileCell(dir, cell);
        if (r.host.length > 0)
          console.log(`    in botbuilder's tree, not ours: ${r.host.join('; ')}`);
        if (r.ours.length > 0) throw new Error(r.ours.join('\n'));
      });
    }

    const newest = scratch.get(versions.botbuilder.newest);
    const oldest = scratch.get(versions.botbuilder.oldest);
    for (const [bb, dir] of [
      [versions.botbuilder.newest, newest],
      [versions.botbuilder.oldest, oldest],
    ] as const) {
      if (!dir) continue;
      await step(`CommonJS restify bot × botbuilder ${bb}: handoff, SIGTERM`, () =>
        driveBot({ name: 'cjs-restify', cwd: join(dir, 'cjs-restify'), args: ['index.js'] }),
      );
    }
    if (newest) {
      await step(
        `TypeScript Express bot (ESM) × botbuilder ${versions.botbuilder.newest}: handoff, SIGTERM`,
        async () => {
          // Emit only: the compile steps above did the checking (and botbuilder's own declarations
          // may make tsc exit non-zero; the bot's JavaScript is emitted regardless).
          const project = join(newest, 'ts-express');
          const tsc = join(
            newest,
            'node_modules',
            tsAlias(versions.typescript.newest),
            'bin',
            'tsc',
          );
          const emit = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noCheck'], {
            cwd: project,
            timeoutMs: 120_000,
          });
          if (!existsSync(join(project, 'dist', 'index.js'))) {
            throw new Error(`tsc emitted no dist/index.js:\n${emit.output}`);
          }
          await driveBot({ name: 'ts-express', cwd: project, args: ['dist/index.js'] });
        },
      );
    }

    if (oldest) {
      await step(`our tests against botbuilder ${versions.botbuilder.oldest}`, async () => {
        const r = await testAgainst(
          REPO,
          join(root, 'repo-oldest'),
          join(oldest, 'node_modules', 'botbuilder'),
          versions.botbuilder.oldest,
        );
        console.log(`    botbuilder ${r.version}: lib type-checks; ${r.summary}`);
      });
    }
  } finally {
    if (process.env['CONSUMER_KEEP'] === '1') console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
    console.log('\nstep times:');
    for (const t of timings)
      console.log(`  ${t.ok ? '✔' : '✘'} ${seconds(t.ms).padStart(7)}  ${t.step}`);
    console.log(`  total ${seconds(Date.now() - started)}`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}

main().then(
  () => {
    if (failures.length > 0) {
      console.error(`\n${failures.length} consumer check(s) failed.`);
      process.exit(1);
    }
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
