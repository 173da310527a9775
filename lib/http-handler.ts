import type { IncomingHttpHeaders } from 'node:http';
import {
  WebhookReadError,
  type WebhookReadLimits,
  type WebhookRequest,
  type WebhookResponse,
} from './core/webhook';

/**
 * Node-style shim around the framework-agnostic webhook core. Typed structurally, so it fits
 * restify (`server.pre`/`server.post`), Express and plain `node:http` alike.
 *
 * Mounted before any body parser, it hands the core a `readBody` that the core calls only once
 * the headers passed (secret, content type, declared length): a refused request is answered at
 * once, unread, with `Connection: close` — Node then closes the socket as soon as the answer is
 * out, so a never-finished body holds neither memory nor a connection. A body that is too large
 * or too slow is cut off (413/408) the same way. Behind a body parser (`req.body` set) the body
 * is already in memory; the core still checks everything else, and warns once.
 */

export interface NodeLikeRequest {
  headers: IncomingHttpHeaders;
  body?: unknown;
  on?(event: string, listener: (chunk?: unknown) => void): unknown;
  removeListener?(event: string, listener: (chunk?: unknown) => void): unknown;
  pause?(): unknown;
  readableEnded?: boolean;
  complete?: boolean;
  socket?: { remoteAddress?: string | undefined; destroyed?: boolean; destroy(): unknown } | null;
}

export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
  once?(event: 'finish', listener: () => void): unknown;
}

export type NodeWebhookHandler = (req: NodeLikeRequest, res: NodeLikeResponse) => Promise<void>;

export interface NodeWebhookHandlerOptions {
  /**
   * After a refusal whose body was not read to its end, the socket is destroyed this long after
   * the answer went out, if Node has not closed it already (default 1000 ms).
   */
  closeGraceMs?: number;
}

export function createNodeWebhookHandler(
  handle: (request: WebhookRequest) => Promise<WebhookResponse>,
  options: NodeWebhookHandlerOptions = {},
): NodeWebhookHandler {
  const graceMs = options.closeGraceMs ?? 1000;
  return async (req, res) => {
    const reader = new BodyReader(req);
    let result: WebhookResponse;
    try {
      const request: WebhookRequest = {
        headers: req.headers,
        remoteAddress: req.socket?.remoteAddress ?? undefined,
      };
      if (req.body !== undefined) request.body = req.body;
      else if (reader.readable) request.readBody = (limits) => reader.read(limits);
      result = await handle(request);
    } catch {
      result = { status: 500, body: { error: 'Internal error' } };
    }
    res.statusCode = result.status;
    res.setHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    const unfinished = !reader.complete;
    if (unfinished) {
      // The rest of the body is never read: Node closes the connection once this answer is out.
      res.setHeader('connection', 'close');
      const socket = req.socket;
      res.once?.('finish', () => {
        const timer = setTimeout(() => {
          if (socket && !socket.destroyed) socket.destroy();
        }, graceMs);
        timer.unref?.();
      });
    }
    res.end(JSON.stringify(result.body));
  };
}

/** Reads one request's body within limits; knows whether the body was read to its end. */
class BodyReader {
  private ended: boolean;

  constructor(private readonly req: NodeLikeRequest) {
    this.ended = req.readableEnded === true;
  }

  get readable(): boolean {
    return typeof this.req.on === 'function' && !this.ended;
  }

  /** True once the body has been read to its end (or the host had read it already). */
  get complete(): boolean {
    return this.ended || this.req.body !== undefined || this.req.readableEnded === true;
  }

  read(limits: WebhookReadLimits): Promise<Buffer> {
    const req = this.req;
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const listeners: [string, (chunk?: unknown) => void][] = [];
      const listen = (event: string, fn: (chunk?: unknown) => void) => {
        listeners.push([event, fn]);
        req.on!(event, fn);
      };
      const done = (error: WebhookReadError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const [event, fn] of listeners) req.removeListener?.(event, fn);
        if (error) {
          chunks.length = 0; // nothing of a refused body is kept
          req.pause?.();
          reject(error);
        } else {
          this.ended = true;
          resolve(Buffer.concat(chunks, size));
        }
      };
      const timer = setTimeout(() => done(new WebhookReadError('timeout')), limits.timeoutMs);
      listen('data', (chunk) => {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buf.length;
        if (size > limits.maxBytes) done(new WebhookReadError('too_large'));
        else chunks.push(buf);
      });
      listen('end', () => done(undefined));
      listen('error', () => done(new WebhookReadError('aborted')));
      listen('aborted', () => done(new WebhookReadError('aborted')));
      // 'close' before 'end': the client went away mid-body.
      listen('close', () => done(new WebhookReadError('aborted')));
    });
  }
}
