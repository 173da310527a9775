/** The logger the package writes to. Pass any subset; the rest gets quiet defaults. */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

const noop = (): void => undefined;
const PREFIX = '[botbuilder-tiledesk]';

/** One prefix per line: error messages already start with it. */
function prefixed(message: string): string {
  return message.startsWith(PREFIX) ? message : `${PREFIX} ${message}`;
}

/**
 * `debug` and `info` default to no-ops, `warn` and `error` to the console. Callers never pass
 * tokens or secrets in `context`; that is a rule of this code base, not a filter here.
 */
export function createLogger(partial: Partial<Logger> = {}): Logger {
  return {
    debug: partial.debug ?? noop,
    info: partial.info ?? noop,
    warn: partial.warn ?? ((m, c) => console.warn(prefixed(m), c ?? '')),
    error: partial.error ?? ((m, c) => console.error(prefixed(m), c ?? '')),
  };
}
