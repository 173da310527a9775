/** `/{p}/requests/...` other than messages (tiledesk-api.md §2.4, §4.3; `S:routes/request.js`). */
import type { Auth } from './auth';
import type { Conversations } from './conversation';
import type { Ctx, Reply } from './http-util';
import { bodyRecord, json } from './http-util';
import type { Store } from './model';
import { requestJson } from './request-doc';
import type { StandInRequest } from './types';
import { nonEmpty, num } from './util';

const NOT_FOUND = json(404, { success: false, msg: 'Object not found.' });

export class RequestRoutes {
  constructor(
    private readonly store: Store,
    private readonly auth: Auth,
    private readonly conv: Conversations,
  ) {}

  /** segments: [p, 'requests', id?, action?] */
  handle(ctx: Ctx): Reply | undefined {
    const [, , id, action, extra] = ctx.segments;
    if (id === undefined || extra !== undefined) return undefined;
    if (id === 'me' && action === undefined && ctx.method === 'GET') return this.me(ctx);
    const route =
      action === undefined && ctx.method === 'GET'
        ? 'get'
        : action === undefined && ctx.method === 'PATCH'
          ? 'patch'
          : action === 'agent' && ctx.method === 'PUT'
            ? 'agent'
            : action === 'close' && ctx.method === 'PUT'
              ? 'close'
              : action === 'attributes' && ctx.method === 'PATCH'
                ? 'attributes'
                : action === 'participants' && ctx.method === 'POST'
                  ? 'participants'
                  : undefined;
    if (route === undefined) return undefined;
    // hasRoleOrTypes('agent', ['bot','subscription'])
    const denied = this.auth.authorize(ctx, 'agent', true);
    if (denied) return denied;
    const request = this.store.requests.get(id);
    switch (route) {
      case 'get':
        return request ? json(200, requestJson(request)) : NOT_FOUND;
      case 'patch':
        return request
          ? json(200, requestJson(this.conv.patch(request, bodyRecord(ctx))))
          : json(404, { success: false, msg: 'Request not found' });
      case 'agent':
        return request ? json(200, requestJson(this.conv.route(request))) : NOT_FOUND;
      case 'close':
        return this.close(ctx, request);
      case 'attributes':
        return request
          ? json(200, requestJson(this.conv.patchAttributes(request, bodyRecord(ctx))))
          : NOT_FOUND;
      case 'participants':
        return this.participants(ctx, request);
    }
  }

  /** `S:routes/request.js#L330-371`: closed_by = the caller; unknown request → 500. */
  private close(ctx: Ctx, request: StandInRequest | undefined): Reply {
    if (!request) return json(500, { success: false, error: 'Error closing request' });
    const p = ctx.principal;
    const role = ctx.projectUser?.role;
    if (
      p &&
      role !== undefined &&
      role !== 'owner' &&
      role !== 'admin' &&
      !request.participantsAgents.includes(p.id)
    ) {
      return json(403, {
        success: false,
        error: 'You must be among the participants to close a conversation.',
      });
    }
    return json(200, requestJson(this.conv.close(request, p?.id ?? 'system')));
  }

  /** `S:routes/request.js#L399-423`: express-validator on `member`, then the service. */
  private participants(ctx: Ctx, request: StandInRequest | undefined): Reply {
    const member = nonEmpty(bodyRecord(ctx)['member']);
    if (member === undefined) {
      return json(422, {
        errors: [{ msg: 'Invalid value', param: 'member', location: 'body' }],
      });
    }
    if (!request) return json(500, { success: false, error: 'Error adding participant' });
    return json(200, requestJson(this.conv.addParticipant(request, member)));
  }

  /** `S:routes/user-request.js#L84-398`: open requests of the caller, newest first. */
  private me(ctx: Ctx): Reply {
    const denied = this.auth.authorize(ctx, 'guest', false);
    if (denied) return denied;
    const me = ctx.principal?.id;
    const channel = ctx.query.get('channel');
    let limit = num(ctx.query.get('limit')) ?? 40;
    if (limit > 100) limit = 40;
    const page = num(ctx.query.get('page')) ?? 0;
    const mine = [...this.store.requests.values()]
      .filter(
        (r) =>
          r.status < 1000 &&
          !r.preflight &&
          (r.requester.uuid_user === me || r.requester.id_user === me) &&
          (channel === null || r.channel.name === channel),
      )
      .sort((a, b) =>
        a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b._id.localeCompare(a._id),
      );
    return json(200, {
      perPage: limit,
      count: mine.length,
      requests: mine.slice(page * limit, page * limit + limit),
    });
  }
}
