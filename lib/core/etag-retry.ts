/**
 * Optimistic concurrency over botbuilder `Storage`: run `attempt` (read → change → write with
 * the eTag read) until it does not hit an eTag conflict, waiting a short random time between
 * tries so competing writers (other bot instances) spread out.
 */
export async function withETagRetry<T>(attempt: () => Promise<T>, maxAttempts = 10): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= maxAttempts || !isETagConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 2 ** Math.min(n, 6)));
    }
  }
}

export function isETagConflict(err: unknown): boolean {
  return err instanceof Error && /etag/i.test(err.message);
}
