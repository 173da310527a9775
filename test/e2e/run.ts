/**
 * `npm run test:e2e [-- options]`: the end-to-end suite against a real Tiledesk.
 *
 *   --bootstrap            create the project, its secret, a department and an agent on a FRESH
 *                          self-hosted server first (TILEDESK_E2E_API_URL, default
 *                          http://127.0.0.1:3100); also runs the stand-in contract test there
 *   --identity <mode>      secret | anonymous | both (default: both when a project secret is known)
 *   --no-contract          with --bootstrap: skip the contract test
 *   --grep <regexp>        only the tests whose title matches
 *
 * Without --bootstrap the target comes from TILEDESK_E2E_* (see ./target.ts and the README).
 * Exit code: the number of failed tests (0 = all passed), 2 for a usage or settings error.
 */
import Mocha from 'mocha';
import { resolve } from 'node:path';
import { bootstrap } from './bootstrap';
import { setE2eContext } from './context';
import { Rest } from './rest';
import { ENV_HELP, type E2eTarget, type IdentityMode, targetFromEnv } from './target';

interface Args {
  bootstrap: boolean;
  identity: IdentityMode | 'both' | undefined;
  contract: boolean;
  grep: string | undefined;
}

const USAGE = `Usage: npm run test:e2e -- [--bootstrap] [--identity secret|anonymous|both] [--no-contract] [--grep <re>]

Without --bootstrap, the target comes from the environment:
${ENV_HELP.map(([k, v]) => `  ${k.padEnd(28)} ${v}`).join('\n')}
`;

function parseArgs(argv: string[]): Args {
  const args: Args = { bootstrap: false, identity: undefined, contract: true, grep: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bootstrap') args.bootstrap = true;
    else if (a === '--no-contract') args.contract = false;
    else if (a === '--identity') {
      const v = argv[++i];
      if (v !== 'secret' && v !== 'anonymous' && v !== 'both')
        throw new UsageError(`bad --identity ${v}`);
      args.identity = v;
    } else if (a === '--grep') args.grep = argv[++i];
    else if (a === '--help' || a === '-h') throw new UsageError('');
    else throw new UsageError(`unknown option ${a}`);
  }
  return args;
}

class UsageError extends Error {}

function modesFor(args: Args, target: E2eTarget): IdentityMode[] {
  if (args.identity === 'secret' || args.identity === 'anonymous') return [args.identity];
  if (target.projectSecret) return ['secret', 'anonymous'];
  if (args.identity === 'both')
    throw new Error('--identity both needs TILEDESK_E2E_PROJECT_SECRET');
  console.log('No TILEDESK_E2E_PROJECT_SECRET: only anonymous identities are tested.');
  return ['anonymous'];
}

/** Signs in as the admin once, to fail early with advice on the base URL. */
async function preflight(target: E2eTarget): Promise<void> {
  const rest = new Rest(target.apiUrl);
  let res;
  try {
    res = await rest.call('POST', '/auth/signin', { body: target.admin });
  } catch (err) {
    throw new Error(`Tiledesk is not reachable at ${target.apiUrl} (${(err as Error).message})`);
  }
  if (res.status === 200) {
    const probe = await rest.call('GET', `/${target.projectId}/requests/me`, {});
    if (probe.status !== 400) return; // 401 without a token: the project route exists
    throw new Error(
      `${target.apiUrl} does not know project ${target.projectId} (${JSON.stringify(probe.body)})`,
    );
  }
  throw new Error(`Signing in at ${target.apiUrl}/auth/signin answered ${res.status}.${hint(res)}`);
}

/** Advice for the usual mistakes: a wrong base URL prefix, or wrong credentials. */
export function hint(res: { status: number; body: unknown }): string {
  const error = (res.body as { error?: unknown } | undefined)?.error;
  const prefix =
    typeof error === 'string' ? /^Invalid project id: (.+)$/.exec(error)?.[1] : undefined;
  if (prefix !== undefined || res.status === 404) {
    return (
      ` The base URL looks wrong${prefix ? ` (the server took "${prefix}" for a project id)` : ''}: ` +
      'a bare self-hosted server serves the API at its root (no /v3), Tiledesk Cloud at ' +
      'https://api.tiledesk.com/v3, a server behind a reverse proxy at the path the proxy maps to it.'
    );
  }
  return res.status === 401 ? ' Check TILEDESK_E2E_ADMIN_EMAIL / TILEDESK_E2E_ADMIN_PASSWORD.' : '';
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  let target: E2eTarget;
  if (args.bootstrap) {
    const apiUrl = (process.env['TILEDESK_E2E_API_URL'] ?? 'http://127.0.0.1:3100').replace(
      /\/+$/,
      '',
    );
    target = await bootstrap(apiUrl, { label: 'e2e' });
    console.log(`Bootstrapped project ${target.projectId} on ${apiUrl} in ${Date.now() - t0} ms`);
    if (args.contract) process.env['TILEDESK_CONTRACT_URL'] = apiUrl;
  } else {
    target = targetFromEnv(process.env);
  }
  await preflight(target);
  const timings = new Map<string, number>();
  setE2eContext({ target, modes: modesFor(args, target), timings });

  const mocha = new Mocha({
    timeout: 60_000,
    reporter: 'spec',
    ...(args.grep ? { grep: args.grep } : {}),
  });
  mocha.addFile(resolve(__dirname, 'loop.e2e.ts'));
  mocha.addFile(resolve(__dirname, 'visibility.e2e.ts'));
  mocha.addFile(resolve(__dirname, 'content.e2e.ts'));
  if (args.bootstrap && args.contract) {
    mocha.addFile(resolve(__dirname, '..', 'contract', 'standin-contract.test.ts'));
  }
  const failures = await new Promise<number>((done) => mocha.run(done));
  for (const [name, ms] of timings) console.log(`  ${name}: ${(ms / 1000).toFixed(1)} s`);
  console.log(`test:e2e total ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failures} failure(s)`);
  return failures;
}

main().then(
  (failures) => process.exit(Math.min(failures, 100)),
  (err: unknown) => {
    if (err instanceof UsageError) {
      if (err.message) console.error(err.message);
      console.error(USAGE);
    } else {
      console.error(err instanceof Error ? err.message : err);
    }
    process.exit(2);
  },
);
