import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * A real Azure Blob Storage for tests: Azurite's blob service, in memory, on a free loopback port
 * (the port is picked by the OS and read from Azurite's own "listens on" line, so no race with
 * other processes). Every started server is killed when the test process exits, even when
 * `stop()` was never called (mocha runs with `exit: true`).
 */
export interface Azurite {
  /** Connection string for the emulator's well-known public development account. */
  connectionString: string;
  port: number;
  /** Closes the server gracefully, then kills the process; resolves once it is gone. */
  stop(): Promise<void>;
}

/** Azurite's documented development account (a public, well-known key, not a secret). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A container name nobody used before (3–63 lowercase letters, digits and hyphens). */
export function freshContainerName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Starts `azurite-blob` and resolves once it accepts TCP connections (about 1 s). */
export async function startAzurite(timeoutMs = 15_000): Promise<Azurite> {
  const main = require.resolve('azurite/dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [
      main,
      ...['--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--silent'],
      ...['--skipApiVersionCheck', '--loose', '--disableTelemetry'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const port = await listeningPort(child, exited, timeoutMs);
    await waitForConnection(port, timeoutMs);
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
    return { connectionString, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The port from Azurite's "successfully listens on http://127.0.0.1:<port>" line. */
function listeningPort(child: ChildProcess, exited: Promise<void>, timeoutMs: number) {
  return new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`azurite-blob did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on https?:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining stdout. Azurite lingers for seconds after closing its server (timers):
        // once it says it closed, nothing is left to lose, so it is killed right away.
        child.stdout?.on('data', (more: Buffer) => {
          if (more.toString().includes('successfully closed')) child.kill('SIGKILL');
        });
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`azurite-blob exited before listening:\n${output}`));
    });
  });
}

async function waitForConnection(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`azurite-blob not reachable on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
