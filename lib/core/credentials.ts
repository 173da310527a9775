import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { TiledeskApiError, type TiledeskErrorCode } from '../errors';
import { bareMessage } from '../logger';
import type { TiledeskApi } from '../tiledesk/client';
import { storageKeys } from './ids';
import type { VersionedStorage } from '../storage/versioned-storage';
import type { Clock } from './types';

/**
 * Tokens for Tiledesk calls (tiledesk-api.md §1):
 * - the admin session (`/auth/signin`, token never expires; renewed once on a 401);
 * - end users: a custom JWT minted with the project secret (§1.5, renewed before `exp`), or, with
 *   no secret, one anonymous Tiledesk user per end user whose token is kept in storage (§1.4).
 * Tokens stay in memory or in the bot's storage; they are never logged or put in errors.
 */

export interface EndUser {
  /** Tiledesk user id (`endUserId`). */
  id: string;
  name: string | undefined;
}

export interface CredentialsOptions {
  api: TiledeskApi;
  storage: VersionedStorage;
  clock: Clock;
  projectId: string;
  email: string;
  password: string;
  projectSecret: string | undefined;
  /** Lifetime of minted end-user JWTs. */
  tokenLifetimeMs?: number;
  /** At most this many end-user tokens are cached in memory. */
  cacheSize?: number;
}

const StoredUser = z.object({ token: z.string(), tiledeskId: z.string() });

/** The last admin sign-in, for `health()`: when, and how it ended. */
export interface SignInStatus {
  ok: boolean;
  at: number;
  code?: TiledeskErrorCode;
  message?: string;
}

interface CachedToken {
  token: string;
  /** Tiledesk's id for the user (differs from EndUser.id for anonymous users). */
  tiledeskId: string;
  expiresAt: number;
}

export class Credentials {
  /** The last admin sign-in (undefined before the first one). */
  lastSignIn: SignInStatus | undefined;
  private adminToken: Promise<string> | undefined;
  private readonly users = new Map<string, CachedToken>();
  /** One anonymous sign-in per user at a time in this instance. */
  private readonly signingIn = new Map<string, Promise<CachedToken>>();
  private readonly lifetimeMs: number;
  private readonly cacheSize: number;
  /**
   * jsonwebtoken given a string secret first tries it as a PEM key (and fails): 345 µs a token.
   * A secret KeyObject made once signs in ~7 µs.
   */
  private readonly signingKey: KeyObject | undefined;

  constructor(private readonly o: CredentialsOptions) {
    this.lifetimeMs = o.tokenLifetimeMs ?? 60 * 60 * 1000;
    this.cacheSize = o.cacheSize ?? 1000;
    this.signingKey = o.projectSecret ? createSecretKey(Buffer.from(o.projectSecret)) : undefined;
  }

  get usesCustomTokens(): boolean {
    return this.o.projectSecret !== undefined;
  }

  /**
   * The admin token, signing in on first use (one sign-in shared by concurrent callers). A
   * rejected sign-in fails with `TILEDESK_SIGN_IN_FAILED` and a `reason`.
   */
  admin(): Promise<string> {
    if (!this.adminToken) {
      this.adminToken = this.o.api.signIn(this.o.email, this.o.password).then(
        (r) => {
          this.lastSignIn = { ok: true, at: this.o.clock.now() };
          return r.token;
        },
        (err: unknown) => {
          const error = signInError(err);
          const code = (error as { code?: TiledeskErrorCode }).code;
          this.lastSignIn = {
            ok: false,
            at: this.o.clock.now(),
            ...(code ? { code } : {}),
            message: error instanceof Error ? bareMessage(error) : String(error),
          };
          throw error;
        },
      );
      this.adminToken.catch(() => (this.adminToken = undefined));
    }
    return this.adminToken;
  }

  /** Forget the admin token (after a 401) so the next call signs in again. */
  resetAdmin(): void {
    this.adminToken = undefined;
  }

