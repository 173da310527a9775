import jwt from 'jsonwebtoken';
import type { StandInSubscription } from './tiledesk-standin';

/**
 * A webhook body exactly as Tiledesk builds it for `sub` (`S:services/subscriptionNotifier.js`
 * #L63-113): `{timestamp, payload, hook, token}`, the hook doc without its secret, and the token
 * HS256-signed with `secret` (the subscription's own, unless a test forges one).
 */
export function signedDelivery(
  sub: StandInSubscription,
  payload: Record<string, unknown>,
  options: { secret?: string; timestamp?: number; hook?: Record<string, unknown> } = {},
): {
  timestamp: number;
  payload: Record<string, unknown>;
  hook: Record<string, unknown>;
  token: string;
} {
  const { secret: subSecret, ...doc } = sub;
  const hook = { ...doc, ...options.hook };
  const timestamp = options.timestamp ?? Date.now();
  const token = jwt.sign(
    { ...hook, iat: Math.floor(timestamp / 1000) },
    options.secret ?? subSecret,
    {
      audience: `https://tiledesk.com/subscriptions/${String(hook['_id'])}`,
      issuer: 'https://tiledesk.com',
      subject: 'subscription',
    },
  );
  return { timestamp, payload, hook, token };
}
