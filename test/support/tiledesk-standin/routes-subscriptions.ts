/** `/{p}/subscriptions` — admin/owner only (tiledesk-api.md §5.1, `S:routes/subscription.js`). */
import type { Auth } from './auth';
import type { Ctx, Reply } from './http-util';
import { bodyRecord, json } from './http-util';
import { Store } from './model';
import type { StandInSubscription } from './types';
import { nowIso, objectId, str } from './util';

export class SubscriptionRoutes {
  constructor(
    private readonly store: Store,
    private readonly auth: Auth,
  ) {}

  /** segments: [p, 'subscriptions', id?] */
  handle(ctx: Ctx): Reply | undefined {
    const [, , id, extra] = ctx.segments;
    if (extra !== undefined) return undefined;
    const known = id === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    if (!known.includes(ctx.method)) return undefined;
    const denied = this.auth.authorize(ctx, 'admin', false);
    if (denied) return denied;
    if (id === undefined) {
      if (ctx.method === 'POST') return this.create(ctx);
      // `Subscription.find()` — the secret is `select: false`.
      return json(
        200,
        [...this.store.subscriptions.values()].map((s) => Store.publicSubscription(s)),
      );
    }
    const sub = this.store.subscriptions.get(id);
    if (ctx.method === 'GET') {
      return sub
        ? json(200, Store.publicSubscription(sub))
        : json(404, { success: false, msg: 'Object not found.' });
    }
    if (ctx.method === 'DELETE') {
      // findByIdAndRemove → the deleted doc (or null).
      if (sub) this.store.subscriptions.delete(id);
      return json(200, sub ? Store.publicSubscription(sub) : null);
    }
    return this.update(ctx, id, sub);
  }

  private create(ctx: Ctx): Reply {
    const body = bodyRecord(ctx);
    const event = str(body['event']);
    const target = str(body['target']);
    if (!event || !target) return json(500, { success: false, msg: 'Error saving object.' });
    const subs = [...this.store.subscriptions.values()];
    if (subs.some((s) => s.event === event && s.target === target)) {
      // E11000 on the unique (id_project, event, target) index → findOne({id_project, event}):
      // the FIRST subscription with that event, possibly another target's.
      const first = subs.find((s) => s.event === event && s.id_project === this.store.projectId);
      if (first) return json(200, first, { 'x-hook-secret': first.secret });
    }
    const at = nowIso();
    const sub: StandInSubscription = {
      _id: objectId(),
      event,
      target,
      id_project: this.store.projectId,
      createdBy: ctx.principal?.id ?? 'system',
      createdAt: at,
      updatedAt: at,
      __v: 0,
      secret: this.store.subscriptionSecret, // one uuid per process (§5.1 quirk)
    };
    this.store.subscriptions.set(sub._id, sub);
    // The saved document also shows `global: false`, a field later reads leave out.
    return json(200, { ...sub, global: false }, { 'x-hook-secret': sub.secret });
  }

  /** findByIdAndUpdate(…, {upsert: true}). */
  private update(ctx: Ctx, id: string, sub: StandInSubscription | undefined): Reply {
    const body = bodyRecord(ctx);
    const at = nowIso();
    const next: StandInSubscription = sub ?? {
      _id: id,
      event: '',
      target: '',
      id_project: this.store.projectId,
      createdBy: ctx.principal?.id ?? 'system',
      createdAt: at,
      updatedAt: at,
      __v: 0,
      secret: this.store.subscriptionSecret,
    };
    const event = str(body['event']);
    const target = str(body['target']);
    if (event !== undefined) next.event = event;
    if (target !== undefined) next.target = target;
    next.updatedAt = at;
    this.store.subscriptions.set(id, next);
    return json(200, Store.publicSubscription(next));
  }
}
