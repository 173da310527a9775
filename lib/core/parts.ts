import { randomUUID } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { asTiledeskError, TiledeskError } from '../errors';
import { createLogger, type Logger, logError } from '../logger';
import type { TiledeskSettings } from '../settings';
import { toVersionedStorage } from '../storage/adapt';
import type { VersionedStorage } from '../storage/versioned-storage';
import { type TiledeskApi, TiledeskClient } from '../tiledesk/client';
import { agentPresenter } from './agent-turns';
import { Avatars } from './avatars';
import { Credentials } from './credentials';
import { Delivery } from './delivery';
import { Handoff } from './handoff';
import { botSenderId } from './ids';
import { Instances } from './instances';
import { createAttachmentHttp } from './attachment-fetch';
import { Mirror } from './mirror';
import { Outbox } from './outbox';
import type { OutboxEntry } from './record';
import { RecordStore } from './record-store';
import { ShardedSet } from './sharded-set';
import { REQUEST_UPDATE_EVENT } from './request-update';
import { Subscriptions } from './subscriptions';
import { TiledeskBotIdentity } from './tiledesk-bot';
import { type Clock, type KeyValueStorage, systemClock, type UserChannel } from './types';
import { AgentTyping, TYPING_EVENT, type TypingSignal } from './typing';
import { Uploads } from './uploads';
import { WebhookReceiver } from './webhook';

