import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny loopback "load balancer" for Tiledesk webhooks: every bot instance subscribes the same
 * public URL (this one), and each delivery is forwarded to the target the test chooses at that
 * moment (`route`). Method, path, headers (`x-hook-secret`, content type) and body go through
 * unchanged; the target's status comes back. A target that is down answers 502, so Tiledesk
 * retries (to whatever the route says by then, like a real balancer failing over).
 */
export interface ForwardedWebhook {
  target: string;
  event: string | undefined;
  /** `payload.text` of a message event. */
  text: string | undefined;
  status: number;
  at: number;
}

/** What a route decides on: the delivery's rank (0-based), its event and message text. */
export interface WebhookInfo {
  n: number;
  event: string | undefined;
  text: string | undefined;
}

export class WebhookBalancer {
  readonly forwarded: ForwardedWebhook[] = [];
  /** Chooses the target base URL of a delivery; set by the test. */
  route: (info: WebhookInfo) => string = () => {
    throw new Error('WebhookBalancer: no route set');
  };
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: false });
  private count = 0;
  private port: number | undefined;

  constructor() {
    this.server = http.createServer((req, res) => void this.forward(req, res));
  }

  get url(): string {
    if (this.port === undefined) throw new Error('WebhookBalancer is not started');
    return `http://127.0.0.1:${this.port}/api/tiledesk`;
  }

  /** Sends every delivery to `target`. */
  to(target: string): void {
    this.route = () => target;
  }

  async start(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    const closed = new Promise<void>((done) => this.server.close(() => done()));
    this.server.closeAllConnections();
    await closed;
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let event: string | undefined;
    let text: string | undefined;
    try {
      const envelope = JSON.parse(body.toString()) as {
        hook?: { event?: string };
        payload?: { text?: unknown };
      };
      event = envelope.hook?.event;
      if (typeof envelope.payload?.text === 'string') text = envelope.payload.text;
    } catch {
      event = undefined;
    }
    let target: string;
    try {
      target = this.route({ n: this.count++, event, text });
    } catch {
      target = '';
    }
    const status = target ? await this.send(target, req, body) : 502;
    this.forwarded.push({ target, event, text, status, at: Date.now() });
    res.statusCode = status;
    res.end();
  }

  private send(target: string, req: http.IncomingMessage, body: Buffer): Promise<number> {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    return new Promise((done) => {
      const out = http.request(new URL(req.url ?? '/', target), {
        method: req.method ?? 'POST',
        headers,
        agent: this.agent,
        timeout: 5_000,
      });
      out.on('response', (r) => {
        r.resume();
        r.on('end', () => done(r.statusCode ?? 502));
        r.on('error', () => done(502));
      });
      out.on('timeout', () => out.destroy(new Error('timeout')));
      out.on('error', () => done(502));
      out.end(body);
    });
  }
}
