/**
 * A minimal Tiledesk REST caller for the end-to-end and contract tests: `fetch`, nothing of the
 * package's own client, so the tests check the package against an independent reading of the API.
 * Tokens are passed per call and never printed; errors name method, path and status only.
 */

export interface RestResponse {
  status: number;
  /** Parsed JSON when the server answered JSON, `'<image>'` for an image, else the text. */
  body: unknown;
  headers: Headers;
}

export interface CallOptions {
  /** `JWT <token>` is sent (a token given with its `JWT ` prefix is used as is). */
  token?: string;
  /** Raw `Authorization` header value (sign-in variants). */
  authorization?: string;
  body?: unknown;
  /** A multipart body instead (uploads). */
  form?: FormData;
  /** Give up after this long (a Tiledesk route that never answers exists, §3.3). Default 15 s. */
  timeoutMs?: number;
}

export class Rest {
  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, o: CallOptions = {}): Promise<RestResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.body !== undefined && !o.form) headers['content-type'] = 'application/json';
    if (o.authorization !== undefined) headers['authorization'] = o.authorization;
    else if (o.token !== undefined) headers['authorization'] = withScheme(o.token);
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(o.form ? { body: o.form } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('image/')) {
      await res.arrayBuffer();
      return { status: res.status, body: '<image>', headers: res.headers };
    }
    const text = await res.text();
    let body: unknown = text;
    if (type.includes('json') && text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    return { status: res.status, body, headers: res.headers };
  }

  /** Like `call`, but a status other than 2xx throws (without the body: it may hold secrets). */
  async ok<T = Record<string, unknown>>(
    method: string,
    path: string,
    o: CallOptions = {},
  ): Promise<T> {
    const res = await this.call(method, path, o);
    if (res.status < 200 || res.status >= 300) {
      throw new Error(`${method} ${path} answered ${res.status}: ${summary(res.body)}`);
    }
    return res.body as T;
  }
}

function withScheme(token: string): string {
  return /^jwt\s/i.test(token) ? token : `JWT ${token}`;
}

/** `msg` / `error` / `errors` of an error body, never anything else (no tokens, no secrets). */
function summary(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const part = b['msg'] ?? b['message'] ?? b['error'] ?? b['errors'] ?? b['err'];
    if (part !== undefined) return JSON.stringify(part).slice(0, 200);
  }
  return '(no message)';
}

/** A JSON object field as a string, or a clear failure. */
export function field(body: unknown, key: string): string {
  const value =
    body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`expected a string "${key}" in the answer`);
  }
  return value;
}
