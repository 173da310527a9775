import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, mustRun, NPM } from './shell';

/**
 * Scratch bots outside the repository: one npm project per botbuilder version, holding the
 * packed tarball, botbuilder, restify, Express and both TypeScript versions, and the two bots
 * whose code is copied from the README's quick start.
 */

export interface Versions {
  /** From package.json: the floor of the peer range, and the dev dependency. */
  botbuilder: { oldest: string; newest: string };
  /** The oldest TypeScript the README promises, and the dev dependency. */
  typescript: { oldest: string; newest: string };
  /** What the scratch bots install beside botbuilder (pinned: npm picks the newest otherwise). */
  host: Record<string, string>;
  hostDev: Record<string, string>;
}

export const OLDEST_TYPESCRIPT = '5.0.4';

export function readVersions(repo: string): Versions {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const range = pkg.peerDependencies['botbuilder'] ?? '';
  const floor = /^>=\s*(\d+\.\d+\.\d+)\s+<\s*\d+$/.exec(range)?.[1];
  if (!floor) throw new Error(`peerDependencies.botbuilder is not ">=x.y.z <N": ${range}`);
  const dev = (name: string) => {
    const v = pkg.devDependencies[name];
    if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`devDependencies.${name} is not pinned`);
    return v;
  };
  return {
    botbuilder: { oldest: floor, newest: dev('botbuilder') },
    typescript: { oldest: OLDEST_TYPESCRIPT, newest: dev('typescript') },
    host: { restify: dev('restify'), express: '5.3.0' },
    hostDev: { '@types/express': '5.0.6', '@types/node': dev('@types/node') },
  };
}

/** The npm alias under which a TypeScript version is installed in a scratch project. */
export function tsAlias(version: string): string {
  return `typescript-${version}`;
}

/** The README's fenced blocks marked `<!-- test/consumer: <path> -->`, by path. */
export function readmeSnippets(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- test\/consumer: (\S+) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g;
  for (const m of readme.matchAll(re)) out.set(m[1]!, `${m[2]!}\n`);
  return out;
}

export const BOTS = {
  /** CommonJS JavaScript on restify, run as is with `node index.js`. */
  cjsRestify: 'cjs-restify/index.js',
  /** TypeScript on Express, compiled to an ES module and run from `dist/index.js`. */
  tsExpress: 'ts-express/index.ts',
} as const;

/**
 * Creates `<root>/bb-<version>` with its dependencies installed and the README's bots written.
 * `npm install --prefer-offline`: the npm cache answers when it can, so a warm CI machine does
 * not download the ~150 MB of botbuilder's tree again.
 */
export async function createScratch(
  root: string,
  botbuilder: string,
  tarball: string,
  v: Versions,
  readme: string,
): Promise<string> {
  const dir = join(root, `bb-${botbuilder}`);
  mkdirSync(dir, { recursive: true });
  const ts = (version: string) => [tsAlias(version), `npm:typescript@${version}`];
  writeJson(join(dir, 'package.json'), {
    name: `consumer-bb-${botbuilder}`,
    private: true,
    dependencies: { 'botbuilder-tiledesk': `file:${tarball}`, botbuilder, ...v.host },
    devDependencies: {
      ...v.hostDev,
      ...Object.fromEntries([ts(v.typescript.oldest), ts(v.typescript.newest)]),
    },
  });
  await mustRun(
    NPM,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: dir, timeoutMs: 300_000, env: childEnv() },
  );
  writeBots(dir, readme);
  return dir;
}

function writeBots(dir: string, readme: string): void {
  const snippets = readmeSnippets(readme);
  for (const path of Object.values(BOTS)) {
    const code = snippets.get(path);
    if (!code) throw new Error(`README.md has no block marked <!-- test/consumer: ${path} -->`);
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), code);
  }
  writeJson(join(dir, 'cjs-restify', 'package.json'), { type: 'commonjs' });
  writeJson(join(dir, 'ts-express', 'package.json'), { type: 'module' });
  const strict = {
    target: 'ES2022',
    strict: true,
    esModuleInterop: true, // botbuilder's own declarations default-import `ws`
    skipLibCheck: false,
    types: ['node'],
  };
  // ESM: what the bot runs as (module node16 also resolves through package.json "exports").
  writeJson(join(dir, 'ts-express', 'tsconfig.json'), {
    compilerOptions: { ...strict, module: 'node16', outDir: 'dist' },
    files: ['index.ts'],
  });
  // CommonJS, as Microsoft's TypeScript samples compile (node10 resolution reads "types").
  writeJson(join(dir, 'ts-express', 'tsconfig.cjs.json'), {
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node', noEmit: true },
    files: ['index.ts'],
  });
  // TypeScript 6 deprecates node10 resolution; its default for CommonJS output is used there.
  writeJson(join(dir, 'ts-express', 'tsconfig.cjs6.json'), {
    compilerOptions: { ...strict, module: 'commonjs', noEmit: true },
    files: ['index.ts'],
  });
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
