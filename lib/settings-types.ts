/** The public shapes of settings (no zod types: the `.d.ts` stays self-contained). */

/**
 * The resolved settings, every default applied. Written out (not inferred from the schemas in
 * settings.ts) so the published `.d.ts` names no zod type; `SPEC` there is checked against it.
 */
export interface TiledeskSettings {
  apiUrl: string;
  projectId: string;
  email: string;
  password: string;
  projectSecret: string | undefined;
  webhookUrl: string;
  departmentId: string | undefined;
  channelName: string;
  botName: string;
  /**
   * `hidden`: requests wait unrouted (status 50) until a handoff, in no dashboard list; `bot`:
   * each request is served by a Tiledesk bot standing for this bot, live in the monitor.
   */
  mirrorVisibility: 'hidden' | 'bot';
  microsoftAppId: string;
  timeoutMs: number;
  mirrorMaxAgeMs: number;
  mirrorConcurrency: number;
  mirrorMode: 'all' | 'handoff';
  transcriptMaxMessages: number;
  catchUpIntervalMs: number;
  handoffKeywords: string[];
  handoffIntent: string;
  handoffMinScore: number;
  handoffMethod: 'route' | 'command';
  textConnecting: string;
  textAssigned: string;
  textQueued: string;
  textFailed: string;
  textClosed: string;
  leaveKeywords: string[];
  queueTimeoutMs: number;
  inactivityTimeoutMs: number;
  botMessagesDuringHandoff: 'hold' | 'send' | 'drop';
  textEndChatButton: string;
  textQueuedWait: string;
  textLeft: string;
  textQueueTimeout: string;
  textInactivity: string;
  textEnded: string;
  webhookMaxBodyBytes: number;
  webhookReadTimeoutMs: number;
  webhookMaxReadsPerSource: number;
  webhookProbe: boolean;
  agentPrefix: string;
  agentTyping: boolean;
  uploadMaxBytes: number;
  uploadTypes: string[];
}

/** A yes/no setting: a boolean, or its text in app settings. */
export type FlagInput = boolean | 'true' | 'false' | '1' | '0' | 'yes' | 'no';

/** Programmatic settings: camelCase, each optional; they override app settings. */
export interface TiledeskSettingsInput {
  apiUrl?: string;
  projectId?: string;
  email?: string;
  password?: string;
  projectSecret?: string;
  webhookUrl?: string;
  departmentId?: string;
  channelName?: string;
  botName?: string;
  mirrorVisibility?: 'hidden' | 'bot';
  microsoftAppId?: string;
  timeoutMs?: number;
  mirrorMaxAgeMs?: number;
  mirrorConcurrency?: number;
  mirrorMode?: 'all' | 'handoff';
  transcriptMaxMessages?: number;
  catchUpIntervalMs?: number;
  /** A list, or one comma-separated string. */
  handoffKeywords?: string | string[];
  handoffIntent?: string;
  handoffMinScore?: number;
  handoffMethod?: 'route' | 'command';
  textConnecting?: string;
  textAssigned?: string;
  textQueued?: string;
  textFailed?: string;
  textClosed?: string;
  /** A list, or one comma-separated string. */
  leaveKeywords?: string | string[];
  queueTimeoutMs?: number;
  inactivityTimeoutMs?: number;
  botMessagesDuringHandoff?: 'hold' | 'send' | 'drop';
  textEndChatButton?: string;
  textQueuedWait?: string;
  textLeft?: string;
  textQueueTimeout?: string;
  textInactivity?: string;
  textEnded?: string;
  webhookMaxBodyBytes?: number;
  webhookReadTimeoutMs?: number;
  webhookMaxReadsPerSource?: number;
  webhookProbe?: FlagInput;
  agentPrefix?: string;
  agentTyping?: FlagInput;
  uploadMaxBytes?: number;
  /** A list, or one comma-separated string. */
  uploadTypes?: string | string[];
}
