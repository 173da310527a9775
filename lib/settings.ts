import { z } from 'zod';
import { TiledeskConfigError } from './errors';

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

function isHttpUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The resolved settings, every default applied. Written out (not inferred from the schemas
 * below) so the published `.d.ts` names no zod type; `SPEC` is checked against it.
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
  microsoftAppId: string;
  timeoutMs: number;
  mirrorMaxAgeMs: number;
  mirrorConcurrency: number;
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
}

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
  microsoftAppId?: string;
  timeoutMs?: number;
  mirrorMaxAgeMs?: number;
  mirrorConcurrency?: number;
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
  catchUpIntervalMs: {
    key: 'TiledeskCatchUpIntervalMs',
    schema: number(0, 24 * 3600 * 1000).default(60_000),
    help: 'how often conversations with an agent are checked for agent messages whose webhook was lost (ms, 0 = never)',
  },
  handoffKeywords: {
    key: 'TiledeskHandoffKeywords',
    schema: csv.default(['human', 'agent', 'operator']),
    help: 'comma-separated words that start a handoff when the user writes one of them',
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
} satisfies { [K in keyof TiledeskSettings]-?: SettingSpec<TiledeskSettings[K]> };

type Spec = typeof SPEC;

/** What the schemas produce and accept; the interfaces above must agree (checked below). */
type Resolved = { [K in keyof Spec]: z.output<Spec[K]['schema']> };
type Accepted = { [K in keyof Spec]?: z.input<Spec[K]['schema']> };

/** App settings as a `process.env`-like record of PascalCase keys. */
export type AppSettings = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates settings. Empty strings in app settings count as unset (so `KEY=` in a
 * `.env` file falls back to the default). Throws one {@link TiledeskConfigError} that lists every
 * bad key, its problem and what to put there; no value is ever echoed.
 */
export function resolveSettings(
  appSettings: AppSettings = {},
  overrides: TiledeskSettingsInput = {},
): TiledeskSettings {
  const issues: { key: string; problem: string }[] = [];
  const out: Record<string, unknown> = {};
  const accepted: Accepted = overrides; // compile-time: every typed input is one a schema takes
  for (const [option, spec] of Object.entries(SPEC) as [keyof Spec, SettingSpec][]) {
    const override = accepted[option];
    const fromEnv = appSettings[spec.key];
    const raw =
      override !== undefined
        ? override
        : fromEnv === undefined || fromEnv === ''
          ? undefined
          : fromEnv;
    // MicrosoftAppId keeps '' as a meaningful value (anonymous local runs).
    const value = option === 'microsoftAppId' && raw === undefined ? (fromEnv ?? undefined) : raw;
    const result = spec.schema.safeParse(value);
    if (result.success) {
      out[option] = result.data;
    } else {
      const problem =
        value === undefined ? 'missing' : (result.error.issues[0]?.message ?? 'is invalid');
      issues.push({ key: spec.key, problem: `${problem}. Set it to ${spec.help}.` });
    }
  }
  if (issues.length > 0) throw new TiledeskConfigError(issues);
  return out as Resolved satisfies TiledeskSettings;
}
