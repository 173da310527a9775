/** Route dispatch in the order of `S:app.js`: auth routes, public project helpers, then project routes. */
import type { Auth } from './auth';
import type { Ctx, Reply } from './http-util';
import { json } from './http-util';
import { ADMIN_USER_ID, type Store } from './model';
import type { Photos } from './photos';
import type { ChatFiles } from './chat-files';
import { restEvent } from './typing';
import { projectUserJson } from './request-doc';
import type { AuthRoutes } from './routes-auth';
import type { MessageRoutes } from './routes-messages';
import type { RequestRoutes } from './routes-requests';
import type { SubscriptionRoutes } from './routes-subscriptions';
import type { BotRoutes } from './bots';
import { isValidObjectId } from './util';

/** Express finalhandler 404. */
function notFound(ctx: Ctx): Reply {
  const body = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${ctx.method} ${ctx.path}</pre>\n</body>\n</html>\n`;
  return { status: 404, body, contentType: 'text/html; charset=utf-8' };
}

export class Router {
  constructor(
    private readonly store: Store,
    private readonly auth: Auth,
    private readonly authRoutes: AuthRoutes,
    private readonly messages: MessageRoutes,
    private readonly requests: RequestRoutes,
    private readonly subscriptions: SubscriptionRoutes,
    private readonly photos?: Photos,
    /** Webhook deliveries of events the router itself handles (`POST /{p}/events`). */
    private readonly emit?: (events: readonly string[], payload: () => unknown) => void,
    private readonly bots?: BotRoutes,
    private readonly chatFiles?: ChatFiles,
  ) {}

  handle(ctx: Ctx): Reply {
    const [first, second] = ctx.segments;
    if (first === undefined) {
      return ctx.method === 'GET'
        ? {
            status: 200,
            body: "Hello from Tiledesk server. It's UP. (stand-in)",
            contentType: 'text/html; charset=utf-8',
          }
        : notFound(ctx);
    }
    if (first === 'auth') return this.authRoutes.handle(ctx) ?? notFound(ctx);
    if (first === 'projects') {
      return this.publicProject(ctx) ?? this.projectDetail(ctx) ?? notFound(ctx);
    }
    if (first === 'images') return this.photos?.images(ctx) ?? notFound(ctx);
    if (first === 'files' && second === 'download')
      return this.chatFiles?.download(ctx) ?? notFound(ctx);
    if (first === 'files') return this.photos?.files(ctx) ?? notFound(ctx);

    // projectSetter (`S:app.js#L464-512`) runs before authentication.
    if (!isValidObjectId(first)) return json(400, { error: 'Invalid project id: ' + first });
    if (first !== this.store.projectId)
      return json(400, { error: 'Project not found with id: ' + first });
    // `S:app.js#L621`: mounted without authentication; `S:routes/public-analytics.js#L9-37`:
    // `$avg` of `waiting_time` over the project's requests created in the last 4 hours: `[]`
    // without such requests, `waiting_time_avg: null` when none of them has one (yet).
    if (second === 'publicanalytics') {
      const [, , a, b, extra] = ctx.segments;
      if (ctx.method !== 'GET' || a !== 'waiting' || b !== 'current' || extra !== undefined) {
        return notFound(ctx);
      }
      return json(200, this.waitingTime(first));
    }
    // `/:projectid/departments` has its own auth checks; `GET /:id` has none (routes/department.js).
    if (second === 'departments') return this.department(ctx) ?? notFound(ctx);
    const upload =
      second === 'files' &&
      ctx.method === 'POST' &&
      ctx.segments.length === 4 &&
      ctx.segments[2] === 'users' &&
      ctx.segments[3] === 'photo';
    const chatUpload =
      second === 'files' &&
      ctx.method === 'POST' &&
      ctx.segments.length === 3 &&
      ctx.segments[2] === 'chat';
    const event = second === 'events' && ctx.method === 'POST' && ctx.segments.length === 2;
    if (
      second !== 'requests' &&
      second !== 'subscriptions' &&
      second !== 'project_users' &&
      second !== 'faq_kb' &&
      !upload &&
      !chatUpload &&
      !event
    ) {
      return notFound(ctx);
    }

    const authn = this.auth.authenticate(
      typeof ctx.headers.authorization === 'string' ? ctx.headers.authorization : undefined,
    );
    if ('reply' in authn) return authn.reply;
    ctx.principal = authn.principal;

    let reply: Reply | undefined;
    if (event) {
      reply = this.event(ctx);
    } else if (upload) {
      // hasRoleOrTypes('agent', ['bot', 'subscription']) (`S:routes/filesp.js#L303-307`)
      const denied = this.auth.authorize(ctx, 'agent', true);
      reply = denied ?? this.photos?.upload(authn.principal.id);
    } else if (chatUpload) {
      // hasRoleOrTypes('guest', ['bot', 'subscription']) (`S:routes/filesp.js` `/chat`)
      const denied = this.auth.authorize(ctx, 'guest', true);
      const pu = ctx.projectUser;
      const endUser = pu === undefined || pu.roleType === 2 || pu.role === 'guest';
      reply = denied ?? this.chatFiles?.upload(ctx, authn.principal.id, endUser);
    } else if (second === 'project_users') {
      reply = this.ownProjectUser(ctx);
    } else if (second === 'subscriptions') {
      reply = this.subscriptions.handle(ctx);
    } else if (second === 'faq_kb') {
      reply = this.bots?.handle(ctx);
    } else {
      const [, , requestId, action, extra] = ctx.segments;
      reply =
        requestId !== undefined && action === 'messages' && extra === undefined
          ? this.messages.handle(ctx, requestId)
          : this.requests.handle(ctx);
    }
    return reply ?? notFound(ctx);
  }

  private waitingTime(projectId: string): unknown[] {
    const set = this.store.waitingTimeAvgMs;
    if (set !== undefined) return [{ _id: projectId, waiting_time_avg: set }];
    const since = Date.now() - 4 * 3600 * 1000;
    const recent = [...this.store.requests.values()].filter(
      (r) => Date.parse(r.createdAt) >= since,
    );
    if (recent.length === 0) return [];
    const times = recent.flatMap((r) => (r.waiting_time === undefined ? [] : [r.waiting_time]));
    const avg = times.length === 0 ? null : times.reduce((a, b) => a + b, 0) / times.length;
    return [{ _id: projectId, waiting_time_avg: avg }];
  }

  /**
   * `GET /projects/{p}` (`S:routes/project.js#L860-881`): hasRoleOrTypes('agent', ['subscription'])
   * on `{p}` (a user of no such project: 403 "you dont belong to the project."), then
   * `Project.findOne({_id, status: 100})` (none: 404).
   */
  private projectDetail(ctx: Ctx): Reply | undefined {
    const [, projectId, extra] = ctx.segments;
    if (ctx.method !== 'GET' || projectId === undefined || extra !== undefined) return undefined;
    const authn = this.auth.authenticate(
      typeof ctx.headers.authorization === 'string' ? ctx.headers.authorization : undefined,
    );
    if ('reply' in authn) return authn.reply;
    ctx.principal = authn.principal;
    if (authn.principal.type !== 'subscription') {
      if (projectId !== this.store.projectId) {
        return json(403, { success: false, msg: 'you dont belong to the project.' });
      }
      const denied = this.auth.authorize(ctx, 'agent', true);
      if (denied) return denied;
    }
    if (projectId !== this.store.projectId) {
      return json(404, { success: false, msg: 'Object not found.' });
    }
    const at = this.store.createdAt;
    return json(200, {
      _id: projectId,
      name: this.store.projectName,
      activeOperatingHours: false,
      status: 100,
      createdBy: ADMIN_USER_ID,
      profile: { name: 'free', trialDays: 14, agents: 0, type: 'free' },
      createdAt: at,
      updatedAt: at,
      __v: 0,
      id: projectId,
    });
  }

  /**
   * `GET /{p}/departments/{id}` (`S:routes/department.js#L222-259`, no auth): `default` → the
   * project's default department; otherwise `Department.findById` (in ANY project), 404 when
   * none, 500 for an id that is not an ObjectId. JSON with virtuals (`id`, `hasBot`).
   */
  private department(ctx: Ctx): Reply | undefined {
    const [, , id, extra] = ctx.segments;
    if (ctx.method !== 'GET' || id === undefined || extra !== undefined) return undefined;
    if (id !== 'default' && !isValidObjectId(id)) {
      return json(500, { success: false, msg: 'Error getting object.' });
    }
    const dep = id === 'default' ? this.store.defaultDepartment : this.store.departments.get(id);
    if (!dep) return json(404, { success: false, msg: 'Object not found.' });
    return json(200, { ...dep, id: dep._id, hasBot: dep.id_bot !== undefined });
  }

  /** `req.user`: a Tiledesk user's document, or an end user's (or a token's) claims. */
  private caller(ctx: Ctx): Record<string, unknown> | undefined {
    const p = ctx.principal;
    if (!p) return undefined;
    const user = p.type === 'user' ? this.store.users.get(p.id) : undefined;
    return user ? { ...user } : p.claims;
  }

  /** `POST /{p}/events` (see `restEvent`). */
  private event(ctx: Ctx): Reply {
    const denied = this.auth.authorize(ctx, 'guest', true);
    if (denied) return denied;
    const body = (ctx.body ?? {}) as { name?: unknown; attributes?: unknown };
    if (typeof body.name !== 'string' || body.name === '') {
      return json(422, { errors: [{ msg: 'Invalid value', param: 'name', location: 'body' }] });
    }
    const { saved, delivered } = restEvent(
      this.store,
      body.name,
      body.attributes,
      ctx.projectUser,
      ctx.principal?.id ?? 'system',
      this.caller(ctx),
    );
    this.emit?.(['event.emit', `event.emit.${body.name}`], () => delivered);
    return json(200, saved);
  }

  /**
   * `PUT /{p}/project_users/` (`S:routes/project_user.js#L208-275`): the caller's own project
   * user (the dashboard's availability switch); answers the updated document.
   */
  private ownProjectUser(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'PUT' || ctx.segments.length !== 2) return undefined;
    const denied = this.auth.authorize(ctx, 'agent', false);
    if (denied) return denied;
    const pu = ctx.projectUser;
    if (!pu) return undefined;
    const available = (ctx.body as { user_available?: unknown } | undefined)?.user_available;
    if (typeof available === 'boolean') pu.user_available = available;
    pu.updatedAt = new Date().toISOString();
    return json(200, projectUserJson(pu));
  }

  /** `GET /projects/{p}/isopen`, `GET /projects/{p}/users/availables` — no auth (§1.1). */
  private publicProject(ctx: Ctx): Reply | undefined {
    const [, projectId, a, b] = ctx.segments;
    if (ctx.method !== 'GET' || projectId === undefined) return undefined;
    if (a === 'isopen' && b === undefined) return json(200, { isopen: true });
    if (a === 'users' && b === 'availables' && ctx.segments.length === 4) {
      if (projectId !== this.store.projectId) return json(200, []);
      const list = this.store.routable
        .map((id) => ({ pu: this.store.projectUserById(id), user: this.store.users.get(id) }))
        .filter((x) => x.pu?.user_available === true && x.user !== undefined)
        .map(({ pu, user }) => ({
          id: user?._id,
          pu_id: pu?._id,
          fullname: `${user?.firstname} ${user?.lastname}`,
          email: user?.email,
          assigned_request: pu?.number_assigned_requests,
        }));
      return json(200, list);
    }
    return undefined;
  }
}
