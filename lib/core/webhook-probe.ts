import http from 'node:http';
import https from 'node:https';
import { PROBE_HEADER, SECRET_ERROR } from './webhook';

/**
 * Does the webhook URL reach a botbuilder-tiledesk webhook handler? One POST without a secret,
 * as anybody could send: our handler answers it 401 with its own error text (or 503 while it
 * knows no subscription yet). A 404 means a wrong path (Tiledesk would get 404s and drop the
 * deliveries: it does not retry 4xx), a 3xx a redirect Tiledesk will not follow for a POST.
 * Cheap (one request, no body to speak of) and honest: it proves the URL reaches *a*
 * botbuilder-tiledesk handler, which from outside is what Tiledesk needs.
 */

export type ProbeOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      reason: 'not found' | 'redirect' | 'unreachable' | 'timeout' | 'not our handler';
      status?: number;
      detail?: string;
    };

export interface ProbeOptions {
  timeoutMs: number;
  /** Our receiver's probe token, so that it does not count the probe as a refusal. */
  probeToken?: string;
}

const OUR_ANSWERS = new Set([
  SECRET_ERROR,
  'No webhook subscription known yet',
  'Webhook secrets cannot be read right now',
]);

export function probeWebhook(url: string, options: ProbeOptions): Promise<ProbeOutcome> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, reason: 'unreachable', detail: 'invalid URL' });
  }
  const client = target.protocol === 'https:' ? https : http;
  const body = '{}';
  return new Promise((resolve) => {
    const req = client.request(
      target,
      {
        method: 'POST',
        timeout: options.timeoutMs,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'botbuilder-tiledesk-probe',
          ...(options.probeToken ? { [PROBE_HEADER]: options.probeToken } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 4096) chunks.push(c);
        });
        res.on('error', () => resolve({ ok: false, reason: 'unreachable', detail: 'reset' }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve(classify(status, Buffer.concat(chunks).toString('utf8')));
        });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, reason: 'timeout', detail: `no answer within ${options.timeoutMs} ms` });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, reason: 'unreachable', detail: err.code ?? 'network error' }),
    );
    req.end(body);
  });
}

function classify(status: number, text: string): ProbeOutcome {
  let error: unknown;
  try {
    error = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  if ((status === 401 || status === 503) && typeof error === 'string' && OUR_ANSWERS.has(error)) {
    return { ok: true, status };
  }
  if (status === 404) return { ok: false, reason: 'not found', status };
  if (status >= 300 && status < 400) return { ok: false, reason: 'redirect', status };
  return { ok: false, reason: 'not our handler', status };
}

/**
 * The URL with anything that may be secret masked: user info and query dropped, and long path
 * segments (an unguessable path is a recommended defence, tiledesk-api.md §5.1) shown as `***`.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname
      .split('/')
      .map((s) => (s.length >= 16 ? '***' : s))
      .join('/');
    return `${u.protocol}//${u.host}${path === '/' ? '' : path}${u.search ? '?***' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
