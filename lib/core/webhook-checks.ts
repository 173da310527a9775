import { createHash, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { KnownHook } from './subscriptions';

/**
 * The checks that say a webhook delivery is Tiledesk's, for our project and our subscription
 * (tiledesk-api.md §5.1, §5.3; `S:services/subscriptionNotifier.js#L63-160`). Pure but for the
 * caches of derived keys.
 *
 * Why so many: one Tiledesk server gives every subscription it creates the same secret, across
 * projects (§5.1), so `x-hook-secret` only says "some Tiledesk subscription on that server". The
 * body's `token` is `jwt.sign(hookDoc, subscriptionSecret, {issuer, subject: 'subscription',
 * audience: 'https://tiledesk.com/subscriptions/' + id})`, HS256: it binds the hook's id, event
 * and project to the secret, not the payload. So the payload's project and request are checked
 * on their own, and deliveries are deduplicated.
 */

/** SHA-256 digests of the known secrets, made once per list `known()` hands out. */
const digests = new WeakMap<readonly KnownHook[], Buffer[]>();

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Constant time against every known secret: both sides are hashed to 32 bytes first, so neither
 * the content nor the length of a secret leaks through timing.
 */
export function secretMatches(given: string, hooks: readonly KnownHook[]): boolean {
  let expected = digests.get(hooks);
  if (!expected) {
    expected = hooks.map((h) => sha256(h.secret));
    digests.set(hooks, expected);
  }
  const candidate = sha256(given);
  let match = false;
  for (const e of expected) match = timingSafeEqual(candidate, e) || match;
  return match;
}

/** Whether `given` is this hook's own secret (constant time). */
export function isSecretOf(given: string, hook: KnownHook): boolean {
  return timingSafeEqual(sha256(given), sha256(hook.secret));
}

/** jsonwebtoken given a string secret first tries it as a PEM key; a KeyObject is ~50× cheaper. */
const keys = new Map<string, KeyObject>();
export function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 32) keys.clear();
    key = createSecretKey(Buffer.from(secret));
    keys.set(secret, key);
  }
  return key;
}

export type TokenCheck = { ok: true; issuedAtMs: number } | { ok: false; why: string };

/**
 * Verifies the delivery's `token`: HS256 with the subscription's secret, Tiledesk's issuer,
 * subject and audience for that subscription, and claims naming the same hook, event and
 * project as the body does.
 */
export function checkToken(
  token: unknown,
  hook: KnownHook,
  body: { _id?: unknown; event?: unknown; id_project?: unknown },
  projectId: string,
): TokenCheck {
  if (typeof token !== 'string' || token === '') return { ok: false, why: 'no token' };
  let claims: jwt.JwtPayload | string;
  try {
    claims = jwt.verify(token, keyOf(hook.secret), {
      algorithms: ['HS256'],
      audience: `https://tiledesk.com/subscriptions/${hook.id}`,
      issuer: 'https://tiledesk.com',
      subject: 'subscription',
      // Subscription tokens carry no `exp` (§1.6); freshness is checked on `iat` by the caller.
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
  } catch (err) {
    return { ok: false, why: err instanceof Error ? err.message : 'invalid token' };
  }
  if (typeof claims === 'string') return { ok: false, why: 'token is not a JSON object' };
  if (claims['_id'] !== hook.id || body._id !== hook.id) {
    return { ok: false, why: 'token names another subscription' };
  }
  if (claims['event'] !== body.event) return { ok: false, why: 'token names another event' };
  if (claims['id_project'] !== projectId || body.id_project !== projectId) {
    return { ok: false, why: 'token names another project' };
  }
  if (typeof claims.iat !== 'number') return { ok: false, why: 'token has no iat' };
  return { ok: true, issuedAtMs: claims.iat * 1000 };
}

/** The project a payload names, when it names one (messages and requests carry `id_project`). */
export function payloadProject(payload: Record<string, unknown>): string | undefined {
  const p = payload['id_project'];
  return typeof p === 'string' ? p : undefined;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Tiledesk always sends `Content-Type: application/json` (§5.3). */
export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && JSON_TYPE.test(value);
}
