/**
 * The HTTP front of the stand-in (`node:http`, loopback, port 0). Pipeline of every call:
 * record in `calls` → fault `reset` (socket destroyed, nothing read) → body (500 KB limit) →
 * fault `status` (answered without processing) → hold (processed only on `release()`) →
 * processing → fault `drop-response` (processed, then the socket is destroyed) → latency (the
 * response — not the processing — is delayed, so the webhooks of a call can reach their target
 * before the caller gets its answer, as with a slow link to the real cloud) → response.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { Faults, Holds } from './faults';
import type { Ctx, Reply } from './http-util';
import { json, readBody } from './http-util';
import type { Router } from './router';
import type { StandInCall } from './types';
import type { TimerSet } from './util';

export class HttpFront {
  readonly faults = new Faults();
  readonly holds = new Holds();
  readonly calls: StandInCall[] = [];
  latencyMs = 0;
  private readonly sockets = new Set<Socket>();
  private server: http.Server | undefined;

  constructor(
    private readonly router: Router,
    private readonly timers: TimerSet,
    private readonly recordCalls: boolean,
  ) {}

  /** Listens on 127.0.0.1, port 0; returns the base URL. */
  async listen(): Promise<string> {
    if (this.server) throw new Error('TiledeskStandIn already started');
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string')
      throw new Error('unexpected server address');
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    this.holds.clear();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const call: StandInCall = { method, path: rawUrl, status: 0, body: undefined, at: Date.now() };
    if (this.recordCalls) this.calls.push(call);
    const fault = this.faults.take(method, path);
    if (fault?.mode === 'reset') {
      req.socket.destroy();
      return;
    }
    void readBody(req).then((result) => {
      if (!result.ok) return this.respond(res, call, result.reply);
      call.body = result.body;
      if (fault?.mode === 'status') {
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined)
          headers['Retry-After'] = String(fault.retryAfterSeconds);
        const body = { success: false, msg: `Injected fault ${fault.status}` };
        return this.respond(res, call, json(fault.status, body, headers));
      }
      this.holds.gate(method, path, () => {
        if (this.timers.isStopped) return;
        const reply = this.process(req, method, path, rawUrl, result.body);
        if (fault?.mode === 'drop-response') {
          res.socket?.destroy();
          return;
        }
        this.respond(res, call, reply);
      });
    });
  }

  private process(
    req: http.IncomingMessage,
    method: string,
    path: string,
    rawUrl: string,
    body: unknown,
  ): Reply {
    const q = rawUrl.indexOf('?');
    let segments: string[];
    try {
      segments = path
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      return json(400, { err: 'Bad Request' });
    }
    const ctx: Ctx = {
      method,
      path,
      segments,
      headers: req.headers,
      body,
      query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
    };
    try {
      return this.router.handle(ctx);
    } catch {
      return json(500, { err: 'error' });
    }
  }

  private respond(res: http.ServerResponse, call: StandInCall, reply: Reply): void {
    if ('hang' in reply) return; // the socket stays open until the client gives up or stop()
    const write = (): void => {
      if (res.destroyed || res.writableEnded) return;
      call.status = reply.status;
      res.writeHead(reply.status, {
        ...(reply.contentType !== undefined && { 'Content-Type': reply.contentType }),
        'Content-Length': Buffer.byteLength(reply.body),
        ...reply.headers,
      });
      res.end(reply.body);
    };
    if (this.latencyMs > 0) this.timers.after(this.latencyMs, write);
    else write();
  }
}
