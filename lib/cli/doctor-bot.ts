import { TiledeskApiError } from '../errors';
import type { TiledeskClient } from '../tiledesk/client';
import { redactUrl } from '../core/webhook-probe';
import { detailOf, type Mark } from './report';

/**
 * `TiledeskMirrorVisibility=bot`: the external Tiledesk bot whose URL is our webhook. Only
 * reported: its secret is shown once, at creation, and must be kept in the bot's storage, which
 * `start()` does (doctor cannot, so it never creates one).
 */
export async function checkTiledeskBot(
  client: Pick<TiledeskClient, 'listBots'>,
  webhookUrl: string,
  token: string,
  report: (mark: Mark, title: string, detail: string, fix?: string) => void,
): Promise<void> {
  const title = 'Tiledesk bot';
  let bots;
  try {
    bots = await client.listBots(token);
  } catch (err) {
    if (!(err instanceof TiledeskApiError)) throw err;
    report('fail', title, `cannot list the project's bots: ${detailOf(err)}`);
    return;
  }
  const ours = bots.filter((b) => b.type === 'external' && b.url === webhookUrl);
  const shown = redactUrl(webhookUrl);
  if (ours.length === 0) {
    report(
      'fail',
      title,
      `no external bot of the project points at ${shown}: conversations cannot be served by it (TiledeskMirrorVisibility=bot)`,
      'start the bot: start() creates it and keeps its secret in the bot storage (doctor cannot keep it, so it does not create one)',
    );
    return;
  }
  const names = ours.map((b) => `${b.name ?? '?'} (${b._id})`).join(', ');
  report('ok', title, `${names} → ${shown}`);
  if (ours.length > 1) {
    report(
      'note',
      title,
      'several bots point at this URL: the bot uses the one in its storage; delete the others in Dashboard → Bots',
    );
  }
}
