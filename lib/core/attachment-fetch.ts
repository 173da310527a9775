import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { TiledeskError } from '../errors';

/**
 * Downloads a file a user sent on the channel, never keeping more than `maxBytes`: a declared
 * `Content-Length` over it stops before the body is read, a longer body is cut off as it
 * streams. Permanent answers (401/403/404/410, other 4xx) come back as a result to report;
 * network errors, timeouts, 5xx and 429 throw a retryable error for the outbox to retry.
 * The bot's token, when given, is sent as `Authorization: Bearer` and never kept in errors.
 * (The one file besides lib/tiledesk/client.ts that uses axios: these are channel calls, not
 * Tiledesk's, and follow redirects, which the Tiledesk client does not.)
 */

export type Fetched =
  | { ok: true; data: Buffer; contentType: string | undefined }
  | { ok: false; reason: 'too-large'; size: number | undefined }
  | { ok: false; reason: 'refused'; status: number };

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  token?: string | undefined;
}

/** The default client: keep-alive, redirects followed (axios drops Authorization across hosts). */
export function createAttachmentHttp(): AxiosInstance {
  return axios.create({
    maxRedirects: 5,
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
  });
}

/** A download that failed for now (the outbox retries the entry). */
export class AttachmentFetchError extends TiledeskError {
  readonly retryable = true;
  constructor(
    /** What went wrong, for the note: `ECONNRESET`, `timed out`, `HTTP 502`… */
    readonly detail: string,
    status?: number,
  ) {
    super('TILEDESK_NETWORK', `Download of a user's attachment failed: ${detail}`, {
      step: 'attachment download',
      ...(status === undefined ? {} : { status }),
    });
    this.name = 'AttachmentFetchError';
  }
}

export async function fetchAttachment(
  client: AxiosInstance,
  url: string,
  o: FetchOptions,
): Promise<Fetched> {
  let response;
  try {
    response = await client.request<Readable>({
      method: 'GET',
      url,
      timeout: o.timeoutMs,
      responseType: 'stream',
      validateStatus: () => true,
      headers: o.token ? { Authorization: `Bearer ${o.token}` } : {},
    });
  } catch (err) {
    // Only the code: an AxiosError's config holds the Authorization header.
    const code = isAxiosError(err) ? err.code : undefined;
    throw new AttachmentFetchError(code ?? 'network error');
  }
  const body = response.data;
  const { status } = response;
  if (status < 200 || status >= 300) {
    body.destroy();
    if (status >= 500 || status === 429 || status === 408) {
      throw new AttachmentFetchError(`HTTP ${status}`, status);
    }
    return { ok: false, reason: 'refused', status };
  }
  const header = (name: string): string | undefined => {
    const v: unknown = (response.headers as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : undefined;
  };
  const declared = Number(header('content-length'));
  const size = Number.isFinite(declared) && header('content-length') ? declared : undefined;
  if (size !== undefined && size > o.maxBytes) {
    body.destroy();
    return { ok: false, reason: 'too-large', size };
  }
  const contentType = header('content-type')?.split(';')[0]?.trim() || undefined;
  return readBounded(body, o.maxBytes, o.timeoutMs).then((data) =>
    data === 'too-large'
      ? { ok: false as const, reason: 'too-large' as const, size }
      : { ok: true as const, data, contentType },
  );
}

function readBounded(
  body: Readable,
  maxBytes: number,
  timeoutMs: number,
): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(new AttachmentFetchError('timed out')), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      body.removeAllListeners('data');
    };
    const fail = (err: Error): void => {
      done();
      body.destroy();
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        body.destroy();
        resolve('too-large');
      } else chunks.push(chunk);
    });
    body.on('error', () => fail(new AttachmentFetchError('connection lost')));
    body.on('end', () => {
      done();
      resolve(Buffer.concat(chunks));
    });
  });
}

/** A `data:` URL's bytes and type, or 'too-large' (checked before decoding). */
export function decodeDataUrl(
  url: string,
  maxBytes: number,
): { data: Buffer; contentType: string | undefined } | 'too-large' | undefined {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) return undefined;
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const base64 = /;base64$/i.test(meta);
  const estimate = base64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimate > maxBytes + 3) return 'too-large';
  let data: Buffer;
  try {
    data = base64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload));
  } catch {
    return undefined;
  }
  if (data.length > maxBytes) return 'too-large';
  const contentType = meta.split(';')[0]?.trim() || undefined;
  return { data, contentType };
}
