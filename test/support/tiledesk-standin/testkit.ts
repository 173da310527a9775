/**
 * Test kit that goes with the stand-in: a local webhook target, the webhook envelope schema,
 * custom-token minting and request ids.
 */
import http from 'node:http';
import jwt from 'jsonwebtoken';
import { z } from 'zod';

/** The delivery body (§5.3): no top-level `event`, use `hook.event`. */
export const WebhookEnvelope = z
  .object({
    timestamp: z.number(),
    payload: z.record(z.string(), z.unknown()),
    hook: z
      .object({
        _id: z.string(),
        event: z.string(),
        target: z.string(),
        id_project: z.string(),
        createdBy: z.string(),
        createdAt: z.string(),
        updatedAt: z.string(),
        __v: z.number(),
      })
      .strict(),
    token: z.string(),
  })
  .strict();
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  envelope: WebhookEnvelope;
}

/** A loopback webhook target. Answers with the queued `statuses` first, then 200. */
export class WebhookTarget {
  readonly received: ReceivedWebhook[] = [];
  readonly statuses: number[] = [];
  private server: http.Server | undefined;
  private base = '';

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const envelope = WebhookEnvelope.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        this.received.push({ path: req.url ?? '', headers: req.headers, envelope });
        res.statusCode = this.statuses.shift() ?? 200;
        res.end('ok');
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.base = `http://127.0.0.1:${address.port}`;
  }

  url(path = '/hook'): string {
    return this.base + path;
  }

  ofEvent(event: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.envelope.hook.event === event);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Custom JWT (§1.5): `sub: 'userexternal'`, `aud` of the project (null → no aud), HS256. */
export function mintCustomToken(
  project: { projectId: string; projectSecret: string },
  claims: Record<string, unknown>,
  options: { expiresInSeconds?: number; secret?: string; aud?: string | null } = {},
): string {
  const aud =
    options.aud === undefined ? `https://tiledesk.com/projects/${project.projectId}` : options.aud;
  return jwt.sign(
    { sub: 'userexternal', ...(aud !== null && { aud }), ...claims },
    options.secret ?? project.projectSecret,
    {
      expiresIn: options.expiresInSeconds ?? 3600,
    },
  );
}

let seq = 0;
/** `support-group-<projectId>-<32 hex>` (§2.1). */
export function newRequestId(projectId: string): string {
  seq += 1;
  return `support-group-${projectId}-${Date.now().toString(16).padStart(24, '0')}${seq.toString(16).padStart(8, '0')}`;
}