  /**
   * Token and Tiledesk id for an end user. `register` makes sure Tiledesk knows the user
   * (custom tokens must be exchanged once per user before project routes accept them, §1.5).
   */
  async endUser(user: EndUser, register: boolean): Promise<{ token: string; tiledeskId: string }> {
    const now = this.o.clock.now();
    const cached = this.users.get(user.id);
    if (cached && cached.expiresAt - now > 5 * 60 * 1000 && !register) return cached;
    const fresh = this.usesCustomTokens
      ? await this.mintCustomToken(user, now, register)
      : await this.anonymousToken(user, cached);
    this.remember(user.id, fresh);
    return fresh;
  }

  /** Drop a cached end-user token (after a 401/403). */
  forget(userId: string): void {
    this.users.delete(userId);
  }

  private async mintCustomToken(
    user: EndUser,
    now: number,
    register: boolean,
  ): Promise<CachedToken> {
    const expiresAt = now + this.lifetimeMs;
    const [firstname, ...rest] = (user.name ?? 'User').split(' ');
    const token = jwt.sign(
      {
        _id: user.id,
        firstname,
        ...(rest.length > 0 ? { lastname: rest.join(' ') } : {}),
        sub: 'userexternal',
        aud: `https://tiledesk.com/projects/${this.o.projectId}`,
        iat: Math.floor(now / 1000),
        exp: Math.floor(expiresAt / 1000),
      },
      this.signingKey!,
      { algorithm: 'HS256' },
    );
    if (register) await this.o.api.signInWithCustomToken(token);
    return { token, tiledeskId: user.id, expiresAt };
  }

  private anonymousToken(user: EndUser, cached: CachedToken | undefined): Promise<CachedToken> {
    if (cached) return Promise.resolve(cached);
    let pending = this.signingIn.get(user.id);
    if (!pending) {
      pending = this.storedOrNewAnonymous(user);
      this.signingIn.set(user.id, pending);
      const clear = () => this.signingIn.delete(user.id);
      pending.then(clear, clear);
    }
    return pending;
  }

  /**
   * The end user's anonymous Tiledesk identity, kept in storage and written create-only: when
   * two instances sign the same new user in at once, the first write wins and the other adopts
   * it (its own anonymous user stays unused), so one end user never has two Tiledesk identities.
   */
  private async storedOrNewAnonymous(user: EndUser): Promise<CachedToken> {
    const key = storageKeys.user(user.id);
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = StoredUser.safeParse((await this.o.storage.read([key])).get(key)?.value);
      if (stored.success) return { ...stored.data, expiresAt: Number.POSITIVE_INFINITY };
      const created = await this.o.api.signInAnonymously(user.name ? { firstname: user.name } : {});
      const record = { token: created.token, tiledeskId: created.userId };
      if ((await this.o.storage.create(key, record)) !== null) {
        return { ...record, expiresAt: Number.POSITIVE_INFINITY };
      }
    }
    throw new Error(`Stored item ${key} is not a valid end-user identity`);
  }

  private remember(id: string, token: CachedToken): void {
    this.users.delete(id);
    this.users.set(id, token);
    if (this.users.size > this.cacheSize) {
      const oldest = this.users.keys().next().value;
      if (oldest !== undefined) this.users.delete(oldest);
    }
  }
}

/**
 * `POST /auth/signin` answers 401 "Authentication failed. User not found." / "… Wrong password."
 * and 422 for a malformed email or an empty password (tiledesk-api.md §1.3): the account is
 * wrong, and no retry will change that.
 */
function signInError(err: unknown): unknown {
  if (!(err instanceof TiledeskApiError) || err.retryable) return err;
  if (err.status !== 401 && err.status !== 403 && err.status !== 422) return err;
  const text = err.message;
  const reason = /wrong password/i.test(text)
    ? 'wrong password'
    : /not found/i.test(text)
      ? 'no Tiledesk user with this email'
      : err.status === 422
        ? 'malformed email or empty password'
        : 'credentials refused';
  return err.withCode('TILEDESK_SIGN_IN_FAILED', { reason, step: 'sign in' });
}
