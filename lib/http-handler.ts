import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookRequest, WebhookResponse } from './core/webhook';

/**
 * Node-style shim around the framework-agnostic webhook core. Typed structurally, so it fits
 * restify (`server.post(path, handler)`), Express and plain `node:http` alike. When no body
 * parser ran, the raw body is read here (up to `maxBytes`).
 */

export interface NodeLikeRequest {
  headers: IncomingHttpHeaders;
  body?: unknown;
  on?(event: 'data' | 'end' | 'error', listener: (chunk?: unknown) => void): unknown;
  readableEnded?: boolean;
}

export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

export type NodeWebhookHandler = (req: NodeLikeRequest, res: NodeLikeResponse) => Promise<void>;

export function createNodeWebhookHandler(
  handle: (request: WebhookRequest) => Promise<WebhookResponse>,
  maxBytes = 1024 * 1024,
): NodeWebhookHandler {
  return async (req, res) => {
    let result: WebhookResponse;
    try {
      const body = req.body !== undefined ? req.body : await readBody(req, maxBytes);
      result = await handle({ headers: req.headers, body });
    } catch (err) {
      const tooLarge = err instanceof Error && err.message === 'too large';
      result = {
        status: tooLarge ? 413 : 500,
        body: { error: tooLarge ? 'Body too large' : 'Internal error' },
      };
    }
    res.statusCode = result.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result.body));
  };
}

function readBody(req: NodeLikeRequest, maxBytes: number): Promise<Buffer | undefined> {
  if (!req.on || req.readableEnded) return Promise.resolve(undefined);
  const on = req.on.bind(req);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    on('data', (chunk) => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buf.length;
      if (size > maxBytes) reject(new Error('too large'));
      else chunks.push(buf);
    });
    on('end', () => resolve(Buffer.concat(chunks)));
    on('error', (err) => reject(err instanceof Error ? err : new Error('read failed')));
  });
}
