/**
 * Variant (e) of section 1, the naive approach: a middleware that awaits a Tiledesk POST for the
 * user's message and for each reply, inside the turn (so the user waits for Tiledesk).
 */
import type { AxiosInstance } from 'axios';
import type { Middleware, TurnContext } from 'botbuilder';
import type { StandInInfo } from './standin-host';

export class NaiveMirror implements Middleware {
  constructor(
    private readonly http: AxiosInstance,
    private readonly standin: StandInInfo,
    private readonly token: string,
  ) {}

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const activity = context.activity;
    if (activity.type !== 'message') return next();
    const p = this.standin.projectId;
    const request = `support-group-${p}-naive-${activity.conversation.id}`;
    const url = `${this.standin.url}/${p}/requests/${encodeURIComponent(request)}/messages`;
    const conversation = activity.conversation.id;
    const post = (text: string, name: string) =>
      this.http.post(
        url,
        {
          text,
          senderFullname: name,
          channel: { name: 'botframework' },
          request_status: 50,
          attributes: { bf_conversation: conversation },
        },
        { headers: { Authorization: this.token } },
      );
    await post(activity.text ?? '', activity.from.name ?? 'User');
    context.onSendActivities(async (_ctx, activities, nextSend) => {
      const responses = await nextSend();
      for (const a of activities) if (a.type === 'message') await post(a.text ?? '', 'Echo Bot');
      return responses;
    });
    await next();
  }
}
