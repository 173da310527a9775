import type { TiledeskError } from './errors';

/**
 * The logger the package writes to. Pass any subset; the rest gets quiet defaults.
 *
 * Every line is an event: `message` is a stable, dotted event name (`webhook.refused`,
 * `subscription.created`, `error`…) and `context` its fields, so a log pipeline can filter and
 * count without parsing prose. Fields never hold a token, password or secret.
 */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

const noop = (): void => undefined;
export const LOG_PREFIX = '[botbuilder-tiledesk]';

/**
 * Field names that may hold credentials. Our own calls never pass them (a rule of this code
 * base); this is the belt to that pair of braces, for every logger, default or the host's.
 */
const SECRET_KEY = /secret|token|password|authorization|jwt/i;

function scrub(context: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!context) return context;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(context)) {
    if (SECRET_KEY.test(key)) (out ??= { ...context })[key] = '[redacted]';
  }
  return out ?? context;
}

/**
 * The console line: `[botbuilder-tiledesk] <event> {"field":…}` — one prefix, added here and
 * only here. (It used to appear twice: error messages carry it too, and the logger added its
 * own; error messages now go into the `message` field of an `error` event, prefix removed.)
 */
function line(event: string, context: Record<string, unknown> | undefined): string {
  const head = event.startsWith(LOG_PREFIX) ? event : `${LOG_PREFIX} ${event}`;
  if (!context || Object.keys(context).length === 0) return head;
  let fields: string;
  try {
    fields = JSON.stringify(context);
  } catch {
    fields = '{"fields":"unserialisable"}';
  }
  return `${head} ${fields}`;
}

/**
 * `debug` and `info` default to no-ops, `warn` and `error` to one console line each. Fields
 * whose name looks like a credential are replaced by `[redacted]` for every logger.
 */
export function createLogger(partial: Partial<Logger> = {}): Logger {
  const wrap =
    (fn: Logger['debug'] | undefined, fallback: Logger['debug']): Logger['debug'] =>
    (message, context) =>
      (fn ?? fallback)(message, scrub(context));
  return {
    debug: partial.debug ? wrap(partial.debug, noop) : noop,
    info: partial.info ? wrap(partial.info, noop) : noop,
    warn: wrap(partial.warn, (m, c) => console.warn(line(m, c))),
    error: wrap(partial.error, (m, c) => console.error(line(m, c))),
  };
}

/** The message of an error without the package prefix (the log line has its own). */
export function bareMessage(error: Error): string {
  const m = error.message;
  return m.startsWith(`${LOG_PREFIX} `) ? m.slice(LOG_PREFIX.length + 1) : m;
}

/** The default `onError`: one `error` event with the code, the message and the context. */
export function logError(logger: Logger, error: TiledeskError): void {
  logger.error('error', { code: error.code, message: bareMessage(error), ...error.context });
}
