/** `/{p}/requests/{request_id}/messages` (tiledesk-api.md §3, `S:routes/message.js#L31-345`). */
import type { Auth } from './auth';
import type { Conversations } from './conversation';
import type { Ctx, Reply } from './http-util';
import { bodyRecord, json } from './http-util';
import type { Store } from './model';
import { requestJson } from './request-doc';
import type { StandInProjectUser } from './types';
import { isRecord, isValidObjectId, nonEmpty, num, record, str, stringArray } from './util';

function channelOf(value: unknown): { name: string } | undefined {
  return isRecord(value) && typeof value['name'] === 'string'
    ? { ...value, name: value['name'] }
    : undefined;
}

export class MessageRoutes {
  constructor(
    private readonly store: Store,
    private readonly auth: Auth,
    private readonly conv: Conversations,
  ) {}

  /** segments: [p, 'requests', id, 'messages'] */
  handle(ctx: Ctx, requestId: string): Reply | undefined {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') return undefined;
    // hasRoleOrTypes(null, ['bot','subscription']): any project member.
    const denied = this.auth.authorize(ctx, null, true);
    if (denied) return denied;
    if (ctx.method === 'GET') {
      return json(200, this.store.messages.get(requestId) ?? []);
    }
    return this.post(ctx, requestId);
  }

  private post(ctx: Ctx, requestId: string): Reply {
    const body = bodyRecord(ctx);
    const p = ctx.principal;
    if (!p) return json(500, { err: 'error' });
    let sender = nonEmpty(body['sender']);
    let fullname = nonEmpty(body['senderFullname']) ?? p.fullName;
    let email = nonEmpty(body['email']) ?? p.email;
    const text = str(body['text']);
    const type = nonEmpty(body['type']);
    const attributes = record(body['attributes']);
    const base = {
      status: num(body['status']) || 0, // `req.body.status || SENDING`
      ...(text !== undefined && { text }),
      ...(type !== undefined && { type }),
      ...(attributes !== undefined && { attributes }),
      ...(body['metadata'] !== undefined && { metadata: body['metadata'] }),
      ...(str(body['language']) !== undefined && { language: str(body['language']) }),
    };
    const channel = channelOf(body['channel']);
    const existing = this.store.requests.get(requestId);

    if (existing) {
      // §3.3: the sender of an existing request is not checked; closed requests are not reopened.
      const named = sender;
      sender ??= p.id;
      const message = this.conv.addMessage(
        existing,
        {
          ...base,
          sender,
          senderFullname: fullname ?? 'Guest',
          createdBy: sender,
          ...(channel !== undefined && { channel }),
        },
        true,
      );
      // After the message: the first reply of a participant sets the waiting time, only when
      // it names its `sender` (S:routes/message.js#L276: `participants.indexOf(req.body.sender)`).
      if (named !== undefined) this.conv.participantReplied(existing, named);
      return json(200, { ...message, request: requestJson(existing) });
    }

    // New request (§2.2 implicit creation).
    if (!text && (type === undefined || type === 'text')) {
      return json(422, { errors: ['text field is required'] });
    }
    let requester: StandInProjectUser | undefined = ctx.projectUser;
    if (sender !== undefined) {
      // mongoose isValid(sender) → lookup by id_user, else by uuid_user (§1.5 id hygiene).
      requester = isValidObjectId(sender)
        ? this.store.projectUserById(sender)
        : this.store.projectUserByUuid(sender);
      if (!requester || requester.status !== 'active') {
        return json(403, {
          success: false,
          msg: 'Unauthorized. Project_user not found with user id  : ' + sender,
        });
      }
      const user =
        requester.id_user !== undefined ? this.store.users.get(requester.id_user) : undefined;
      if (user) {
        fullname = `${user.firstname} ${user.lastname}`;
        email = user.email;
      }
    }
    // §3.3 pitfall: a subscription/bot token without `sender` dereferences an undefined
    // project_user inside a promise chain: the HTTP call never answers.
    if (!requester) return { hang: true };
    if (!text) {
      // first_text is required by the Request schema → 'Error creating request' (§3.2).
      return json(500, {
        success: false,
        msg: 'Error creating request',
        err: { message: 'request validation failed: first_text: Path `first_text` is required.' },
      });
    }
    const leadId = sender ?? p.id;
    const lead = this.store.ensureLead(
      leadId,
      fullname ?? 'Guest',
      email,
      attributes ?? p.attributes,
    );
    const subject = str(body['subject']);
    const sourcePage = str(body['sourcePage']);
    const userAgent = str(body['userAgent']);
    const language = str(body['language']);
    const participants = stringArray(body['participants']);
    const status = num(body['request_status']);
    const departmentId = nonEmpty(body['departmentid']);
    const { request, joined } = this.conv.createRequest({
      requestId,
      requester,
      lead,
      firstText: text,
      createdBy: p.id,
      ...(departmentId !== undefined && { departmentId }),
      ...(status !== undefined && { status }),
      ...(participants !== undefined && { participants }),
      ...(channel !== undefined && { channel }),
      ...(attributes !== undefined && { attributes }),
      ...(language !== undefined && { language }),
      ...(subject !== undefined && { subject }),
      ...(sourcePage !== undefined && { sourcePage }),
      ...(userAgent !== undefined && { userAgent }),
      ...(body['preflight'] === true && { preflight: true }),
      ...(str(body['priority']) !== undefined && { priority: str(body['priority']) }),
    });
    const message = this.conv.addMessage(
      request,
      {
        ...base,
        sender: leadId,
        senderFullname: fullname ?? 'Guest',
        createdBy: p.id,
        ...(channel !== undefined && { channel }),
      },
      false,
    );
    this.conv.announce(request, joined);
    return json(200, { ...message, request: requestJson(request) });
  }
}
