import { z } from 'zod';
import { DEFAULT_HANDOFF_KEYWORDS } from './settings-defaults';
import type { TiledeskSettings, TiledeskSettingsInput } from './settings-types';

export { DEFAULT_HANDOFF_KEYWORDS } from './settings-defaults';
export type { FlagInput, TiledeskSettings, TiledeskSettingsInput } from './settings-types';
import { compilePhrases } from './core/phrases';
import { TiledeskConfigError } from './errors';
import type { Logger } from './logger';
import { type KnownSettings, unknownSettings, unknownSettingsMessage } from './settings-warnings';

/**
 * Settings come from the bot's app settings (PascalCase keys beside `MicrosoftAppId`, e.g.
 * `process.env`) and/or a typed camelCase object for programmatic use; the object wins.
 * One table below is the single source of truth: key, option name, schema, help text.
 */

const objectId = z.string().regex(/^[0-9a-fA-F]{24}$/, 'must be 24 hexadecimal characters');
const httpUrl = z
  .string()
  .refine((u) => isHttpUrl(u), { error: 'must be an http(s) URL' })
  .transform((u) => u.replace(/\/+$/, ''));
const nonEmpty = z.string().min(1, 'must not be empty');
const csv = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));
const number = (min: number, max: number) => {
  const error = `must be a number from ${min} to ${max}`;
  return z.coerce
    .number({ error })
    .refine((n) => Number.isFinite(n) && n >= min && n <= max, { error });
};

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])], {
    error: 'must be true or false',
  })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

function isHttpUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** One setting: its app-settings key, schema (its output must fit `Out`) and help text. */
interface SettingSpec<Out = unknown> {
  key: string;
  schema: z.ZodType<Out>;
  help: string;
  /** Value is a credential: never echoed anywhere. */
  secret?: boolean;
}

