/**
 * Authentication and authorisation (tiledesk-api.md §1): passport `jwt` + `basic` strategies,
 * `valid-token`, `has-role` (hasRoleOrTypes).
 */
import jwt from 'jsonwebtoken';
import type { Store } from './model';
import type { Ctx, Reply } from './http-util';
import { json, text } from './http-util';
import type { StandInProjectUser } from './types';
import { isRecord, record, str } from './util';

export interface Principal {
  /** Passport subject kind; 'user' = a Tiledesk User (admin account or agent). */
  type: 'user' | 'guest' | 'userexternal' | 'subscription';
  id: string;
  email?: string;
  /** `UserUtil.decorateUser`: `(firstname || '') + ' ' + (lastname || '')`; undefined for subscriptions. */
  fullName?: string;
  attributes?: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/**
 * passport `allFailed` (§1.2): `res.end('Unauthorized')`, not JSON and without a Content-Type;
 * `WWW-Authenticate` carries the challenge of the route's strategies (Basic on project routes).
 */
export const UNAUTHORIZED: Reply = {
  status: 401,
  body: 'Unauthorized',
  headers: { 'WWW-Authenticate': 'Basic realm="Users"' },
};
/** The same from `passport.authenticate('jwt')` alone (signinWithCustomToken): no challenge. */
export const UNAUTHORIZED_JWT_ONLY: Reply = { status: 401, body: 'Unauthorized' };
const NOT_MEMBER = json(403, { success: false, msg: 'you dont belong to the project.' });
const WRONG_ROLE = json(403, { success: false, msg: 'you dont have the required role.' });

/** Role ladder (§1.2): a role satisfies every role at or below its rank. */
const ROLE_RANK: Record<string, number> = {
  guest: 0,
  user: 1,
  teammate: 2,
  agent: 3,
  supervisor: 4,
  admin: 5,
  owner: 6,
};

export function roleSatisfies(role: string, required: string): boolean {
  const have = ROLE_RANK[role];
  const need = ROLE_RANK[required];
  return have !== undefined && need !== undefined && have >= need;
}

type Verified = { ok: true; claims: Record<string, unknown> } | { ok: false };

export class Auth {
  private readonly verified = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly store: Store,
    private readonly projectSecret: string,
    readonly serverSecret: string,
    private readonly adminPassword: string,
  ) {}

  /** passport-jwt `secretOrKeyProvider` (`S:middleware/passport.js#L114-240`): the secret depends on `aud`. */
  private secretFor(claims: Record<string, unknown>): string | undefined {
    const aud = str(claims['aud']);
    if (aud === undefined) return this.serverSecret;
    let path: string;
    try {
      path = new URL(aud).pathname;
    } catch {
      return undefined;
    }
    const [, kind, id] = path.split('/');
    if (kind === 'projects') return id === this.store.projectId ? this.projectSecret : undefined;
    if (kind === 'subscriptions') return id ? this.store.subscriptions.get(id)?.secret : undefined;
    if (kind === 'bots') return undefined;
    return this.serverSecret;
  }

  /** Signature + `exp` (passport-jwt, no `ignoreExpiration`); `_id` is required. */
  verify(token: string): Verified {
    const cached = this.verified.get(token);
    if (cached) {
      const exp = cached['exp'];
      if (typeof exp === 'number' && exp * 1000 <= Date.now()) return { ok: false };
      return { ok: true, claims: cached };
    }
    const decoded: unknown = jwt.decode(token);
    if (!isRecord(decoded)) return { ok: false };
    const secret = this.secretFor(decoded);
    if (secret === undefined) return { ok: false };
    let claims: unknown;
    try {
      claims = jwt.verify(token, secret);
    } catch {
      return { ok: false };
    }
    if (!isRecord(claims) || str(claims['_id']) === undefined) return { ok: false };
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(token, claims);
    return { ok: true, claims };
  }

  /** `passport.authenticate(['basic','jwt'])` + `valid-token`. */
  authenticate(header: string | undefined): { principal: Principal } | { reply: Reply } {
    if (!header) return { reply: UNAUTHORIZED };
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic') return this.basic(value);
    if (scheme !== 'jwt' || !value) return { reply: UNAUTHORIZED }; // `Bearer` is not accepted
    const v = this.verify(value);
    if (!v.ok) return { reply: UNAUTHORIZED };
    const p = this.principalOf(v.claims);
    return p ? { principal: p } : { reply: UNAUTHORIZED };
  }

  private basic(value: string): { principal: Principal } | { reply: Reply } {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { reply: text(400, 'Bad Request') }; // malformed Basic header → 400 (§1.2)
    const user = this.store.userByEmail(decoded.slice(0, colon));
    if (!user || !this.passwordOk(user._id, decoded.slice(colon + 1))) {
      return { reply: UNAUTHORIZED };
    }
    const claims = { ...user };
    return {
      principal: this.userPrincipal(user._id, user.email, user.firstname, user.lastname, claims),
    };
  }

  isAdmin(userId: string): boolean {
    return this.store.projectUserById(userId)?.role === 'admin';
  }

  /** The admin account's password, or an agent's when it was given one. */
  passwordOk(userId: string, password: string): boolean {
    const expected = this.isAdmin(userId) ? this.adminPassword : this.store.passwords.get(userId);
    return expected !== undefined && password === expected;
  }

  /** The passport verify callback: by `sub` (`S:middleware/passport.js#L244-380`). */
  private principalOf(claims: Record<string, unknown>): Principal | undefined {
    const id = str(claims['_id']);
    if (id === undefined) return undefined;
    const sub = claims['sub'];
    if (sub === 'subscription') {
      return this.store.subscriptions.has(id) ? { type: 'subscription', id, claims } : undefined;
    }
    if (sub === 'bot') return undefined;
    if (sub === 'userexternal' || sub === 'guest') {
      const email = str(claims['email']);
      const attributes = record(claims['attributes']);
      return {
        type: sub,
        id,
        claims,
        fullName: (str(claims['firstname']) ?? '') + ' ' + (str(claims['lastname']) ?? ''),
        ...(email !== undefined && { email }),
        ...(attributes !== undefined && { attributes }),
      };
    }
    const user = this.store.users.get(id); // any other sub → Users collection
    return user
      ? this.userPrincipal(id, user.email, user.firstname, user.lastname, claims)
      : undefined;
  }

  private userPrincipal(
    id: string,
    email: string,
    first: string,
    last: string,
    claims: Record<string, unknown>,
  ): Principal {
    return { type: 'user', id, email, fullName: first + ' ' + last, claims };
  }

  /** `projectUserService.getWithPermissions`: Users by id_user, end users by uuid_user. */
  projectUserOf(p: Principal): StandInProjectUser | undefined {
    if (p.type === 'subscription') return undefined;
    const pu =
      p.type === 'user' ? this.store.projectUserById(p.id) : this.store.projectUserByUuid(p.id);
    return pu?.status === 'active' ? pu : undefined;
  }

  /**
   * `hasRoleOrTypes(role, types)` (`S:middleware/has-role.js#L165-300`): a listed principal type
   * passes; otherwise the caller must be a project member, and hold `role` when one is required.
   */
  authorize(ctx: Ctx, role: string | null, allowSubscription: boolean): Reply | undefined {
    const p = ctx.principal;
    if (!p) return UNAUTHORIZED;
    if (allowSubscription && p.type === 'subscription') return undefined;
    const pu = this.projectUserOf(p);
    if (!pu) return NOT_MEMBER;
    ctx.projectUser = pu;
    if (role !== null && !roleSatisfies(pu.role, role)) return WRONG_ROLE;
    return undefined;
  }
}
