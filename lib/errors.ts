/**
 * Errors raised by botbuilder-tiledesk. Every error carries a stable `code` to branch on and
 * context fields; none ever carries a token, password or secret (messages are built from
 * method, path and status only, never from request headers or bodies).
 */

/** Stable codes; branch on `error.code`, not on `instanceof` across package copies. */
export type TiledeskErrorCode =
  | 'TILEDESK_CONFIG'
  | 'TILEDESK_HTTP'
  | 'TILEDESK_NETWORK'
  | 'TILEDESK_TIMEOUT'
  | 'TILEDESK_UNAUTHORIZED'
  | 'TILEDESK_BAD_RESPONSE'
  | 'TILEDESK_STORAGE'
  | 'TILEDESK_DELIVERY'
  | 'TILEDESK_RECOGNIZER'
  | 'TILEDESK_MIRROR_GAVE_UP'
  /** The admin account could not sign in: wrong email or password (`context.reason`). */
  | 'TILEDESK_SIGN_IN_FAILED'
  /** Tiledesk did not answer, timed out or failed (5xx, 429) while the bot started. */
  | 'TILEDESK_UNREACHABLE'
  /** A webhook subscription could not be found or created (`context.event`, `context.reason`). */
  | 'TILEDESK_SUBSCRIPTION_MISSING'
  /** The Tiledesk bot standing for this bot (`TiledeskMirrorVisibility=bot`) is missing. */
  | 'TILEDESK_BOT_MISSING'
  /** The bot's own webhook URL did not reach this handler (`context.reason`, `context.status`). */
  | 'TILEDESK_WEBHOOK_UNREACHABLE';

const PREFIX = '[botbuilder-tiledesk]';

/** Base class of every error this package raises. */
export class TiledeskError extends Error {
  readonly code: TiledeskErrorCode;
  /** Non-secret context (conversation key, request id, counts...). */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: TiledeskErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(`${PREFIX} ${message}`);
    this.name = 'TiledeskError';
    this.code = code;
    this.context = context;
  }
}

/** Missing or invalid settings. `issues` names every bad key and what to put there. */
export class TiledeskConfigError extends TiledeskError {
  readonly issues: ReadonlyArray<{ key: string; problem: string }>;

  constructor(issues: ReadonlyArray<{ key: string; problem: string }>) {
    const lines = issues.map((i) => `  - ${i.key}: ${i.problem}`);
    super('TILEDESK_CONFIG', `Invalid Tiledesk settings:\n${lines.join('\n')}`, {
      keys: issues.map((i) => i.key),
    });
    this.name = 'TiledeskConfigError';
    this.issues = issues;
  }
}

/** A Tiledesk REST call failed. `path` never contains credentials. */
export class TiledeskApiError extends TiledeskError {
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  /** True for network errors, timeouts, 5xx and 429: the call may succeed later. */
  readonly retryable: boolean;
  /** From a `Retry-After` header, when Tiledesk sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: TiledeskErrorCode,
    private readonly init: {
      method: string;
      path: string;
      status?: number;
      detail?: string;
      retryable: boolean;
      retryAfterMs?: number;
      /** More non-secret context (e.g. `reason`, `step`). */
      extra?: Record<string, string>;
    },
  ) {
    const status = init.status === undefined ? '' : ` (${init.status})`;
    const detail = init.detail ? `: ${init.detail}` : '';
    super(code, `Tiledesk ${init.method} ${init.path} failed${status}${detail}`, {
      method: init.method,
      path: init.path,
      status: init.status,
      ...init.extra,
    });
    this.name = 'TiledeskApiError';
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** The same failure, marked retryable (e.g. a 401 worth one retry with a fresh token). */
  asRetryable(): TiledeskApiError {
    return new TiledeskApiError(this.code, { ...this.init, retryable: true });
  }

  /**
   * The same failure under a more telling code (a 401 on sign-in is a wrong password), keeping
   * status and retry hints; `extra` joins the context, and its `reason` the message.
   */
  withCode(code: TiledeskErrorCode, extra: Record<string, string> = {}): TiledeskApiError {
    const detail = [extra['reason'], this.init.detail].filter(Boolean).join(': ');
    return new TiledeskApiError(code, {
      ...this.init,
      ...(detail ? { detail } : {}),
      extra: { ...this.init.extra, ...extra },
    });
  }
}

export function isTiledeskError(value: unknown): value is TiledeskError {
  if (!(value instanceof Error)) return false;
  const code: unknown = (value as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('TILEDESK_');
}

/** Wraps anything thrown into a TiledeskError without copying secrets (only the message). */
export function asTiledeskError(
  value: unknown,
  code: TiledeskErrorCode,
  context: Record<string, unknown> = {},
): TiledeskError {
  if (isTiledeskError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new TiledeskError(code, message, context);
}
