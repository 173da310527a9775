/** Wiring shared by the sections: stand-in, settings, echo bot, counters, async helpers. */
import axios from 'axios';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import {
  type Activity,
  MemoryStorage,
  type MiddlewareHandler,
  type Storage,
  type TurnContext,
} from 'botbuilder';
import type { CloudAdapter } from 'botbuilder';
import {
  type AppSettings,
  TiledeskHandoff,
  type TiledeskError,
  type VersionedStorage,
} from '../lib';
import { type CountingStorage, opsOf } from './counting-storage';
import { ProactiveTestAdapter } from '../test/support/proactive-test-adapter';
import { RemoteStandIn, type StandInInfo } from './standin-host';
import type { Table } from './stats';

export interface BenchOptions {
  quick: boolean;
}

/** One line of the final summary table. */
export interface TargetRow {
  section: string;
  target: string;
  measured: string;
  /** undefined: a figure without a target. */
  met: boolean | undefined;
}

export interface SectionResult {
  tables: Table[];
  targets: TargetRow[];
  /** Raw figures for the JSON file. */
  data: Record<string, unknown>;
}

/** The stand-in in a worker thread (standin-host.ts), without a call log (it would grow). */
export function startStandin(commandDelayMs = 5): Promise<RemoteStandIn> {
  return RemoteStandIn.start({
    recordCalls: false,
    commandDelayMs,
    webhookRetryDelaysMs: [50, 100],
  });
}

/** App settings pointing the middleware at `standin` (custom end-user tokens). */
export function settingsFor(
  standin: StandInInfo,
  webhookUrl = 'http://127.0.0.1:9/api/tiledesk',
): AppSettings {
  return {
    MicrosoftAppId: '',
    TiledeskApiUrl: standin.url,
    TiledeskProjectId: standin.projectId,
    TiledeskEmail: standin.admin.email,
    TiledeskPassword: standin.admin.password,
    TiledeskProjectSecret: standin.projectSecret,
    TiledeskWebhookUrl: webhookUrl,
    TiledeskBotName: 'Echo Bot',
    // The latency section waits for the agent's exact words (no name prefix).
    TiledeskAgentPrefix: '',
  };
}

/** An admin token (`JWT …`) for plain POSTs to the stand-in (naive middleware, ceiling). */
export async function adminToken(standin: StandInInfo): Promise<string> {
  const r = await axios.post<{ token: string }>(`${standin.url}/auth/signin`, standin.admin);
  return r.data.token;
}

/** The bot under test everywhere: one reply per message. */
export async function echo(context: TurnContext): Promise<void> {
  if (context.activity.type === 'message') {
    await context.sendActivity(`Echo: ${context.activity.text ?? ''}`);
  }
}

/**
 * Counts the HTTP calls this process makes to `baseUrl` (and the finished `…/messages` POSTs)
 * through node:http's diagnostics channel, so the middleware keeps its own default HTTP client.
 * tiledesk has no public backlog counter: backlog = posts enqueued (known from the turns) −
 * posts finished.
 */
export function countRequests(baseUrl: string): {
  posted: () => number;
  calls: () => number;
  stop: () => void;
} {
  const host = new URL(baseUrl).host;
  let posted = 0;
  let calls = 0;
  const onResponse = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (request.getHeader('host') !== host) return;
    calls++;
    if (request.method === 'POST' && request.path.endsWith('/messages')) posted++;
  };
  diagnostics.subscribe('http.client.response.finish', onResponse);
  return {
    posted: () => posted,
    calls: () => calls,
    stop: () => diagnostics.unsubscribe('http.client.response.finish', onResponse),
  };
}

/** What the sections may change in our middleware's wiring. */
export interface OursOptions {
  webhookUrl?: string;
  /** The MemoryStorage's content (when no `storage` is given). */
  memory?: Record<string, string>;
  storage?: Storage | VersionedStorage;
  onError?: (e: TiledeskError) => void;
  /** Called with every activity the channel accepted (see {@link sentHook}). */
  onSent?: (activity: Partial<Activity>) => void;
}

/**
 * A middleware (put before ours) calling `onSent` once the adapter has sent an activity (the
 * channel answered, or TestAdapter queued it): the moment the user has it. It runs in the turn's
 * async context, proactive turns (agent messages, notices) included.
 */
export function sentHook(onSent: (activity: Partial<Activity>) => void): MiddlewareHandler {
  return async (context, next) => {
    context.onSendActivities(async (_ctx, activities, nextSend) => {
      const responses = await nextSend();
      for (const a of activities) onSent(a);
      return responses;
    });
    await next();
  };
}

