import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { run } from './shell';
import { tsAlias } from './scratch';

/**
 * A strict consumer compile (no `skipLibCheck`) of the README's TypeScript bot against the
 * installed tarball. Every error is attributed: to us (the bot's own code, our declarations, or a
 * package only we bring, such as zod), or to the host (botbuilder's dependency tree, @types/*),
 * whose declarations do not all compile on every TypeScript version with or without us (see
 * README, "Supported versions"). Only ours fail the check; the host's are listed.
 */

export interface CompileCell {
  typescript: string;
  /** Which tsconfig of the ts-express bot. */
  config: 'tsconfig.json' | 'tsconfig.cjs.json' | 'tsconfig.cjs6.json';
  label: string;
}

export interface CompileResult {
  ours: string[];
  /** Host errors by package: `name: count (codes)`. */
  host: string[];
  ms: number;
}

interface TscError {
  file: string;
  line: string;
}

export async function compileCell(scratch: string, cell: CompileCell): Promise<CompileResult> {
  const project = join(scratch, 'ts-express');
  const tsc = join(scratch, 'node_modules', tsAlias(cell.typescript), 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', cell.config, '--pretty', 'false'], {
    cwd: project,
    timeoutMs: 180_000,
  });
  const errors = parseErrors(result.output, project);
  if (result.code !== 0 && errors.length === 0) {
    return {
      ours: [`tsc ended with ${result.code ?? result.signal}:\n${result.output}`],
      host: [],
      ms: result.ms,
    };
  }
  const owner = ownership(scratch);
  const ours: string[] = [];
  const host = new Map<string, { count: number; codes: Set<string> }>();
  for (const e of errors) {
    const who = owner(e.file);
    if (who.ours) {
      ours.push(e.line);
    } else {
      const entry = host.get(who.pkg) ?? { count: 0, codes: new Set<string>() };
      entry.count++;
      entry.codes.add(/error (TS\d+)/.exec(e.line)?.[1] ?? '?');
      host.set(who.pkg, entry);
    }
  }
  return {
    ours,
    host: [...host].map(([pkg, h]) => `${pkg}: ${h.count} (${[...h.codes].join(', ')})`),
    ms: result.ms,
  };
}

/** `file(line,col): error TSxxxx: message`; continuation lines belong to the previous error. */
function parseErrors(output: string, cwd: string): TscError[] {
  const out: TscError[] = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\(\d+,\d+\): error TS\d+:/.exec(line);
    if (m) out.push({ file: resolve(cwd, m[1]!), line });
    else if (/^error TS\d+:/.test(line) || /^\S+: error TS\d+:/.test(line)) {
      out.push({ file: cwd, line }); // a config or global error: the project's own
    }
  }
  return out;
}

/**
 * Who a file belongs to. Ours: outside node_modules (the bot), under our package, or under a
 * package in our dependency closure that the host's closure (botbuilder, express, @types/node…)
 * does not have.
 */
function ownership(scratch: string): (file: string) => { ours: boolean; pkg: string } {
  const modules = join(scratch, 'node_modules');
  const ourRoot = realpathSync(join(modules, 'botbuilder-tiledesk'));
  const hostRoots = ['botbuilder', 'express', '@types/express', '@types/node', 'restify']
    .map((n) => join(modules, n))
    .filter((p) => existsSync(p));
  const hostClosure = closure(hostRoots);
  const ourOnly = new Set([...closure([ourRoot])].filter((p) => !hostClosure.has(p)));
  return (file) => {
    if (!file.startsWith(modules + sep)) return { ours: true, pkg: '(the bot)' };
    const pkgDir = packageDirOf(file);
    const real = realpathSync(pkgDir);
    const name = pkgDir.slice(pkgDir.lastIndexOf(`node_modules${sep}`) + 13);
    if (real.startsWith(ourRoot) || ourOnly.has(real)) return { ours: true, pkg: name };
    return { ours: false, pkg: name };
  };
}

/** `…/node_modules/<name>` or `…/node_modules/@scope/<name>` containing `file`. */
function packageDirOf(file: string): string {
  const marker = `node_modules${sep}`;
  const at = file.lastIndexOf(marker);
  const rest = file.slice(at + marker.length).split(sep);
  const name = rest[0]!.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
  return file.slice(0, at + marker.length) + name.join(sep);
}

/** Real paths of the packages reachable from `roots` through dependencies (Node resolution). */
function closure(roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = roots.map((r) => realpathSync(r));
  while (queue.length > 0) {
    const dir = queue.pop()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const found = resolvePackage(dir, name);
      if (found) queue.push(realpathSync(found));
    }
  }
  return seen;
}

function resolvePackage(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