const SPEC = {
  apiUrl: {
    key: 'TiledeskApiUrl',
    schema: httpUrl.default('https://api.tiledesk.com/v3'),
    help: 'the Tiledesk REST base URL, e.g. https://api.tiledesk.com/v3 (no trailing slash needed)',
  },
  projectId: {
    key: 'TiledeskProjectId',
    schema: objectId,
    help: 'your Tiledesk project id (24 hex characters; Dashboard → Settings → Project)',
  },
  email: {
    key: 'TiledeskEmail',
    schema: z.email('must be an email address'),
    help: 'the email of a Tiledesk account with admin role in the project',
  },
  password: {
    key: 'TiledeskPassword',
    schema: nonEmpty,
    help: 'the password of that Tiledesk admin account',
    secret: true,
  },
  projectSecret: {
    key: 'TiledeskProjectSecret',
    schema: nonEmpty.optional(),
    help: 'the project visitor-authentication secret (Settings → Visitor Authentication), or leave it unset for anonymous end users',
    secret: true,
  },
  webhookUrl: {
    key: 'TiledeskWebhookUrl',
    schema: httpUrl,
    help: 'the public URL where Tiledesk must POST webhooks, e.g. https://mybot.example.com/api/tiledesk',
  },
  departmentId: {
    key: 'TiledeskDepartmentId',
    schema: objectId.optional(),
    help: 'the id of a Tiledesk department WITHOUT a Tiledesk bot (24 hex), or leave it unset for the default department',
  },
  channelName: {
    key: 'TiledeskChannelName',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'may only contain letters, digits, "_" and "-" (no dots)')
      .default('botframework'),
    help: 'the Tiledesk channel name of mirrored requests (default botframework)',
  },
  botName: {
    key: 'TiledeskBotName',
    schema: nonEmpty.default('Bot'),
    help: 'the name agents see on bot messages',
  },
  mirrorVisibility: {
    key: 'TiledeskMirrorVisibility',
    schema: z.enum(['hidden', 'bot'], { error: 'must be "hidden" or "bot"' }).default('hidden'),
    help: 'who sees conversations before a handoff: "hidden" (nobody: requests wait unrouted, outside every list and the monthly conversation quota) or "bot" (owners and admins watch them live, served by a Tiledesk bot named TiledeskBotName, and can take them over)',
  },
  agentPrefix: {
    key: 'TiledeskAgentPrefix',
    schema: z.string().default('{agent}: '),
    help: 'what goes before the first message of each agent turn, so the user can tell a person from the bot; {agent} is the agent name (empty: nothing)',
  },
  agentTyping: {
    key: 'TiledeskAgentTyping',
    schema: flag.default(true),
    help: 'true to show the user a typing indicator while the agent types (Tiledesk event.emit.typing.start), false to not subscribe to it',
  },
  uploadMaxBytes: {
    key: 'TiledeskUploadMaxBytes',
    schema: number(0, 1024 * 1024 * 1024).default(1_024_000),
    help: "the largest file a user sends that is copied into Tiledesk, in bytes (the server's MAX_UPLOAD_FILE_SIZE; 0 = copy none)",
  },
  uploadTypes: {
    key: 'TiledeskUploadTypes',
    schema: csv
      .default(['.jpg', '.jpeg', '.png', '.gif', '.pdf', '.txt'])
      .transform((list) => list.map((e) => e.toLowerCase()))
      .refine((list) => list.every((e) => e === '*/*' || /^\.[a-z0-9]+$/.test(e)), {
        error: 'must be comma-separated extensions like .jpg,.pdf, or */* for any',
      }),
    help: "comma-separated file extensions Tiledesk accepts from end users (the project's allowed upload extensions; */* = any)",
  },
  microsoftAppId: {
    key: 'MicrosoftAppId',
    schema: z.string().default(''),
    help: 'the bot app id (empty for local runs)',
  },
  timeoutMs: {
    key: 'TiledeskTimeoutMs',
    schema: number(100, 120_000).default(10_000),
    help: 'the timeout of one Tiledesk HTTP call in milliseconds',
  },
  mirrorMaxAgeMs: {
    key: 'TiledeskMirrorMaxAgeMs',
    schema: number(1000, 30 * 24 * 3600 * 1000).default(24 * 3600 * 1000),
    help: 'how long a message that Tiledesk does not accept is retried before it is reported and dropped (ms)',
  },
  mirrorConcurrency: {
    key: 'TiledeskMirrorConcurrency',
    schema: number(1, 1000).default(32),
    help: 'how many conversations are mirrored to Tiledesk at the same time (each one stays in order)',
  },
  mirrorMode: {
    key: 'TiledeskMirrorMode',
    schema: z.enum(['all', 'handoff'], { error: 'must be "all" or "handoff"' }).default('all'),
    help: '"all" (every conversation is mirrored to Tiledesk as it happens) or "handoff" (nothing until a handoff; then the recent history, then the live messages)',
  },
  transcriptMaxMessages: {
    key: 'TiledeskTranscriptMaxMessages',
    schema: number(0, 1000).default(50),
    help: 'how many recent user and bot messages are kept for the agent with TiledeskMirrorMode=handoff, and posted when a handoff starts (0 to 1000; older ones are dropped)',
  },
  catchUpIntervalMs: {
    key: 'TiledeskCatchUpIntervalMs',
    schema: number(0, 24 * 3600 * 1000).default(60_000),
    help: 'how often conversations with an agent are checked for agent messages whose webhook was lost (ms, 0 = never)',
  },
  handoffKeywords: {
    key: 'TiledeskHandoffKeywords',
    schema: csv.default([...DEFAULT_HANDOFF_KEYWORDS]),
    help: 'comma-separated phrases that start a handoff when the user writes one of them',
  },
  handoffIntent: {
    key: 'TiledeskHandoffIntent',
    schema: nonEmpty.default('Handoff'),
    help: 'the recognizer intent name that starts a handoff',
  },
  handoffMinScore: {
    key: 'TiledeskHandoffMinScore',
    schema: number(0, 1).default(0.5),
    help: 'the minimum intent score (0 to 1) that starts a handoff',
  },
  handoffMethod: {
    key: 'TiledeskHandoffMethod',
    schema: z
      .enum(['route', 'command'], { error: 'must be "route" or "command"' })
      .default('route'),
    help: '"route" (PUT …/agent, synchronous) or "command" (the hidden \\agent message)',
  },
  textConnecting: {
    key: 'TiledeskTextConnecting',
    schema: z.string().default('Connecting you to a human agent…'),
    help: 'what the user is told when a handoff starts (empty: nothing)',
  },
  textAssigned: {
    key: 'TiledeskTextAssigned',
    schema: z.string().default('{agent} has joined the chat.'),
    help: 'what the user is told when an agent takes the chat; {agent} is the agent name',
  },
  textQueued: {
    key: 'TiledeskTextQueued',
    schema: z
      .string()
      .default(
        'All our agents are busy right now. Stay here: an agent will answer as soon as one is free.',
      ),
    help: 'what the user is told when nobody is available and the chat waits in the queue',
  },
  textFailed: {
    key: 'TiledeskTextFailed',
    schema: z
      .string()
      .default("Sorry, I couldn't reach a human agent right now. You can keep chatting with me."),
    help: 'what the user is told when the handoff fails',
  },
  textClosed: {
    key: 'TiledeskTextClosed',
    schema: z.string().default('The agent has closed the chat. You are back with the bot.'),
    help: 'what the user is told when the agent closes the chat',
  },
  leaveKeywords: {
    key: 'TiledeskLeaveKeywords',
    schema: csv.default([
      'end chat',
      'stop chat',
      'leave chat',
      'close chat',
      'exit chat',
      'back to the bot',
      'cancel',
      'quit',
      'chiudi chat',
      'termina chat',
      'esci',
      'annulla',
    ]),
    help: 'comma-separated phrases with which the user ends the chat with the agent (the whole message)',
  },
  queueTimeoutMs: {
    key: 'TiledeskQueueTimeoutMs',
    schema: number(0, 7 * 24 * 3600 * 1000).default(10 * 60 * 1000),
    help: 'how long a handoff may wait in the queue before it is ended and the bot answers again (ms, 0 = never)',
  },
  inactivityTimeoutMs: {
    key: 'TiledeskInactivityTimeoutMs',
    schema: number(0, 7 * 24 * 3600 * 1000).default(30 * 60 * 1000),
    help: 'how long a chat with an agent may go without a message from either side before it is closed (ms, 0 = never)',
  },
  botMessagesDuringHandoff: {
    key: 'TiledeskBotMessagesDuringHandoff',
    schema: z
      .enum(['hold', 'send', 'drop'], { error: 'must be "hold", "send" or "drop"' })
      .default('hold'),
    help: 'what happens to messages the bot sends on its own (proactively) while an agent has the chat: "hold" (delivered when the bot has it back), "send" or "drop"',
  },
  textEndChatButton: {
    key: 'TiledeskTextEndChatButton',
    schema: z.string().default('End chat'),
    help: 'the button offered with the connecting, queued and joined notices to end the chat with the agent (empty: no button)',
  },
  textQueuedWait: {
    key: 'TiledeskTextQueuedWait',
    schema: z.string().default(' The current wait is about {minutes} min.'),
    help: 'appended to the queued notice when Tiledesk knows the average wait; {minutes}',
  },
  textLeft: {
    key: 'TiledeskTextLeft',
    schema: z
      .string()
      .default('You have left the chat with the agent. I am here again: how can I help?'),
    help: 'what the user is told after ending the chat with the agent',
  },
  textQueueTimeout: {
    key: 'TiledeskTextQueueTimeout',
    schema: z
      .string()
      .default(
        'Sorry, no agent was free to take your chat. You can keep chatting with me, or ask again later.',
      ),
    help: 'what the user is told when nobody took the chat within TiledeskQueueTimeoutMs',
  },
  textInactivity: {
    key: 'TiledeskTextInactivity',
    schema: z
      .string()
      .default(
        'The chat with the agent was closed because nobody wrote for a while. You are back with the bot.',
      ),
    help: 'what the user (and the agent, in Tiledesk) is told when the chat is closed for inactivity',
  },
  textEnded: {
    key: 'TiledeskTextEnded',
    schema: z.string().default('The chat with the agent has ended. You are back with the bot.'),
    help: 'what the user is told when the bot ends the handoff (endHandoff)',
  },
  webhookMaxBodyBytes: {
    key: 'TiledeskWebhookMaxBodyBytes',
    schema: number(1024, 64 * 1024 * 1024).default(1024 * 1024),
    help: 'the largest webhook body accepted, in bytes (larger ones get 413; default 1 MiB)',
  },
  webhookReadTimeoutMs: {
    key: 'TiledeskWebhookReadTimeoutMs',
    schema: number(100, 120_000).default(10_000),
    help: 'how long a webhook body may take to arrive before it is cut off with 408 (ms)',
  },
  webhookMaxReadsPerSource: {
    key: 'TiledeskWebhookMaxReadsPerSource',
    schema: number(1, 10_000).default(16),
    help: 'how many webhook bodies one remote address may send at the same time (more get 429)',
  },
  webhookProbe: {
    key: 'TiledeskWebhookProbe',
    schema: flag.default(true),
    help: 'true to check at start() that TiledeskWebhookUrl reaches this bot (false if the bot cannot call its own public URL)',
  },
} satisfies { [K in keyof TiledeskSettings]-?: SettingSpec<TiledeskSettings[K]> };

