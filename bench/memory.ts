/**
 * Section 5 — memory per idle conversation. A middleware instance tracks N conversations (one
 * user message each, answered and mirrored), then goes idle. Measured after full GCs:
 * - storage bytes per conversation: the serialized items in the `Storage` (MemoryStorage keeps
 *   JSON strings), by key kind;
 * - the middleware's own heap: heapUsed with the middleware (and its adapter) alive minus heapUsed
 *   once they are dropped, the `Storage` staying alive in both. Done for two sizes, so the
 *   per-conversation slope excludes fixed and bounded costs (e.g. the end-user token cache);
 * - the heap a MemoryStorage needs for the same items (a deep copy of them), for reference;
 * - timers/handles left behind while idle.
 */
import {
  type BenchOptions,
  describeErrors,
  echo,
  fullGc,
  ourMiddleware,
  type SectionResult,
  startStandin,
  settle,
  userMessage,
  withTimeout,
} from './common';
import type { RemoteStandIn } from './standin-host';
import { fmtBytes, fmtInt, round } from './stats';

interface Measure {
  conversations: number;
  retained: number;
  storageBytes: number;
  storageByKind: Record<string, { items: number; bytes: number }>;
  storageHeap: number;
  timersIdle: number;
  errors: string[];
}

const heap = () => process.memoryUsage().heapUsed;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function track(standin: RemoteStandIn, tag: string, n: number): Promise<Measure> {
  const memory: Record<string, string> = {};
  // Errors are kept outside what the middleware references (they would count as its heap).
  const errors: string[] = [];
  const onError = (e: { code: string; message: string }) => errors.push(`${e.code}: ${e.message}`);
  let made: ReturnType<typeof ourMiddleware> | undefined = ourMiddleware(standin, {
    memory,
    onError,
  });
  const timersBefore = timers();
  for (let i = 0; i < n; i++) {
    await made.adapter.processActivity(userMessage(`${tag}-${i}`, `${tag}-u${i}`, 'hello'), echo);
    if (i % 200 === 199) {
      // Conversations arrive over time, not all at once: let each batch be mirrored.
      made.adapter.activeQueue.length = 0;
      await withTimeout(made.tiledesk.whenIdle(), 120_000, 'mirroring');
    }
  }
  made.adapter.activeQueue.length = 0;
  await settle(standin, made.tiledesk, 120_000);
  await fullGc();
  const timersIdle = timers() - timersBefore;
  const withMiddleware = heap();
  made = undefined; // the adapter, the middleware and everything only they reference
  await fullGc();
  const withoutMiddleware = heap();

  const storageByKind: Measure['storageByKind'] = {};
  let storageBytes = 0;
  for (const [key, value] of Object.entries(memory)) {
    if (typeof value !== 'string') continue; // MemoryStorage.delete leaves `undefined` behind
    const kind = key.split('/').slice(0, 2).join('/');
    const bytes = Buffer.byteLength(value);
    const entry = (storageByKind[kind] ??= { items: 0, bytes: 0 });
    entry.items++;
    entry.bytes += bytes;
    storageBytes += bytes;
  }
  // Heap a MemoryStorage needs for these items: a deep copy (new strings) of its content.
  await fullGc();
  const before = heap();
  const copy = JSON.parse(JSON.stringify(memory)) as Record<string, string>;
  await fullGc();
  const storageHeap = heap() - before;
  if (Object.keys(copy).length > Object.keys(memory).length) throw new Error('copy failed');
  return {
    conversations: n,
    retained: withMiddleware - withoutMiddleware,
    storageBytes,
    storageByKind,
    storageHeap,
    timersIdle,
    errors,
  };
}

export async function memory(opts: BenchOptions): Promise<SectionResult> {
  const small = opts.quick ? 40 : 2000;
  const large = opts.quick ? 200 : 10_000;
  const standin = await startStandin();
  try {
    await track(standin, 'warm', opts.quick ? 20 : 50); // code paths compiled, axios/keep-alive set up
    const a = await track(standin, 'small', small);
    const b = await track(standin, 'large', large);
    const perConv = b.retained / large;
    const slope = (b.retained - a.retained) / (large - small);
    const storedPerConv = b.storageBytes / large;
    const kinds = Object.entries(b.storageByKind).map(
      ([kind, v]) => `${kind}: ${fmtInt(v.items)} items, ${fmtBytes(v.bytes / v.items)} each`,
    );
    return {
      tables: [
        {
          title: `5. Memory per idle conversation (one message each, mirrored, then idle; ${fmtInt(small)} and ${fmtInt(large)} conversations)`,
          headers: [
            'figure',
            `${fmtInt(small)} conv.`,
            `${fmtInt(large)} conv.`,
            'per conversation',
          ],
          rows: [
            [
              'storage, serialized (JSON bytes)',
              fmtBytes(a.storageBytes),
              fmtBytes(b.storageBytes),
              fmtBytes(storedPerConv),
            ],
            [
              'MemoryStorage heap for those items',
              fmtBytes(a.storageHeap),
              fmtBytes(b.storageHeap),
              fmtBytes(b.storageHeap / large),
            ],
            [
              'middleware heap beyond the Storage',
              fmtBytes(a.retained),
              fmtBytes(b.retained),
              `${fmtBytes(perConv)} avg, ${fmtBytes(slope)} marginal`,
            ],
            ['timers left while idle', String(a.timersIdle), String(b.timersIdle), ''],
          ],
          notes: [
            `storage items: ${kinds.join('; ')}`,
            'marginal = (heap at the large size − heap at the small size) / (large − small): the part that grows with conversations; ' +
              'avg includes fixed costs and the end-user token cache (≤ 1,000 JWTs)',
            `background errors: ${describeErrors([...a.errors, ...b.errors])}`,
          ],
        },
      ],
      targets: [
        {
          section: '5 storage',
          target: '≤ 1 KB stored per idle conversation',
          measured: fmtBytes(storedPerConv),
          met: storedPerConv <= 1024,
        },
        {
          section: '5 heap',
          target: '≤ 100 B own heap per idle conversation',
          measured: `${fmtBytes(slope)} marginal, ${fmtBytes(perConv)} avg at ${fmtInt(large)}; ${b.timersIdle} timers${opts.quick ? ' (quick: below token cache)' : ''}`,
          met: opts.quick ? undefined : slope <= 100 && b.timersIdle <= 0,
        },
      ],
      data: {
        small: { ...a, retainedPerConv: round(a.retained / small) },
        large: { ...b, retainedPerConv: round(perConv) },
        marginalBytesPerConv: round(slope),
        storedBytesPerConv: round(storedPerConv),
      },
    };
  } finally {
    await standin.stop();
  }
}
