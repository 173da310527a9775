import jwt from 'jsonwebtoken';
import { keyOf } from './webhook-checks';
import type { KnownBot } from './tiledesk-bot';

/**
 * What Tiledesk POSTs to an external bot's URL on every end-user message of a request the bot
 * serves (`TiledeskMirrorVisibility=bot`; `S:services/BotSubscriptionNotifier.js`, seen on the
 * real server): headers `user-agent: tiledesk-bot`, no `x-hook-secret`; body `{timestamp,
 * payload (the message and its request), hook (the bot document, its secret included), token}`
 * where `token` is `jwt.sign(bot without secret/description/attributes, botSecret, {issuer:
 * 'https://tiledesk.com', subject: 'bot', audience: 'https://tiledesk.com/bots/<id>'})`, HS256.
 * One attempt, the answer is never read. We already mirror the user's message ourselves, so such
 * a notification is checked, answered 200 and dropped: never shown to anyone.
 *
 * Every bot one Tiledesk process creates gets the same secret (the model's default is evaluated
 * once), so the token is bound to our bot by its audience and `_id`, and the project by its claim.
 */

export const BOT_USER_AGENT = 'tiledesk-bot';

export type BotNotificationCheck =
  | { ok: true; issuedAtMs: number }
  | { ok: false; reason: 'envelope' | 'hook' | 'project' | 'token'; why: string };

export function checkBotNotification(
  body: unknown,
  bot: KnownBot,
  projectId: string,
): BotNotificationCheck {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: 'envelope', why: 'not an object' };
  }
  const { hook, token, payload } = body as Record<string, unknown>;
  if (!hook || typeof hook !== 'object' || !payload || typeof payload !== 'object') {
    return { ok: false, reason: 'envelope', why: 'no hook or payload' };
  }
  const h = hook as Record<string, unknown>;
  if (h['_id'] !== bot.id) return { ok: false, reason: 'hook', why: 'another bot' };
  const p = (payload as Record<string, unknown>)['id_project'];
  if (h['id_project'] !== projectId || (p !== undefined && p !== projectId)) {
    return { ok: false, reason: 'project', why: 'another project' };
  }
  if (typeof token !== 'string' || token === '') {
    return { ok: false, reason: 'token', why: 'no token' };
  }
  let claims: jwt.JwtPayload | string;
  try {
    claims = jwt.verify(token, keyOf(bot.secret), {
      algorithms: ['HS256'],
      audience: `https://tiledesk.com/bots/${bot.id}`,
      issuer: 'https://tiledesk.com',
      subject: 'bot',
      ignoreExpiration: true, // bot tokens carry no `exp`; freshness is checked on `iat`
      ignoreNotBefore: true,
    });
  } catch (err) {
    return { ok: false, reason: 'token', why: err instanceof Error ? err.message : 'invalid' };
  }
  if (typeof claims === 'string') return { ok: false, reason: 'token', why: 'not an object' };
  if (claims['_id'] !== bot.id || claims['id_project'] !== projectId) {
    return { ok: false, reason: 'token', why: 'token names another bot or project' };
  }
  if (typeof claims.iat !== 'number') return { ok: false, reason: 'token', why: 'no iat' };
  return { ok: true, issuedAtMs: claims.iat * 1000 };
}
