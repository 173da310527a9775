import type { Logger } from '../logger';
import { isJsonContentType } from './webhook-checks';
import type { WebhookRefusal } from './webhook-stats';
import type { WebhookRequest } from './webhook';

/**
 * Reading a webhook body, cheapest checks first: the declared content type (415) and length
 * (413) before a byte is read, bodies in flight per remote address (429), then the body within
 * a size cap (413) and a time limit (408), then JSON (400). For the receiver (webhook.ts).
 */

export interface WebhookReadLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** Why a host could not read a body within the limits. */
export class WebhookReadError extends Error {
  constructor(readonly reason: 'too_large' | 'timeout' | 'aborted') {
    super(`webhook body ${reason}`);
    this.name = 'WebhookReadError';
  }
}

export type BodyRead =
  | { ok: true; body: unknown }
  | { ok: false; reason: WebhookRefusal; status: number; error: string };

export class BodyReader {
  private readonly reading = new Map<string, number>();
  private warnedParsedBody = false;

  constructor(
    private readonly logger: Logger,
    private readonly limits: WebhookReadLimits & { maxReadsPerSource: number },
  ) {}

  /** Bodies being read right now (all addresses). */
  inProgress(): number {
    let n = 0;
    for (const v of this.reading.values()) n += v;
    return n;
  }

  async read(request: WebhookRequest, remote: string): Promise<BodyRead> {
    if (!isJsonContentType(header(request.headers, 'content-type'))) {
      return refused('content_type', 415, 'Content-Type must be application/json');
    }
    const declared = Number(header(request.headers, 'content-length') ?? 0);
    if (declared > this.limits.maxBytes) return refused('too_large', 413, 'Body too large');
    let raw: unknown;
    if (request.body !== undefined || !request.readBody) {
      raw = request.body;
      this.warnIfParsed(raw);
    } else {
      const busy = this.reading.get(remote) ?? 0;
      if (busy >= this.limits.maxReadsPerSource) {
        return refused('busy', 429, 'Too many bodies at once');
      }
      this.reading.set(remote, busy + 1);
      try {
        raw = await request.readBody({
          maxBytes: this.limits.maxBytes,
          timeoutMs: this.limits.timeoutMs,
        });
      } catch (err) {
        const reason = err instanceof WebhookReadError ? err.reason : 'aborted';
        if (reason === 'too_large') return refused('too_large', 413, 'Body too large');
        if (reason === 'timeout') return refused('timeout', 408, 'Body not received in time');
        return refused('aborted', 400, 'Body not received');
      } finally {
        const left = (this.reading.get(remote) ?? 1) - 1;
        if (left > 0) this.reading.set(remote, left);
        else this.reading.delete(remote);
      }
    }
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return { ok: true, body: raw };
    if (raw.length > this.limits.maxBytes) return refused('too_large', 413, 'Body too large');
    try {
      return { ok: true, body: JSON.parse(raw.toString()) as unknown };
    } catch {
      return refused('malformed', 400, 'Body is not JSON');
    }
  }

  /** A body parser ran before us: the secret could not be checked before the body was read. */
  private warnIfParsed(raw: unknown): void {
    if (this.warnedParsedBody || raw === undefined || typeof raw === 'string') return;
    if (Buffer.isBuffer(raw)) return;
    this.warnedParsedBody = true;
    this.logger.warn('webhook.body_parsed_before_check', {
      fix: 'mount tiledesk.webhookHandler before any body parser, so that x-hook-secret is checked before the body is read (README: Health and troubleshooting)',
    });
  }
}

function refused(reason: WebhookRefusal, status: number, error: string): BodyRead {
  return { ok: false, reason, status, error };
}

export function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    // Node lower-cases header names; other hosts may not.
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
