/**
 * Everything that is not tied to one bot SDK: settings, errors, storage adapters and the core's
 * parts. Re-exported by both entry points (`botbuilder-tiledesk` and `botbuilder-tiledesk/agents`).
 */
export {
  resolveSettings,
  type TiledeskSettings,
  type TiledeskSettingsInput,
  type AppSettings,
} from './settings';
export { createLogger, type Logger } from './logger';

// Health: what start() could not do, and a snapshot for the bot's health route
export { type StartResult, type TiledeskHealth } from './core/health';
export { type HandoffStatus } from './core/engine';

// Advanced: the parts, for other hosts and tests
export { Engine, type EngineDeps } from './core/engine';
export { TiledeskMiddleware, type TiledeskCommonOptions } from './core/middleware';
export {
  HandoffEvents,
  type Host,
  type HostActivity,
  type HostTurn,
  type SendHook,
  type SentActivity,
} from './core/host';
export {
  type WebhookRequest,
  type WebhookResponse,
  type WebhookReadLimits,
  WebhookReadError,
  type WebhookRefusal,
  type WebhookIgnored,
} from './core/webhook';
export {
  createNodeWebhookHandler,
  type NodeWebhookHandler,
  type NodeWebhookHandlerOptions,
} from './http-handler';
export {
  TiledeskClient,
  type TiledeskApi,
  type TiledeskClientOptions,
  type UploadInput,
} from './tiledesk/client';
export { type HandoffTrigger } from './core/triggers';
export {
  type ChatActivity,
  type ConversationRef,
  type KeyValueStorage,
  type UserChannel,
  type Clock,
} from './core/types';

// Storage: every botbuilder Storage works; these say what each one guarantees
export { toVersionedStorage } from './storage/adapt';
export { isETagConflict } from './storage/conflict';
export { type VersionedStorage, type VersionedItem } from './storage/versioned-storage';

// Errors
export {
  TiledeskError,
  TiledeskConfigError,
  TiledeskApiError,
  isTiledeskError,
  type TiledeskErrorCode,
} from './errors';
