import type { IncomingMessage } from 'node:http';
import type { Principal } from './auth';
import type { StandInProjectUser } from './types';
import { isRecord } from './util';

/** What a route handler produces; the server applies faults/latency and writes it. */
export type Reply =
  /** `body` is serialised when the reply is built, so later state changes cannot leak into it. */
  | {
      status: number;
      /** A Buffer for file downloads. */
      body: string | Buffer;
      contentType?: string;
      headers?: Record<string, string>;
    }
  /** Never answer (reproduces a server-side hang, §3.3 pitfall). */
  | { hang: true };

export interface Ctx {
  method: string;
  /** URL path without query string. */
  path: string;
  segments: string[];
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  principal?: Principal;
  projectUser?: StandInProjectUser;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  const contentType = 'application/json; charset=utf-8';
  const raw = JSON.stringify(body) ?? 'null';
  return headers ? { status, body: raw, contentType, headers } : { status, body: raw, contentType };
}

export function text(status: number, body: string, headers?: Record<string, string>): Reply {
  const contentType = 'text/plain; charset=utf-8';
  return headers ? { status, body, contentType, headers } : { status, body, contentType };
}

export function bodyRecord(ctx: Ctx): Record<string, unknown> {
  return isRecord(ctx.body) ? ctx.body : {};
}

/** express `bodyParser.json({limit: '500KB'})` + urlencoded (§1.1): 500 * 1024 bytes. */
export const BODY_LIMIT = 500 * 1024;

export type BodyResult = { ok: true; body: unknown } | { ok: false; reply: Reply };

const TOO_LARGE: Reply = json(413, { err: 'Request entity too large', limit: '500KB' });
/** Invalid JSON reaches the generic error handler: `S:app.js#L700-729` → 500 {err:"error"}. */
const BAD_JSON: Reply = json(500, { err: 'error' });

/** Multipart bodies (file uploads) skip the JSON parser's limit; multer applies its own. */
const MULTIPART_LIMIT = 64 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const contentType = String(req.headers['content-type'] ?? '');
    const multipart = contentType.includes('multipart/form-data');
    const limit = multipart ? MULTIPART_LIMIT : BODY_LIMIT;
    if (declared > limit) {
      req.resume();
      resolve({ ok: false, reply: TOO_LARGE });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => resolve({ ok: true, body: undefined }));
    req.on('end', () => {
      if (tooLarge) return resolve({ ok: false, reply: TOO_LARGE });
      if (size === 0) return resolve({ ok: true, body: {} });
      if (multipart) {
        return resolve({ ok: true, body: { multipart: Buffer.concat(chunks), contentType } });
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      if (type.includes('json')) {
        try {
          resolve({ ok: true, body: JSON.parse(raw) as unknown });
        } catch {
          resolve({ ok: false, reply: BAD_JSON });
        }
      } else if (type.includes('application/x-www-form-urlencoded')) {
        resolve({ ok: true, body: Object.fromEntries(new URLSearchParams(raw)) });
      } else {
        resolve({ ok: true, body: {} });
      }
    });
  });
}
