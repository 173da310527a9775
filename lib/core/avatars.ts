import type { Logger } from '../logger';
import type { Clock } from './types';

/**
 * Agents' Tiledesk photos, for `from.properties.avatarUrl` of their messages. Neither a message
 * nor its request says whether an agent has a photo; one GET of its fixed URL does
 * (`TiledeskApi.userPhotoUrl`). So each agent is looked up once per `ttlMs` per instance (a
 * failure: again after `retryMs`), when first seen (joining, typing, writing); a message waits
 * for a lookup in flight at most `waitMs`, then goes without the avatar rather than late.
 */

export interface AvatarsOptions {
  lookup: ((userId: string) => Promise<string | undefined>) | undefined;
  clock: Clock;
  logger: Logger;
  ttlMs?: number;
  retryMs?: number;
  waitMs?: number;
  /** Agents remembered (oldest forgotten first). */
  max?: number;
}

interface Entry {
  url: string | undefined;
  /** Until when `url` holds; undefined while the lookup runs. */
  until: number | undefined;
  pending: Promise<string | undefined> | undefined;
}

/** Tiledesk user ids (agents) are ObjectIds; anything else has no photo to look up. */
const OBJECT_ID = /^[0-9a-f]{24}$/i;

export class Avatars {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly waitMs: number;
  private readonly max: number;

  constructor(private readonly o: AvatarsOptions) {
    this.ttlMs = o.ttlMs ?? 60 * 60 * 1000;
    this.retryMs = o.retryMs ?? 60 * 1000;
    this.waitMs = o.waitMs ?? 1000;
    this.max = o.max ?? 1000;
  }

  /** Starts a lookup if the agent's photo is not known (fire and forget). */
  prefetch(agentId: string): void {
    void this.lookup(agentId);
  }

  /** The agent's photo URL, waiting at most `waitMs` for a lookup in flight. */
  async get(agentId: string): Promise<string | undefined> {
    const known = this.lookup(agentId);
    if (!(known instanceof Promise)) return known;
    let timer: unknown;
    const late = new Promise<undefined>((resolve) => {
      timer = this.o.clock.setTimeout(() => resolve(undefined), this.waitMs);
    });
    try {
      return await Promise.race([known, late]);
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }

  private lookup(agentId: string): string | undefined | Promise<string | undefined> {
    const lookup = this.o.lookup;
    if (!lookup || !OBJECT_ID.test(agentId)) return undefined;
    const now = this.o.clock.now();
    const entry = this.entries.get(agentId);
    if (entry?.pending) return entry.pending;
    if (entry && entry.until !== undefined && entry.until > now) return entry.url;
    const fresh: Entry = { url: entry?.url, until: undefined, pending: undefined };
    fresh.pending = lookup(agentId).then(
      (url) => {
        this.settle(fresh, url, this.ttlMs);
        return url;
      },
      (err: unknown) => {
        // Cosmetic: a photo we cannot check is left out, and checked again later.
        this.o.logger.debug('avatar.lookup_failed', {
          agent: agentId,
          cause: err instanceof Error ? err.message : String(err),
        });
        this.settle(fresh, undefined, this.retryMs);
        return undefined;
      },
    );
    this.entries.delete(agentId);
    this.entries.set(agentId, fresh);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return fresh.pending;
  }

  private settle(entry: Entry, url: string | undefined, forMs: number): void {
    entry.url = url;
    entry.until = this.o.clock.now() + forMs;
    entry.pending = undefined;
  }
}