/** Our middleware on a TestAdapter (with `continueConversationAsync`), over a MemoryStorage. */
export function ourMiddleware(
  standin: StandInInfo,
  extra: OursOptions = {},
): { adapter: ProactiveTestAdapter; tiledesk: TiledeskHandoff; errors: TiledeskError[] } {
  const adapter = new ProactiveTestAdapter();
  return { adapter, ...attachOurs(adapter, standin, extra) };
}

/** Our middleware on an existing adapter (CloudAdapter sections pass the bot's webhook URL). */
export function attachOurs(
  adapter: ProactiveTestAdapter | CloudAdapter,
  standin: StandInInfo,
  extra: OursOptions = {},
): { tiledesk: TiledeskHandoff; errors: TiledeskError[] } {
  const errors: TiledeskError[] = [];
  if (extra.onSent) adapter.use(sentHook(extra.onSent));
  const tiledesk = new TiledeskHandoff({
    adapter,
    appSettings: settingsFor(standin, extra.webhookUrl),
    storage: extra.storage ?? new MemoryStorage(extra.memory ?? {}),
    onError: extra.onError ?? ((e) => errors.push(e)),
  });
  adapter.use(tiledesk);
  return { tiledesk, errors };
}

/** A fresh message activity for `TestAdapter.processActivity` (it mutates what it gets). */
export function userMessage(
  conversationId: string,
  userId: string,
  text: string,
): Partial<Activity> {
  // The shape a channel sends (ConversationAccount's other fields are optional on the wire).
  return {
    type: 'message',
    text,
    channelId: 'test',
    locale: 'en-US',
    conversation: { id: conversationId },
    from: { id: userId, name: 'Ada Lovelace', role: 'user' },
  } as Partial<Activity>;
}

/** Lets the event loop turn once (I/O, timers already due, setImmediate callbacks). */
export function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects when `promise` takes longer than `ms` (the benchmark must never hang). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 5 ms until it holds; throws after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(5);
  }
}

/** Full garbage collection (node runs with --expose-gc), a few times to reach a fixpoint. */
export async function fullGc(): Promise<void> {
  if (!globalThis.gc) throw new Error('run node with --expose-gc');
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await yieldLoop();
  }
}

/** "0", or "3 (2× TILEDESK_STORAGE: …; 1× …)": background errors grouped by message. */
export function describeErrors(
  errors: readonly (string | { code: string; message: string })[],
): string {
  if (errors.length === 0) return '0';
  const counts = new Map<string, number>();
  for (const e of errors) {
    const text = typeof e === 'string' ? e : `${e.code}: ${e.message}`;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const parts = [...counts].map(([text, n]) => `${n}× ${text.slice(0, 120)}`);
  return `${errors.length} (${parts.slice(0, 3).join('; ')}${parts.length > 3 ? '; …' : ''})`;
}

/** Waits until the stand-in has nothing left to do and the middleware is idle (webhooks too). */
export async function settle(
  standin: RemoteStandIn,
  tiledesk: { whenIdle(): Promise<void> },
  ms = 60_000,
): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await withTimeout(tiledesk.whenIdle(), ms, 'middleware idle');
    await until(async () => (await standin.pendingWork()) === 0, ms, 'stand-in idle');
  }
  await withTimeout(tiledesk.whenIdle(), ms, 'middleware idle');
}

/** Byte size of the largest item under `prefix` in a MemoryStorage's content (0 if none). */
export function largestItem(memory: Record<string, string | undefined>, prefix: string): number {
  let max = 0;
  for (const [key, value] of Object.entries(memory)) {
    if (key.startsWith(prefix) && typeof value === 'string')
      max = Math.max(max, Buffer.byteLength(value));
  }
  return max;
}

/**
 * Waits until the middleware is idle and its storage too: nothing in flight, nothing new
 * started for `quietMs`, and `whenIdle()` still resolved after that. `whenIdle()` alone returns
 * while a turn's first write (the outbox append) is in flight: `Engine.flush` has emptied its
 * pending list already and the conversation's lane starts only once that write is done.
 */
export async function quiet(
  tiledesk: { whenIdle(): Promise<void> },
  storage: CountingStorage,
  ms = 60_000,
  quietMs = 5,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await withTimeout(tiledesk.whenIdle(), ms, 'middleware idle');
    const started = opsOf(storage.total);
    if (storage.inFlight === 0) {
      await sleep(quietMs);
      if (storage.inFlight === 0 && opsOf(storage.total) === started) {
        await withTimeout(tiledesk.whenIdle(), ms, 'middleware idle');
        if (storage.inFlight === 0 && opsOf(storage.total) === started) return;
      }
    } else {
      await sleep(1);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: storage quiet`);
  }
}
