/** The logger the package writes to. Pass any subset; the rest gets quiet defaults. */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

const noop = (): void => undefined;

/**
 * `debug` and `info` default to no-ops, `warn` and `error` to the console. Callers never pass
 * tokens or secrets in `context`; that is a rule of this code base, not a filter here.
 */
export function createLogger(partial: Partial<Logger> = {}): Logger {
  return {
    debug: partial.debug ?? noop,
    info: partial.info ?? noop,
    warn: partial.warn ?? ((m, c) => console.warn(`[botbuilder-tiledesk] ${m}`, c ?? '')),
    error: partial.error ?? ((m, c) => console.error(`[botbuilder-tiledesk] ${m}`, c ?? '')),
  };
}
