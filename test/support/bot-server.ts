/**
 * A real bot web server for end-to-end tests: restify 11 on 127.0.0.1 (random port),
 * `POST /api/messages` → `CloudAdapter.process`, as in the official echo sample
 * (BotBuilder-Samples `samples/typescript_nodejs/02.echo-bot/src/index.ts`).
 *
 * restify prints a DEP0111 deprecation warning when loaded: harmless.
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { TurnContext } from 'botbuilder';

// restify 11 ships no type declarations and @types/restify is not a dependency of this package, so
// these interfaces type the slice of restify that the tests use.

export interface RestifyRequest extends http.IncomingMessage {
  /** Set by `restify.plugins.bodyParser()`. */
  body?: Record<string, unknown>;
  params?: Record<string, string>;
  query?: unknown;
}

export interface RestifyResponse extends http.ServerResponse {
  header(name: string, value: unknown): unknown;
  send(...args: unknown[]): unknown;
  status(code: number): unknown;
  json(...args: unknown[]): unknown;
}

export type RestifyNext = (err?: unknown) => void;

/**
 * restify ≥ 9 asserts on the handler's arity when it is registered: either an `async (req, res)`
 * function (arity ≤ 2, must be async) or a plain `(req, res, next)` function that calls `next()`
 * (arity 3, must not be async).
 */
export type RestifyHandler = (
  req: RestifyRequest,
  res: RestifyResponse,
  next: RestifyNext,
) => unknown;

export type RestifyHandlers = RestifyHandler | RestifyHandler[];

export interface RestifyServer {
  /** The underlying node:http server. */
  readonly server: http.Server;
  use(...handlers: RestifyHandlers[]): this;
  pre(...handlers: RestifyHandlers[]): this;
  get(path: string, ...handlers: RestifyHandlers[]): unknown;
  head(path: string, ...handlers: RestifyHandlers[]): unknown;
  post(path: string, ...handlers: RestifyHandlers[]): unknown;
  put(path: string, ...handlers: RestifyHandlers[]): unknown;
  patch(path: string, ...handlers: RestifyHandlers[]): unknown;
  del(path: string, ...handlers: RestifyHandlers[]): unknown;
  opts(path: string, ...handlers: RestifyHandlers[]): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
  close(callback?: () => void): unknown;
  address(): AddressInfo;
  on(event: string, listener: (...args: never[]) => unknown): this;
}

interface RestifyModule {
  createServer(options?: { name?: string; handleUncaughtExceptions?: boolean }): RestifyServer;
  plugins: {
    bodyParser(options?: { mapParams?: boolean; maxBodySize?: number }): RestifyHandlers;
    queryParser(options?: { mapParams?: boolean }): RestifyHandlers;
  };
}

// An untyped CommonJS module, typed by RestifyModule above.
const restify = require('restify') as RestifyModule;

export interface BotServerOptions {
  /** Defaults to an anonymous CloudAdapter (`MicrosoftAppId: ''`). */
  adapter?: CloudAdapter;
  /** The bot: runs for every activity POSTed to /api/messages. */
  logic: (context: TurnContext) => Promise<void>;
  /** Register more routes (e.g. a webhook) before the server starts listening. */
  extraRoutes?: (server: RestifyServer) => void;
}

export interface BotServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api/messages` */
  readonly messagesUrl: string;
  readonly adapter: CloudAdapter;
  readonly server: RestifyServer;
  /**
   * Errors that reached `adapter.onTurnError` (installed on the default adapter, and on a given
   * adapter that has no `onTurnError` of its own). They are recorded, not rethrown, so the channel
   * still gets its HTTP answer.
   */
  readonly errors: Error[];
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

/** A restify 11 server on 127.0.0.1 (random port) with a JSON body parser and the given routes. */
export interface HttpServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly server: RestifyServer;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

export async function startHttpServer(
  routes: (server: RestifyServer) => void,
): Promise<HttpServer> {
  const server = restify.createServer({ name: 'botbuilder-tiledesk-test-bot' });
  server.use(restify.plugins.bodyParser());
  routes(server);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    server,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.server.closeAllConnections();
      });
      return stopped;
    },
  };
}

export async function startBotServer(opts: BotServerOptions): Promise<BotServer> {
  const errors: Error[] = [];
  const adapter =
    opts.adapter ??
    new CloudAdapter(new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '' }));
  // The getter is typed as always defined but is undefined until someone sets it.
  const existing = adapter.onTurnError as typeof adapter.onTurnError | undefined;
  if (opts.adapter === undefined || existing === undefined) {
    adapter.onTurnError = async (_context, error) => {
      errors.push(error);
    };
  }
  const http = await startHttpServer((server) => {
    server.post('/api/messages', async (req: RestifyRequest, res: RestifyResponse) => {
      await adapter.process(req, res, opts.logic);
    });
    opts.extraRoutes?.(server);
  });
  return { ...http, messagesUrl: `${http.url}/api/messages`, adapter, errors };
}