/** What the core needs from its host; everything else has a default. */
export interface EngineDeps {
  /** Any botbuilder `Storage`, or a {@link VersionedStorage} of the host's own. */
  storage: KeyValueStorage | VersionedStorage;
  user: UserChannel;
  logger?: Partial<Logger>;
  onError?: (error: TiledeskError) => void;
  http?: AxiosInstance;
  api?: TiledeskApi;
  clock?: Clock;
  /** Bot id used for the stable sender of mirrored bot messages. */
  botId?: string;
  /** This instance's id in storage (leases, claims); a random one by default. */
  instanceId?: string;
  /** Random numbers for retry jitter (tests pass a seeded one). */
  random?: () => number;
  /** HTTP client for downloading users' files from the channel (default: its own axios). */
  attachmentHttp?: AxiosInstance;
  /** How long a lease or claim holds without renewal: a crashed instance's work waits this long. */
  leaseMs?: number;
  /** How long after the trigger a handoff may take to be routed. */
  handoffLimitMs?: number;
  /** How long failing sends of agent messages to the user are retried. */
  deliveryMaxAgeMs?: number;
  /**
   * With several instances, how long a post waits so that an earlier turn's write from another
   * instance, landing late, still goes first (see README, Running several instances).
   */
  reorderWindowMs?: number;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_HANDOFF_LIMIT_MS = 60_000;
export const DEFAULT_DELIVERY_MAX_AGE_MS = 15 * 60 * 1000;
export const DEFAULT_REORDER_WINDOW_MS = 1000;

/** The composition root of the core: builds every part once, from settings and deps. */
export function createParts(settings: TiledeskSettings, deps: EngineDeps) {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const instanceId = deps.instanceId ?? randomUUID();
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const logger = createLogger(deps.logger);
  const onError = deps.onError ?? ((e: TiledeskError) => logError(logger, e));
  const storage = toVersionedStorage(deps.storage);
  const api =
    deps.api ??
    new TiledeskClient({
      apiUrl: settings.apiUrl,
      projectId: settings.projectId,
      timeoutMs: settings.timeoutMs,
      ...(deps.http ? { http: deps.http } : {}),
    });
  const credentials = new Credentials({
    api,
    storage,
    clock,
    projectId: settings.projectId,
    email: settings.email,
    password: settings.password,
    projectSecret: settings.projectSecret,
  });
  const botSender = botSenderId(deps.botId ?? settings.microsoftAppId ?? 'bot');
  const ownSenders = new Set([botSender]);
  // `TiledeskMirrorVisibility=bot`: requests are served by a Tiledesk bot standing for ours.
  const tiledeskBot =
    settings.mirrorVisibility === 'bot'
      ? new TiledeskBotIdentity({
          api,
          credentials,
          storage,
          clock,
          logger,
          channelName: settings.channelName,
          name: settings.botName,
          url: settings.webhookUrl,
          ownSenders,
        })
      : undefined;
  const store = new RecordStore(storage);
  const outboxIndex = new ShardedSet(storage, 'tiledesk/outbox-index');
  const handoffIndex = new ShardedSet(storage, 'tiledesk/handoff-index');
  const mirror = new Mirror({
    api,
    credentials,
    projectId: settings.projectId,
    channelName: settings.channelName,
    departmentId: settings.departmentId,
    botName: settings.botName,
    botSender,
    ...(tiledeskBot && { servedBy: () => tiledeskBot.required() }),
    uploads: new Uploads({
      api,
      http: deps.attachmentHttp ?? createAttachmentHttp(),
      maxBytes: settings.uploadMaxBytes,
      types: settings.uploadTypes,
      timeoutMs: settings.timeoutMs,
      token: deps.user.attachmentToken?.bind(deps.user),
    }),
  });
  // The outbox calls the handoff, which calls the delivery (built after them).
  let handoff: Handoff | undefined;
  let delivery: Delivery | undefined;
  const handoffLimitMs = deps.handoffLimitMs ?? DEFAULT_HANDOFF_LIMIT_MS;
  const reorderWindowMs = deps.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  /** Live instances, as the last heartbeat saw them (unknown before it: assume others). */
  const peers = { alive: 0 };
  const instances = new Instances(storage, instanceId, leaseMs);
  /** The first heartbeat, written before any lease or claim is taken (retried after a failure). */
  let registering: Promise<void> | undefined;
  const registered = (): Promise<void> => {
    registering ??= instances.beat(clock.now()).then(
      (beat) => {
        peers.alive = beat.alive;
      },
      (err: unknown) => {
        registering = undefined;
        throw err;
      },
    );
    return registering;
  };
  const outbox = new Outbox({
    store,
    index: outboxIndex,
    clock,
    random,
    instanceId,
    leaseMs,
    concurrency: settings.mirrorConcurrency,
    history:
      settings.mirrorMode === 'handoff'
        ? { maxMessages: settings.transcriptMaxMessages }
        : undefined,
    // The user is waiting for a handoff: its routing has the handoff limit, not a day.
    maxAgeOf: (entry) => (entry.kind === 'handoff' ? handoffLimitMs : settings.mirrorMaxAgeMs),
    // Alone (as the last heartbeat says), nobody else's writes can land late: no wait.
    holdMs: () => (peers.alive === 1 ? 0 : reorderWindowMs),
    registered,
    post: async (convKey, snapshot, entry, ctx) => {
      if (entry.kind === 'close') {
        await handoff!.closeInTiledesk(convKey, snapshot, entry);
        return false;
      }
      if (entry.kind === 'handoff') await handoff!.route(convKey, snapshot, entry, ctx);
      else await mirror.post(convKey, snapshot.record, entry, ctx);
      // Whether the current request now exists (an entry for a closed one says nothing of it).
      return entry.gen === undefined || entry.gen === snapshot.record.gen;
    },
    onDrop: (convKey, entry, error, attempts) => dropped(convKey, entry, error, attempts),
    onError,
  });
  handoff = new Handoff({
    api,
    store,
    outbox,
    credentials,
    mirror,
    method: settings.handoffMethod,
    texts: {
      assigned: settings.textAssigned,
      queued: settings.textQueued,
      // With bot-served requests Tiledesk's average wait counts the bot's instant first replies:
      // it says nothing about the queue, so it is not told.
      queuedWait: settings.mirrorVisibility === 'bot' ? '' : settings.textQueuedWait,
      failed: settings.textFailed,
      closed: settings.textClosed,
      left: settings.textLeft,
      queueTimeout: settings.textQueueTimeout,
      inactivity: settings.textInactivity,
      ended: settings.textEnded,
      endChatButton: settings.textEndChatButton,
    },
    clock,
    limitMs: handoffLimitMs,
    queueTimeoutMs: settings.queueTimeoutMs,
    inactivityTimeoutMs: settings.inactivityTimeoutMs,
    index: handoffIndex,
    notices: (convKey) => delivery!.notices(convKey),
    onError,
  });
  // Agents as the user sees them: a name prefix per agent turn, their Tiledesk photo.
  const avatars = new Avatars({ lookup: api.userPhotoUrl?.bind(api), clock, logger });
  delivery = new Delivery({
    api,
    store,
    credentials,
    mirror,
    handoff,
    user: deps.user,
    present: agentPresenter(settings.agentPrefix, (id) => avatars.get(id)),
    agentSeen: (id) => avatars.prefetch(id),
    clock,
    random,
    instanceId,
    leaseMs,
    concurrency: settings.mirrorConcurrency,
    maxAgeMs: deps.deliveryMaxAgeMs ?? DEFAULT_DELIVERY_MAX_AGE_MS,
    ownSenders,
    registered,
    onError,
  });
  const subscriptions = new Subscriptions({
    api,
    credentials,
    storage,
    clock,
    logger,
    channelName: settings.channelName,
    webhookUrl: settings.webhookUrl,
    extraEvents: [
      ...(settings.agentTyping ? [TYPING_EVENT] : []),
      // A person joining a bot-served request (JOIN TO CHAT) is seen on request.update.
      ...(tiledeskBot ? [REQUEST_UPDATE_EVENT] : []),
    ],
  });
  const typing = new AgentTyping({
    store,
    user: deps.user,
    clock,
    logger,
    ownSenders,
    busy: (convKey) => delivery!.pending(convKey),
    agentSeen: (id) => avatars.prefetch(id),
  });
  const webhook = new WebhookReceiver({
    delivery,
    projectId: settings.projectId,
    logger,
    known: (refresh) => subscriptions.known(refresh),
    ownSenders,
    clock,
    ...(tiledeskBot && { bot: (refresh: boolean) => tiledeskBot.known(refresh) }),
    maxBodyBytes: settings.webhookMaxBodyBytes,
    readTimeoutMs: settings.webhookReadTimeoutMs,
    maxReadsPerSource: settings.webhookMaxReadsPerSource,
    ...(settings.agentTyping && {
      typing: (convKey: string, gen: number, signal: TypingSignal) =>
        typing.notify(convKey, gen, signal),
    }),
  });
  function dropped(convKey: string, entry: OutboxEntry, error: unknown, attempts: number): void {
    const cause = error instanceof Error ? error.message : String(error);
    if (entry.kind === 'handoff') {
      onError(asTiledeskError(error, 'TILEDESK_MIRROR_GAVE_UP', { convKey, attempts }));
      handoff!
        .fail(convKey, entry.key, cause)
        .catch((e: unknown) => onError(asTiledeskError(e, 'TILEDESK_STORAGE', { convKey })));
      return;
    }
    onError(
      new TiledeskError(
        'TILEDESK_MIRROR_GAVE_UP',
        `Gave up mirroring a ${entry.kind} message to Tiledesk`,
        { convKey, attempts, cause },
      ),
    );
  }

  return {
    clock,
    random,
    instanceId,
    leaseMs,
    logger,
    onError,
    storage,
    credentials,
    store,
    outboxIndex,
    handoffIndex,
    mirror,
    outbox,
    handoff,
    delivery,
    typing,
    subscriptions,
    tiledeskBot,
    webhook,
    instances,
    peers,
  };
}

export type Parts = ReturnType<typeof createParts>;
