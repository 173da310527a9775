import type { AxiosInstance } from 'axios';
import type { TiledeskError } from '../errors';
import { createLogger, type Logger } from '../logger';
import type { TiledeskSettings } from '../settings';
import { type TiledeskApi, TiledeskClient } from '../tiledesk/client';
import { CatchUp } from './catch-up';
import { ConversationStore } from './conversation-store';
import { Credentials } from './credentials';
import { Handoff } from './handoff';
import { botSenderId } from './ids';
import { Mirror } from './mirror';
import { ShardedSet } from './sharded-set';
import { Subscriptions } from './subscriptions';
import { type Clock, type KeyValueStorage, systemClock, type UserChannel } from './types';
import { WebhookReceiver } from './webhook';

/** What the core needs from its host; everything else has a default. */
export interface EngineDeps {
  storage: KeyValueStorage;
  user: UserChannel;
  logger?: Partial<Logger>;
  onError?: (error: TiledeskError) => void;
  http?: AxiosInstance;
  api?: TiledeskApi;
  clock?: Clock;
  /** Bot id used for the stable sender of mirrored bot messages. */
  botId?: string;
}

/** The composition root of the core: builds every part once, from settings and deps. */
export function createParts(settings: TiledeskSettings, deps: EngineDeps) {
  const clock = deps.clock ?? systemClock;
  const logger = createLogger(deps.logger);
  const onError =
    deps.onError ?? ((e: TiledeskError) => logger.error(e.message, { code: e.code, ...e.context }));
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
    storage: deps.storage,
    clock,
    projectId: settings.projectId,
    email: settings.email,
    password: settings.password,
    projectSecret: settings.projectSecret,
  });
  const botSender = botSenderId(deps.botId ?? settings.microsoftAppId ?? 'bot');
  const ownSenders = new Set([botSender]);
  const handoffIndex = new ShardedSet(deps.storage, 'tiledesk/handoff-index');
  const store = new ConversationStore(deps.storage);
  const mirror = new Mirror({
    api,
    store: store,
    credentials,
    projectId: settings.projectId,
    channelName: settings.channelName,
    departmentId: settings.departmentId,
    botName: settings.botName,
    botSender,
  });
  const handoff = new Handoff({
    api,
    store: store,
    credentials,
    mirror: mirror,
    user: deps.user,
    projectId: settings.projectId,
    method: settings.handoffMethod,
    texts: {
      assigned: settings.textAssigned,
      queued: settings.textQueued,
      failed: settings.textFailed,
      closed: settings.textClosed,
    },
    now: () => clock.now(),
    index: handoffIndex,
  });
  const subscriptions = new Subscriptions({
    api,
    credentials,
    storage: deps.storage,
    clock,
    logger: logger,
    channelName: settings.channelName,
    webhookUrl: settings.webhookUrl,
  });
  const webhook = new WebhookReceiver({
    store: store,
    handoff: handoff,
    user: deps.user,
    clock,
    logger: logger,
    knownSecrets: (refresh) => subscriptions.knownSecrets(refresh),
    ownSenders,
    onError: onError,
  });
  const catchUp = new CatchUp({
    api,
    store: store,
    credentials,
    mirror: mirror,
    index: handoffIndex,
    ownSenders,
    deliver: (message) => webhook.enqueueMessage(message),
  });
  return { clock, logger, onError, store, mirror, handoff, subscriptions, webhook, catchUp };
}

export type Parts = ReturnType<typeof createParts>;
