import type { TiledeskStandIn } from '../../test/support/tiledesk-standin';
import { readJson, sendJson, type Route } from './http-util';

/**
 * The JSON API behind the demo's agent console: a Tiledesk agent's view of the stand-in (its
 * requests, their mirrored messages) and the agent's actions, which take the same code paths as
 * Tiledesk's own agent console (webhooks to the bot).
 *
 * GET  /agent/requests                   newest first: id, status, who, first text
 * GET  /agent/requests/:id/messages      the request's messages, in order
 * POST /agent/requests/:id/reply         { text?, buttons?: string[], imageUrl? }
 * POST /agent/requests/:id/typing
 * POST /agent/requests/:id/close
 */

const STATUS: Record<number, string> = {
  50: 'temp',
  100: 'queued',
  150: 'abandoned',
  200: 'with an agent',
  1000: 'closed',
};

const REQUEST = /^\/agent\/requests\/([^/]+)\/(messages|reply|typing|close)$/;

export function agentConsoleRoute(tiledesk: TiledeskStandIn): Route {
  return async (req, res, path) => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/agent/requests') {
      const list = [...tiledesk.requests.values()]
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .map((r) => ({
          id: r.request_id,
          status: r.status,
          statusText: STATUS[r.status] ?? String(r.status),
          user: r.lead.fullname,
          firstText: r.first_text,
          agents: r.participatingAgents.map((a) => `${a.firstname} ${a.lastname}`),
        }));
      sendJson(res, 200, list);
      return true;
    }
    const match = REQUEST.exec(path);
    if (!match) return false;
    const id = decodeURIComponent(match[1] ?? '');
    const action = match[2];
    if (!tiledesk.request(id)) {
      sendJson(res, 404, { error: `unknown request ${id}` });
      return true;
    }
    if (method === 'GET' && action === 'messages') {
      const messages = tiledesk.messages(id).map((m) => ({
        id: m._id,
        sender: m.sender,
        senderFullname: m.senderFullname,
        text: m.text ?? '',
        type: m.type,
        subtype: typeof m.attributes?.['subtype'] === 'string' ? m.attributes['subtype'] : '',
        imageUrl: m.type === 'image' ? srcOf(m.metadata) : undefined,
        createdAt: m.createdAt,
      }));
      sendJson(res, 200, messages);
      return true;
    }
    if (method !== 'POST') return false;
    if (action === 'reply') reply(tiledesk, id, await readJson(req));
    else if (action === 'typing') tiledesk.agentTyping(id);
    else if (action === 'close') tiledesk.agentClose(id);
    sendJson(res, 200, { ok: true });
    return true;
  };
}

/** An image first (if any), then the text with its buttons, as an agent would send them. */
function reply(tiledesk: TiledeskStandIn, requestId: string, body: Record<string, unknown>): void {
  const text = typeof body['text'] === 'string' ? body['text'].trim() : '';
  const imageUrl = typeof body['imageUrl'] === 'string' ? body['imageUrl'].trim() : '';
  const buttons = Array.isArray(body['buttons'])
    ? body['buttons'].filter((b): b is string => typeof b === 'string' && b.trim() !== '')
    : [];
  if (imageUrl) {
    tiledesk.agentReply(requestId, 'Image attached', {
      type: 'image',
      metadata: { src: imageUrl, type: imageType(imageUrl), width: 240, height: 160 },
    });
  }
  if (text || buttons.length > 0) {
    const attributes =
      buttons.length > 0
        ? {
            attachment: {
              type: 'template',
              buttons: buttons.map((value) => ({ type: 'text', value: value.trim() })),
            },
          }
        : undefined;
    tiledesk.agentReply(requestId, text || buttons.join(' / '), attributes ? { attributes } : {});
  }
}

function imageType(url: string): string {
  const path = url.split('?')[0]?.toLowerCase() ?? '';
  if (path.endsWith('.svg')) return 'image/svg+xml';
  if (path.endsWith('.jpg') || path.endsWith('.jpeg')) return 'image/jpeg';
  if (path.endsWith('.gif')) return 'image/gif';
  return 'image/png';
}

function srcOf(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const src = (metadata as Record<string, unknown>)['src'];
  return typeof src === 'string' ? src : undefined;
}
