/**
 * The Tiledesk stand-in (test/support/tiledesk-standin) hosted in a worker thread (see
 * worker-rpc.ts): its CPU (JWT checks, request documents, webhook deliveries) must not run on the
 * bot's thread, where it would be counted against the middleware and slow the ceiling down.
 */
import type { StandInOptions, StandInSubscription } from '../test/support/tiledesk-standin';
import { startWorker, type WorkerClient } from './worker-rpc';

export interface StandInInfo {
  url: string;
  projectId: string;
  projectSecret: string;
  admin: { email: string; password: string };
}

/** Worker side: starts the stand-in and says what the main thread may ask of it. */
export async function serveInWorker(options: StandInOptions) {
  // Loaded in the worker only.
  const { TiledeskStandIn } =
    require('../test/support/tiledesk-standin') as typeof import('../test/support/tiledesk-standin');
  const standin = new TiledeskStandIn(options);
  await standin.start();
  const info: StandInInfo = {
    url: standin.url,
    projectId: standin.projectId,
    projectSecret: standin.projectSecret,
    admin: standin.admin,
  };
  const methods = {
    setLatency: (ms: number) => standin.setLatency(ms),
    pendingWork: () => standin.pendingWork(),
    /** [bf_conversation, request id] of requests whose conversation id starts with `prefix`. */
    requestsOf: (prefix: string): [string, string][] => {
      const out: [string, string][] = [];
      for (const r of standin.requests.values()) {
        const conv = r.attributes['bf_conversation'];
        if (typeof conv === 'string' && conv.startsWith(prefix)) out.push([conv, r.request_id]);
      }
      return out;
    },
    /** Texts of each request's messages, in order, without the system's. */
    texts: (ids: string[]) =>
      ids.map((id) =>
        standin
          .messages(id)
          .filter((m) => m.sender !== 'system')
          .map((m) => m.text ?? ''),
      ),
    subscriptions: (): StandInSubscription[] => standin.subscriptions(),
    /** An agent writes (agent console path: stores the message, POSTs the webhook). */
    agentReply: (requestId: string, text: string) => {
      standin.agentReply(requestId, text);
    },
    stop: () => standin.stop(),
  };
  return { info, methods };
}

type StandInMethods = Awaited<ReturnType<typeof serveInWorker>>['methods'];

export class RemoteStandIn implements StandInInfo {
  readonly url: string;
  readonly projectId: string;
  readonly projectSecret: string;
  readonly admin: { email: string; password: string };

  private constructor(private readonly client: WorkerClient<StandInInfo, StandInMethods>) {
    ({
      url: this.url,
      projectId: this.projectId,
      projectSecret: this.projectSecret,
      admin: this.admin,
    } = client.info);
  }

  static async start(options: StandInOptions): Promise<RemoteStandIn> {
    return new RemoteStandIn(await startWorker(__filename, options));
  }

  call<K extends keyof StandInMethods & string>(
    method: K,
    ...args: Parameters<StandInMethods[K]>
  ): Promise<Awaited<ReturnType<StandInMethods[K]>>> {
    return this.client.call(method, ...args);
  }

  setLatency(ms: number): Promise<void> {
    return this.call('setLatency', ms);
  }

  pendingWork(): Promise<number> {
    return this.call('pendingWork');
  }

  async stop(): Promise<void> {
    await this.call('stop').catch(() => undefined);
    await this.client.terminate();
  }
}
