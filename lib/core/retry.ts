/**
 * Retry policy, pure: which failures are worth another try and how long to wait.
 * Delays are exponential with jitter, honour `Retry-After`, and are always capped (a huge
 * Retry-After must not overflow a timer, which Node would fire after 1 ms).
 */

export interface RetryHint {
  retryable?: boolean;
  retryAfterMs?: number | undefined;
}

/** Longest wait we accept from a `Retry-After` (then we try again anyway). */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

export function backoffMs(
  attempt: number,
  random: () => number,
  retryAfterMs: number | undefined,
  baseMs = 250,
  maxMs = 60_000,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const jittered = exp / 2 + (random() * exp) / 2;
  const after = Math.min(Math.max(retryAfterMs ?? 0, 0), MAX_RETRY_AFTER_MS);
  return Math.max(jittered, Number.isFinite(after) ? after : MAX_RETRY_AFTER_MS);
}

/** Tiledesk calls: network errors, timeouts, 5xx and 429 are retried (the client marks them). */
export function isRetryable(err: unknown): boolean {
  return (err as RetryHint | undefined)?.retryable === true;
}

export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as RetryHint | undefined)?.retryAfterMs;
  return typeof v === 'number' ? v : undefined;
}

/**
 * A failed proactive send to the channel: 4xx other than 408/429 (the conversation is gone,
 * the bot was removed, the reference is wrong) will not succeed later; anything else may.
 */
export function isPermanentChannelError(err: unknown): boolean {
  const e = err as { statusCode?: unknown; status?: unknown } | undefined;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : e?.status;
  return (
    typeof status === 'number' && status >= 400 && status < 500 && ![408, 429].includes(status)
  );
}