type Spec = typeof SPEC;

/** What the schemas produce and accept; the interfaces above must agree (checked below). */
type Resolved = { [K in keyof Spec]: z.output<Spec[K]['schema']> };
type Accepted = { [K in keyof Spec]?: z.input<Spec[K]['schema']> };

/** App settings as a `process.env`-like record of PascalCase keys. */
export type AppSettings = Readonly<Record<string, string | undefined>>;

const KNOWN: KnownSettings = new Map(
  Object.entries(SPEC).map(([option, spec]: [string, SettingSpec]) => [spec.key, option]),
);

/**
 * What `''` means for a key: user-visible texts (`TiledeskText…`, and the agent name prefix
 * `TiledeskAgentPrefix`) say nothing and phrase lists
 * (`…Keywords`) are off; for every other key `''` counts as unset (so `KEY=` in a `.env` file
 * falls back to the default). Decided by the key's name so that every text and list setting
 * follows the README's rule without a flag to forget.
 */
function emptyIsAValue(key: string): boolean {
  return (
    key.startsWith('TiledeskText') || key.endsWith('Keywords') || key === 'TiledeskAgentPrefix'
  );
}

/**
 * Reads and validates settings. `''` in app settings counts as unset, except for texts (say
 * nothing) and phrase lists (off); a text of blanks only is `''`. Throws one
 * {@link TiledeskConfigError} that lists every bad key, its problem and what to put there; no
 * value is ever echoed. Keys that are ignored because of their name (a misspelt `Tiledesk…` app
 * setting, a camelCase name in the app settings, an unknown key in `overrides`) are reported
 * in one `logger.warn` line naming the closest valid key, before any error is thrown.
 */
