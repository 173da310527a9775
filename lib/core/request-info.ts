import { asTiledeskError, TiledeskApiError, type TiledeskError } from '../errors';
import type { TiledeskApi } from '../tiledesk/client';
import type { Credentials } from './credentials';
import type { Mirror } from './mirror';
import type { ConversationRecord } from './record';

/**
 * What the handoff tells Tiledesk and the user about a request besides routing it: its title,
 * and the current wait. Best effort: a failure changes nothing else.
 */

export interface RequestInfoDeps {
  api: TiledeskApi;
  credentials: Credentials;
  mirror: Mirror;
  onError(error: TiledeskError): void;
}

/** Runs an admin call; a 401 signs in again once (the token expired or was revoked). */
export async function withAdmin<T>(
  credentials: Pick<Credentials, 'admin' | 'resetAdmin'>,
  call: (token: string) => Promise<T>,
): Promise<T> {
  const token = await credentials.admin();
  try {
    return await call(token);
  } catch (err) {
    if (err instanceof TiledeskApiError && err.status === 401) {
      credentials.resetAdmin();
      return call(await credentials.admin());
    }
    throw err;
  }
}

/**
 * Agents see a request by its title (`first_text`), which Tiledesk takes from the message that
 * created it: a greeting of the bot, or our hidden opener. Before routing, it becomes the
 * user's first words in the request (a failure leaves the title as it was, reported).
 */
export async function titleWithFirstWords(
  d: RequestInfoDeps,
  convKey: string,
  record: ConversationRecord,
  requestId: string,
): Promise<void> {
  const setTitle = d.api.setTitle?.bind(d.api);
  if (!setTitle) return;
  try {
    const user = d.mirror.endUserOf(record);
    const { token, tiledeskId } = await d.credentials.endUser(user, false);
    const messages = await d.api.getMessages(token, requestId);
    const first = messages.find(
      (m) => m.sender === tiledeskId && m.text && m.attributes?.['subtype'] === undefined,
    );
    const title = first?.text?.slice(0, 200);
    if (title) await withAdmin(d.credentials, (t) => setTitle(t, requestId, title));
  } catch (err) {
    d.onError(asTiledeskError(err, 'TILEDESK_HTTP', { convKey, step: 'set the title' }));
  }
}

/** The current wait in minutes, when Tiledesk can say it (`undefined` otherwise). */
export async function expectedWaitMinutes(d: RequestInfoDeps): Promise<number | undefined> {
  const waitingTime = d.api.waitingTime?.bind(d.api);
  if (!waitingTime) return undefined;
  try {
    const ms = await withAdmin(d.credentials, (token) => waitingTime(token));
    return ms !== undefined && ms > 0 ? Math.max(1, Math.round(ms / 60_000)) : undefined;
  } catch {
    return undefined;
  }
}
