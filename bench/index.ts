/**
 * `npm run bench` — what does the Tiledesk middleware cost a bot? Figures measured side by side
 * in one process (ratios of interleaved variants are steady; absolute times drift between runs).
 * Sections 1–4 run our middleware on MemoryStorage and on BlobsStorage (botbuilder-azure-blobs)
 * against a fresh Azurite per section, and count its storage operations (counting-storage.ts):
 * on a turn's critical path, before the user gets a handoff notice or an agent message, and in
 * the background per mirrored message.
 *
 *   npm run bench                 full run (a few minutes on 2 cores)
 *   npm run bench -- --quick      a few dozen iterations per section (CI, ≈ 30 s)
 *   npm run bench -- --only=1,3   some sections only
 *
 * Prints one table per section and a summary (target / measured / met?), and writes
 * bench/results/latest.json. Not a test: it exits 0 whatever the figures are, and non-zero only
 * when a section could not run (or the mirrored messages failed verification).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { agentLatency } from './agent-latency';
import type { BenchOptions, SectionResult, TargetRow } from './common';
import { httpOverhead } from './http-overhead';
import { memory } from './memory';
import { renderTable } from './stats';
import { throughput } from './throughput';
import { turnOverhead } from './turn-overhead';

const SECTIONS: { n: number; name: string; run: (o: BenchOptions) => Promise<SectionResult> }[] = [
  { n: 1, name: 'turn overhead (in process)', run: turnOverhead },
  { n: 2, name: 'turn overhead (HTTP end to end)', run: httpOverhead },
  { n: 3, name: 'mirroring throughput', run: throughput },
  { n: 4, name: 'agent → user latency', run: agentLatency },
  { n: 5, name: 'memory per idle conversation', run: memory },
];

function parseArgs(argv: string[]): { quick: boolean; only: Set<number> | undefined } {
  let quick = false;
  let only: Set<number> | undefined;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) {
      only = new Set(
        arg
          .slice('--only='.length)
          .split(',')
          .map((s) => Number(s.trim())),
      );
      if ([...only].some((n) => !SECTIONS.some((s) => s.n === n))) {
        console.error(`--only takes section numbers from 1 to ${SECTIONS.length}`);
        process.exit(2);
      }
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench [-- --quick] [-- --only=1,2,3,4,5]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg} (try --help)`);
      process.exit(2);
    }
  }
  return { quick, only };
}

/** Which lib/ was measured: the commit, and whether lib/ had uncommitted changes. */
function libVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'lib').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + ${dirty} uncommitted file(s) in lib/` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  // The benchmark must never hang (CI runs the quick mode).
  const watchdog = setTimeout(
    () => {
      console.error('bench: watchdog fired, aborting');
      process.exit(3);
    },
    quick ? 120_000 : 600_000,
  );
  watchdog.unref();

  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGB: Math.round(os.totalmem() / 1024 ** 3),
    lib: libVersion(),
  };
  console.log(
    `botbuilder-tiledesk benchmark (${quick ? 'quick' : 'full'} mode)\n` +
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.os}, node ${machine.node}\n` +
      `lib: ${machine.lib}\n`,
  );

  const started = Date.now();
  const results: Record<string, unknown> = {};
  const targets: TargetRow[] = [];
  let failed = false;
  for (const section of SECTIONS) {
    if (only && !only.has(section.n)) continue;
    const t0 = Date.now();
    try {
      const r = await section.run({ quick });
      for (const table of r.tables) console.log(`${renderTable(table)}\n`);
      targets.push(...r.targets);
      if (r.data['verified'] === false) failed = true;
      results[`${section.n}`] = {
        name: section.name,
        seconds: (Date.now() - t0) / 1000,
        ...r.data,
      };
      console.log(`(section ${section.n} took ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch (err) {
      failed = true;
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.error(`section ${section.n} (${section.name}) failed: ${message}\n`);
      results[`${section.n}`] = { name: section.name, error: message };
      targets.push({
        section: `${section.n}`,
        target: section.name,
        measured: 'ERROR',
        met: false,
      });
    }
  }

  console.log(
    renderTable({
      title: 'Summary',
      headers: ['section', 'target', 'measured', 'met?'],
      rows: targets.map((t) => [
        t.section,
        t.target,
        t.measured,
        t.met === undefined ? '' : t.met ? 'yes' : 'NO',
      ]),
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(`\ntotal ${seconds.toFixed(1)} s`);

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  const json = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine,
    seconds,
    targets,
    sections: results,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results written to ${file}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