export function resolveSettings(
  appSettings: AppSettings = {},
  overrides: TiledeskSettingsInput = {},
  logger?: Pick<Logger, 'warn'>,
): TiledeskSettings {
  const unknown = unknownSettings(
    appSettings,
    overrides as Readonly<Record<string, unknown>>,
    KNOWN,
  );
  if (unknown.length > 0 && logger)
    logger.warn(unknownSettingsMessage(unknown), {
      keys: unknown.map(({ source, key, suggestion }) => ({ source, key, suggestion })),
    });
  const issues: { key: string; problem: string }[] = [];
  const out: Record<string, unknown> = {};
  const accepted: Accepted = overrides; // compile-time: every typed input is one a schema takes
  for (const [option, spec] of Object.entries(SPEC) as [keyof Spec, SettingSpec][]) {
    const override = accepted[option];
    const fromEnv = appSettings[spec.key];
    const raw =
      override !== undefined
        ? override
        : fromEnv === undefined || (fromEnv === '' && !emptyIsAValue(spec.key))
          ? undefined
          : fromEnv;
    // MicrosoftAppId keeps '' as a meaningful value (anonymous local runs).
    const value = option === 'microsoftAppId' && raw === undefined ? (fromEnv ?? undefined) : raw;
    const result = spec.schema.safeParse(value);
    if (result.success) {
      const data: unknown = result.data;
      const blank = spec.key.startsWith('TiledeskText') && typeof data === 'string' && !data.trim();
      out[option] = blank ? '' : data;
    } else {
      const problem =
        value === undefined ? 'missing' : (result.error.issues[0]?.message ?? 'is invalid');
      issues.push({ key: spec.key, problem: `${problem}. Set it to ${spec.help}.` });
    }
  }
  if (issues.length > 0) throw new TiledeskConfigError(issues);
  // Phrase lists are compiled here, once, not on the first turn that reads them.
  for (const [option, value] of Object.entries(out))
    if (option.endsWith('Keywords') && Array.isArray(value)) compilePhrases(value as string[]);
  return out as Resolved satisfies TiledeskSettings;
}
