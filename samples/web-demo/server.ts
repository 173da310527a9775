import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TiledeskStandIn } from '../../test/support/tiledesk-standin';
import { startSampleServer, type SampleServer } from '../handoff-bot/server';
import { agentConsoleRoute } from './agent-console';
import { DirectLine } from './direct-line';
import { sendJson, type Route } from './http-util';
import { staticRoute } from './static-files';

export interface WebDemo {
  /** The page: `http://127.0.0.1:<port>/`. */
  url: string;
  tiledesk: TiledeskStandIn;
  bot: SampleServer;
  directLine: DirectLine;
  stop(): Promise<void>;
}

/**
 * `npm run demo -- --web`: the sample bot, the Tiledesk stand-in and one web server for the page
 * (Web Chat on the left, the agent console on the right), the Direct Line service Web Chat talks to
 * and the Bot Connector routes the bot replies to. Everything listens on `host` (loopback).
 */
export interface WebDemoOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where the Direct Line service reports bot replies to unknown activities (default stderr). */
  log?: (line: string) => void;
}

export async function startWebDemo(options: WebDemoOptions = {}): Promise<WebDemo> {
  const { port = 0, host = '127.0.0.1', log = (line: string) => console.error(line) } = options;
  const tiledesk = new TiledeskStandIn({ commandDelayMs: 50, webhookRetryDelaysMs: [200, 400] });
  await tiledesk.start();
  const env = {
    MicrosoftAppId: '',
    TiledeskApiUrl: tiledesk.url,
    TiledeskProjectId: tiledesk.projectId,
    TiledeskEmail: tiledesk.admin.email,
    TiledeskPassword: tiledesk.admin.password,
    TiledeskProjectSecret: tiledesk.projectSecret,
    TiledeskBotName: 'Echo Bot',
  };
  const bot = await startSampleServer(
    (url) => ({ ...env, TiledeskWebhookUrl: `${url}/api/tiledesk` }),
    0,
    '127.0.0.1',
  );

  let origin = '';
  const directLine = new DirectLine({
    botEndpoint: `${bot.url}/api/messages`,
    serviceUrl: () => origin,
    log,
  });
  const tokenRoute: Route = async (req, res, path) => {
    if (req.method !== 'POST' || path !== '/api/directline/token') return false;
    sendJson(res, 200, directLine.issueToken('Ada Lovelace'));
    return true;
  };
  const routes: Route[] = [staticRoute, tokenRoute, directLine.route, agentConsoleRoute(tiledesk)];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    void (async () => {
      for (const route of routes) if (await route(req, res, path)) return;
      sendJson(res, 404, { error: `${req.method ?? 'GET'} ${path}` });
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  origin = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    url: `${origin}/`,
    tiledesk,
    bot,
    directLine,
    stop: async () => {
      // Turns and agent messages under way finish first: their replies still have a channel.
      await directLine.settle();
      await bot.tiledesk.whenIdle();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await bot.stop();
      await tiledesk.stop();
    },
  };
}
