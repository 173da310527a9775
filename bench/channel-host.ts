/**
 * The fake Bot Framework channel (test/support/fake-channel) hosted in a worker thread (see
 * worker-rpc.ts), with the load generation next to it: a user's turn is timed where the channel
 * is, from its POST to the end of the bot's answer, and activities the bot sends are stamped when
 * they arrive. In process, the bot's work after writing its answer (e.g. starting the mirror
 * posts) would delay the channel's reading of that answer and be counted as turn time.
 */
import type { ReceivedActivity } from '../test/support/fake-channel';
import { startWorker, type WorkerClient } from './worker-rpc';

export interface ChannelInfo {
  serviceUrl: string;
}

interface Turns {
  /** Microseconds per turn, as the channel saw them. */
  samples: number[];
  failures: number;
  wallUs: number;
}

/** Worker side. */
export async function serveInWorker() {
  const { FakeChannel } =
    require('../test/support/fake-channel') as typeof import('../test/support/fake-channel');
  const channel = new FakeChannel();
  await channel.start();
  // The bot's connector reuses idle keep-alive sockets; Node closes them after 5 s by default,
  // and a send racing that close fails with ECONNRESET. The benchmark's pauses can be longer.
  const server = (channel as unknown as { httpServer?: { keepAliveTimeout: number } }).httpServer;
  if (server) server.keepAliveTimeout = 120_000;
  // hrtime of each activity's arrival: a waiter's predicate runs synchronously when the channel
  // records an activity, so this never-satisfied waiter stamps every new one at once.
  const stamps = new WeakMap<ReceivedActivity, bigint>();
  const stamp = (a: ReceivedActivity) => {
    if (!stamps.has(a)) stamps.set(a, process.hrtime.bigint());
    return false;
  };
  channel.waitFor(stamp, 2_000_000_000).catch(() => undefined);

  const turn = async (botUrl: string, conversation: string, text: string, into: Turns) => {
    const r = await channel.sendToBot(botUrl, {
      text,
      conversation: { id: conversation },
      from: { id: `user-${conversation}` },
    });
    into.samples.push(r.ms * 1000);
    if (r.status !== 200) into.failures++;
  };
  const methods = {
    reset: () => channel.reset(),
    /** One turn per listed conversation, one after the other. */
    turns: async (botUrl: string, conversations: string[], text: string): Promise<Turns> => {
      const out: Turns = { samples: [], failures: 0, wallUs: 0 };
      const t0 = process.hrtime.bigint();
      for (const c of conversations) await turn(botUrl, c, text, out);
      out.wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      return out;
    },
    /** `n` turns by `users` users at once, each in their own conversation. */
    concurrent: async (botUrl: string, n: number, users: number): Promise<Turns> => {
      const out: Turns = { samples: [], failures: 0, wallUs: 0 };
      let next = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: users }, async (_, u) => {
          while (next++ < n) await turn(botUrl, `conc-${u}`, `hi ${next}`, out);
        }),
      );
      out.wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      return out;
    },
    /** hrtime (ns, as a string) when an activity with this text arrived. */
    arrival: async (text: string, timeoutMs: number): Promise<string> => {
      const a = await channel.waitFor((x) => x.text === text, timeoutMs);
      return String(stamps.get(a) ?? process.hrtime.bigint());
    },
    stop: () => channel.stop(),
  };
  const info: ChannelInfo = { serviceUrl: channel.serviceUrl };
  return { info, methods };
}

type ChannelMethods = Awaited<ReturnType<typeof serveInWorker>>['methods'];
export type RemoteChannel = WorkerClient<ChannelInfo, ChannelMethods>;

export function startChannel(): Promise<RemoteChannel> {
  return startWorker<ChannelInfo, ChannelMethods>(__filename, {});
}
