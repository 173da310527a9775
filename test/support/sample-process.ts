import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';

/**
 * The sample bot (`samples/handoff-bot/index.ts`) as a real operating-system process, for
 * multi-process tests: spawned with `node --import tsx` and an explicit environment (nothing
 * inherited but PATH/HOME/TMPDIR, so a developer's Tiledesk settings never leak in), ready once it
 * prints its "Bot listening on <url>" line AND its port accepts connections. Every process
 * started here is SIGKILLed when the test process exits, even if a test never stopped it.
 */
export interface SampleProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly messagesUrl: string;
  readonly webhookUrl: string;
  /** Everything the process wrote (stdout and stderr, in arrival order). */
  readonly output: string[];
  /** Resolves when the process has exited (how, and when: `Date.now()`). */
  readonly exited: Promise<SampleExit>;
  readonly alive: boolean;
  /** Sends `signal` (SIGKILL for a crash, SIGTERM for a graceful stop). */
  kill(signal: NodeJS.Signals): void;
  /** SIGKILL if still running; resolves once it is gone. */
  stop(): Promise<void>;
}

export interface SampleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface SampleProcessOptions {
  /** For log lines and error messages (`A`, `B`). */
  name: string;
  /** The sample's settings (Tiledesk*, BlobsStorage*, TILEDESK_TEST_*); PORT defaults to 0. */
  env: Record<string, string>;
  /** Default 30 s (two cold starts of botbuilder + tsx on 2 cores take about 5 s). */
  readyTimeoutMs?: number;
  /** The sample to run (default the botbuilder sample, `samples/handoff-bot/index.ts`). */
  entry?: string;
  /** Echo the process's output to this process's stderr as it comes (debugging). */
  echo?: boolean;
}

const ROOT = resolve(__dirname, '..', '..');
const DEFAULT_ENTRY = 'samples/handoff-bot/index.ts';
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Pids of sample processes started by this module and still running (leak checks). */
export function runningSamplePids(): number[] {
  return [...running].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

export async function startSampleProcess(o: SampleProcessOptions): Promise<SampleProcess> {
  const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', ...o.env };
  for (const key of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(
    process.execPath,
    ['--disable-warning=DEP0111', '--import', 'tsx', o.entry ?? DEFAULT_ENTRY],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) throw new Error(`sample ${o.name} did not start`);
  running.add(child);
  const output: string[] = [];
  const exited = new Promise<SampleExit>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal, at: Date.now() });
    }),
  );
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    output.push(text);
    if (o.echo) process.stderr.write(text.replace(/^/gm, `[${o.name}] `));
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const url = await listeningUrl(o.name, output, exited, o.readyTimeoutMs ?? 30_000);
    await waitForPort(Number(new URL(url).port), 5_000);
    return {
      name: o.name,
      pid: child.pid,
      url,
      messagesUrl: `${url}/api/messages`,
      webhookUrl: `${url}/api/tiledesk`,
      output,
      exited,
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
      kill: (signal) => {
        child.kill(signal);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The URL from the sample's "Bot (or Agent) listening on http://127.0.0.1:<port>: …" line. */
async function listeningUrl(
  name: string,
  output: string[],
  exited: Promise<SampleExit>,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let gone: SampleExit | undefined;
  void exited.then((e) => (gone = e));
  for (;;) {
    const match = /(?:Bot|Agent) listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(''));
    if (match) return match[1]!;
    if (gone) {
      throw new Error(
        `sample ${name} exited (${gone.code ?? gone.signal}) before listening:\n${output.join('')}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`sample ${name} not ready in ${timeoutMs} ms:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), done(true)));
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not reachable`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
