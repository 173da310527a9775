/** `/auth/*` routes (tiledesk-api.md §1.3-1.5, `S:routes/auth.js`). */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Auth } from './auth';
import { UNAUTHORIZED_JWT_ONLY } from './auth';
import type { Ctx, Reply } from './http-util';
import { bodyRecord, json } from './http-util';
import type { Store } from './model';
import { nonEmpty, record, str } from './util';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** express-validator error item. */
function invalid(param: string, value: unknown): Record<string, unknown> {
  return { value, msg: 'Invalid value', param, location: 'body' };
}

function signOptions(subject: string): jwt.SignOptions {
  return {
    issuer: 'https://tiledesk.com',
    subject,
    audience: 'https://tiledesk.com',
    jwtid: randomUUID(),
  };
}

export class AuthRoutes {
  constructor(
    private readonly store: Store,
    private readonly auth: Auth,
  ) {}

  handle(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'POST') return undefined;
    switch (ctx.segments[1]) {
      case 'signin':
        return this.signin(ctx);
      case 'signinAnonymously':
        return this.signinAnonymously(ctx);
      case 'signinWithCustomToken':
        return this.signinWithCustomToken(ctx);
      default:
        return undefined;
    }
  }

  /** §1.3: token without `exp`, HS256 with the server secret. */
  private signin(ctx: Ctx): Reply {
    const body = bodyRecord(ctx);
    const email = str(body['email']);
    const password = nonEmpty(body['password']);
    const errors = [];
    if (email === undefined || !EMAIL.test(email)) errors.push(invalid('email', body['email']));
    if (password === undefined) errors.push(invalid('password', body['password']));
    if (errors.length > 0 || email === undefined || password === undefined) {
      return json(422, { errors });
    }
    const user = this.store.userByEmail(email);
    if (!user) return json(401, { success: false, msg: 'Authentication failed. User not found.' });
    // The admin account, and agents configured with a password.
    if (!this.auth.passwordOk(user._id, password)) {
      return json(401, { success: false, msg: 'Authentication failed. Wrong password.' });
    }
    const token = jwt.sign({ ...user }, this.auth.serverSecret, signOptions('user'));
    const { _id, firstname, lastname, emailverified } = user;
    return json(200, {
      success: true,
      token: 'JWT ' + token,
      user: { _id, email: user.email, firstname, lastname, emailverified },
    });
  }

  /** §1.4: new uuid identity + project_user with role guest on every call. */
  private signinAnonymously(ctx: Ctx): Reply {
    const body = bodyRecord(ctx);
    const idProject = nonEmpty(body['id_project']);
    if (idProject === undefined)
      return json(422, { errors: [invalid('id_project', body['id_project'])] });
    const uid = randomUUID();
    const firstname = nonEmpty(body['firstname']) ?? 'guest#' + uid.substring(0, 4);
    const lastname = str(body['lastname']);
    const email = str(body['email']);
    const attributes = record(body['attributes']);
    const user = {
      _id: uid,
      firstname,
      ...(lastname !== undefined && { lastname }),
      ...(email !== undefined && { email }),
      ...(attributes !== undefined && { attributes }),
      id: uid,
      fullName: firstname + ' ' + (lastname ?? ''),
    };
    if (idProject === this.store.projectId) this.store.ensureExternalProjectUser(uid, 'guest');
    const token = jwt.sign(user, this.auth.serverSecret, signOptions('guest'));
    return json(200, { success: true, token: 'JWT ' + token, user });
  }

  /**
   * §1.5 (`S:routes/auth.js#L251-543`). Runs with `noentitycheck`: the claims are the user.
   * Note: passport picks the verification secret from `aud`; without `aud` it is the server
   * secret, so a custom token without `aud` signed with the project secret gets 401, and the
   * 400 "JWT Aud field is required" is only reachable for server-signed tokens.
   */
  private signinWithCustomToken(ctx: Ctx): Reply {
    const header = str(ctx.headers['authorization']);
    const match = header !== undefined ? /^jwt\s+(\S+)/i.exec(header) : null;
    const token = match?.[1];
    if (header === undefined || token === undefined) return UNAUTHORIZED_JWT_ONLY;
    const v = this.auth.verify(token);
    if (!v.ok) return UNAUTHORIZED_JWT_ONLY;
    const claims = v.claims;
    const aud = str(claims['aud']);
    if (aud === undefined) return json(400, { success: false, msg: 'JWT Aud field is required' });
    let kind: string | undefined;
    let audId: string | undefined;
    try {
      [, kind, audId] = new URL(aud).pathname.split('/');
    } catch {
      return json(500, { err: 'error' });
    }
    let idProject: string | undefined;
    if (kind === 'subscriptions' || kind === 'projects') {
      if (!audId)
        return json(400, {
          success: false,
          msg: `JWT Aud.AudienceId field is required for AudienceType ${kind}`,
        });
      idProject = kind === 'projects' ? audId : this.store.subscriptions.get(audId)?.id_project;
    } else {
      idProject = str(bodyRecord(ctx)['id_project']);
      if (idProject === undefined) return json(200, { success: true, token: header, user: claims });
    }
    const uuid = str(claims['_id']);
    if (uuid !== undefined && idProject === this.store.projectId) {
      const pu = this.store.ensureExternalProjectUser(uuid, 'user');
      if (pu.status !== 'active') {
        return json(401, {
          success: false,
          msg: 'Authentication failed. Project_user not active.',
        });
      }
    }
    // The returned token is the Authorization header as sent, prefixed only if it lacks "JWT".
    return json(200, {
      success: true,
      token: header.includes('JWT') ? header : 'JWT ' + header,
      user: claims,
    });
  }
}
