import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook delivery as it arrived: the headers Tiledesk documents, and the parsed body. */
export interface Received {
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
  at: number;
}

/** A loopback webhook target that answers 200 at once and remembers every delivery in order. */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { unparsable: true };
      }
      const h = req.headers;
      this.received.push({
        headers: {
          'content-type': h['content-type'],
          'user-agent': h['user-agent'],
          'x-hook-secret': str(h['x-hook-secret']),
          origin: str(h['origin']),
        },
        body,
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Resolves once at least `expected` deliveries have arrived since index `from` (or `maxMs`
   * has passed) and then none for `quietMs`: a step's deliveries are all in, late ones included.
   */
  async settle(from: number, expected: number, quietMs: number, maxMs = 5000): Promise<void> {
    const start = Date.now();
    for (;;) {
      const now = Date.now();
      const enough = this.received.length - from >= expected || now - start > maxMs;
      const last = Math.max(this.received.at(-1)?.at ?? 0, start);
      if (enough && now - last >= quietMs) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function str(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
