import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { mustRun, NPM, run } from './shell';

/**
 * The packed tarball, checked the way a user would meet it: what it contains, what its type
 * declarations import, whether its source maps resolve, and whether `npm publish` accepts it.
 */

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Where it was unpacked (`<dir>/package`). */
  root: string;
  files: string[];
  packedBytes: number;
  unpackedBytes: number;
}

interface PackJson {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** `npm pack --ignore-scripts` (the caller has just built dist/), then unpacks it into `dir`. */
export async function pack(repo: string, dir: string): Promise<Packed> {
  const result = await mustRun(
    NPM,
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
    { cwd: repo, timeoutMs: 60_000 },
  );
  const [info] = JSON.parse(result.stdout) as PackJson[];
  if (!info) throw new Error(`npm pack printed no result:\n${result.output}`);
  const tarball = join(dir, info.filename);
  await mustRun('tar', ['-xzf', tarball, '-C', dir], { cwd: dir, timeoutMs: 30_000 });
  return {
    tarball,
    root: join(dir, 'package'),
    files: info.files.map((f) => f.path).sort(),
    packedBytes: info.size,
    unpackedBytes: info.unpackedSize,
  };
}

/** Every problem found in the unpacked tarball (empty: all good). */
export function inspect(p: Packed): string[] {
  const problems: string[] = [];
  const manifest = JSON.parse(readFileSync(join(p.root, 'package.json'), 'utf8')) as {
    main?: string;
    types?: string;
    exports?: Record<string, unknown>;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };

  // Only the built package: no tests, no TypeScript sources, no build leftovers.
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|js\.map|d\.ts))$/;
  for (const f of p.files) if (!allowed.test(f)) problems.push(`unexpected file in tarball: ${f}`);
  for (const f of ['LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts']) {
    if (!p.files.includes(f)) problems.push(`missing from tarball: ${f}`);
  }
  const license = existsSync(join(p.root, 'LICENSE'))
    ? readFileSync(join(p.root, 'LICENSE'), 'utf8')
    : '';
  if (!/^MIT License/.test(license) || !license.includes('botbuilder-tiledesk contributors')) {
    problems.push('LICENSE is not the MIT license of "botbuilder-tiledesk contributors"');
  }

  // Entry points named by package.json exist.
  const dot = manifest.exports?.['.'];
  const targets = [manifest.main, manifest.types];
  if (dot && typeof dot === 'object') targets.push(...Object.values(dot as object));
  else problems.push('package.json has no exports["."] object');
  if (dot && typeof dot === 'object' && Object.keys(dot)[0] !== 'types') {
    problems.push('exports["."]: "types" must come first (TypeScript picks the first match)');
  }
  for (const t of targets) {
    if (typeof t !== 'string' || !existsSync(join(p.root, t))) {
      problems.push(`package.json names a missing entry point: ${String(t)}`);
    }
  }

  // Type declarations import only what the package depends on, and never zod.
  const importable = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  for (const f of p.files.filter((x) => x.endsWith('.d.ts'))) {
    const text = readFileSync(join(p.root, f), 'utf8');
    for (const spec of moduleSpecifiers(text)) {
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      const name = packageName(spec);
      if (name === 'zod') problems.push(`${f} imports zod: public types must be self-contained`);
      else if (!importable.has(name)) problems.push(`${f} imports ${spec}, not a dependency`);
    }
  }

  // Every .js names a source map, and every map carries the sources it names.
  for (const f of p.files.filter((x) => x.endsWith('.js'))) {
    const text = readFileSync(join(p.root, f), 'utf8');
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (!url) {
      problems.push(`${f} has no sourceMappingURL`);
      continue;
    }
    const mapPath = join(p.root, dirname(f), url);
    if (!existsSync(mapPath)) {
      problems.push(`${f} names a missing source map ${url}`);
      continue;
    }
    const map = JSON.parse(readFileSync(mapPath, 'utf8')) as {
      sources?: string[];
      sourcesContent?: (string | null)[];
    };
    const sources = map.sources ?? [];
    sources.forEach((source, i) => {
      const inline = map.sourcesContent?.[i];
      const onDisk = existsSync(join(dirname(mapPath), source));
      if (!(typeof inline === 'string' && inline.length > 0) && !onDisk) {
        problems.push(
          `${relative(p.root, mapPath)}: source ${source} is neither inline nor shipped`,
        );
      }
    });
    if (sources.length === 0) problems.push(`${relative(p.root, mapPath)} names no source`);
  }
  return problems;
}

/** `from '…'`, `import('…')`, `require('…')` and `/// <reference types="…" />` specifiers. */
function moduleSpecifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /<reference\s+types=['"]([^'"]+)['"]/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * `npm publish --dry-run`: must succeed and warn about nothing but the missing login (a dry run
 * on a machine without npm credentials). Contacts no registry beyond what npm does for that.
 */
export async function publishDryRun(repo: string): Promise<string[]> {
  const result = await run(NPM, ['publish', '--dry-run', '--ignore-scripts'], {
    cwd: repo,
    timeoutMs: 90_000,
  });
  const problems: string[] = [];
  if (result.code !== 0) problems.push(`npm publish --dry-run failed:\n${result.output}`);
  for (const line of result.output.split('\n')) {
    if (/npm (warn|error)/i.test(line) && !/requires you to be logged in/.test(line)) {
      problems.push(`npm publish --dry-run: ${line.trim()}`);
    }
  }
  return problems;
}
