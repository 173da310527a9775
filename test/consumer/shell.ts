import { spawn } from 'node:child_process';

/**
 * Child processes for the consumer test: every command has a time limit, its output is kept
 * (printed only when it fails), and nothing inherits the developer's Tiledesk settings.
 */

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved as they came. */
  output: string;
  stdout: string;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  timeoutMs: number;
  env?: Record<string, string>;
}

/**
 * The environment of a child: PATH, HOME, TMPDIR and where npm's cache, registry and user config
 * are, plus `extra`. Not the other `npm_config_*` that `npm run` sets (`local_prefix` would point
 * a nested npm at this repository).
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  const keepNpm = ['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (keep.includes(key) || keepNpm.includes(key.toLowerCase()))) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** Runs `command args` and resolves with how it ended; SIGKILLs it after `timeoutMs`. */
export function run(command: string, args: string[], o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    const stdout: string[] = [];
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c.toString());
      stdout.push(c.toString());
    });
    child.stderr.on('data', (c: Buffer) => chunks.push(c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const output = chunks.join('');
      resolve({
        code,
        signal,
        output: timedOut ? `${output}\n[killed after ${o.timeoutMs} ms]` : output,
        stdout: stdout.join(''),
        ms: Date.now() - started,
      });
    });
  });
}

/** Like `run`, but throws (with the output) unless the command exits with 0. */
export async function mustRun(command: string, args: string[], o: RunOptions): Promise<RunResult> {
  const result = await run(command, args, o);
  if (result.code !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${o.cwd} ended with ${result.code ?? result.signal}:\n` +
        result.output,
    );
  }
  return result;
}

export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
