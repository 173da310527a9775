/**
 * Runs a piece of the benchmark's world (the Tiledesk stand-in, the fake channel) in a worker
 * thread, so that its CPU does not run on the bot's thread: Tiledesk and the channel are other
 * machines. On 2 cores the bot keeps one core to itself. The main thread calls the worker's
 * methods by message; results and arguments must be structured-cloneable.
 *
 * A hosted module exports `serveInWorker(options)`, which starts its service and returns
 * `{ info, methods }`; `startWorker(modulePath, options)` loads it in a worker and returns a
 * client with the info and a typed `call`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// Arguments and results cross a thread boundary: `never[]` parameters accept any method.
export type Methods = Record<string, (...args: never[]) => unknown>;

interface Call {
  id: number;
  method: string;
  args: unknown[];
}
type Reply = { id: number; result: unknown } | { id: number; error: string };

export class WorkerClient<I, M extends Methods> {
  private nextId = 0;
  private readonly pending = new Map<number, { ok(v: unknown): void; fail(e: Error): void }>();

  constructor(
    private readonly worker: Worker,
    readonly info: I,
  ) {
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if ('error' in m) p?.fail(new Error(`worker: ${m.error}`));
      else p?.ok(m.result);
    });
    worker.on('error', (e) => {
      for (const p of this.pending.values()) p.fail(e);
      this.pending.clear();
    });
  }

  call<K extends keyof M & string>(
    method: K,
    ...args: Parameters<M[K]>
  ): Promise<Awaited<ReturnType<M[K]>>> {
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok: ok as (v: unknown) => void, fail });
      this.worker.postMessage({ id, method, args } satisfies Call);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

export async function startWorker<I, M extends Methods>(
  modulePath: string,
  options: unknown,
): Promise<WorkerClient<I, M>> {
  const code =
    `require(${JSON.stringify(require.resolve('tsx/cjs'))});` +
    `require(${JSON.stringify(__filename)});`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { benchModule: modulePath, options },
  });
  const info = await new Promise<I>((resolve, reject) => {
    worker.once('message', (m: { info: I }) => resolve(m.info));
    worker.once('error', reject);
  });
  return new WorkerClient<I, M>(worker, info);
}

// ---- worker side -------------------------------------------------------------------------

interface Hosted {
  serveInWorker(options: unknown): Promise<{ info: unknown; methods: Methods }>;
}

function isCall(m: unknown): m is Call {
  return typeof m === 'object' && m !== null && 'method' in m && 'id' in m && 'args' in m;
}

async function workerMain(modulePath: string, options: unknown): Promise<void> {
  const hosted = require(modulePath) as Hosted;
  const { info, methods } = await hosted.serveInWorker(options);
  const port = parentPort!;
  port.postMessage({ info });
  port.on('message', (m: unknown) => {
    if (!isCall(m)) return;
    const fn = methods[m.method] as ((...a: unknown[]) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!fn) throw new Error(`no method ${m.method}`);
        return fn(...m.args);
      })
      .then(
        (result) => port.postMessage({ id: m.id, result } satisfies Reply),
        (err: unknown) => port.postMessage({ id: m.id, error: String(err) } satisfies Reply),
      );
  });
}

const data = workerData as { benchModule?: string; options?: unknown } | null;
if (!isMainThread && data?.benchModule) void workerMain(data.benchModule, data.options);
