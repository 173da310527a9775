import { asTiledeskError, type TiledeskError } from '../errors';
import type { TiledeskSettings } from '../settings';
import type { Engine, TurnBatch } from './engine';
import {
  CONTINUE_CONVERSATION,
  HandoffEvents,
  type Host,
  type HostActivity,
  type HostTurn,
} from './host';
import type { ProactiveTurns } from './proactive';
import { leaveMatcher } from './leave';
import { type HandoffTrigger, handoffScore, matchPhrase } from './triggers';
import type { ChatActivity, ChatAttachment } from './types';

/**
 * The middleware's decisions for one turn, for any SDK: which turns are mirrored, when the bot
 * is suppressed, the order in which triggers are looked for (keyword, recognizer, a
 * `handoff.initiate` the bot sends, the code API), and the capture of what the bot really sent.
 * Bot → Tiledesk only; Tiledesk → user goes through the engine's delivery.
 */

/** Per-turn state, kept in the SDK's `turnState` under a symbol (botbuilder's advice). */
const SCOPE = Symbol('botbuilder-tiledesk turn');
interface TurnScope {
  batch: TurnBatch;
  capturing: boolean;
  /** Texts we send that are already stored for mirroring (the connecting notice). */
  stored: string[];
  /** The bot's own proactive turn: its messages may be held during a handoff. */
  ownProactive?: boolean;
}

export class TurnPolicy<C> {
  private readonly isLeave: (text: string | undefined) => boolean;

  constructor(
    private readonly host: Host<C>,
    private readonly engine: Engine,
    private readonly settings: TiledeskSettings,
    private readonly proactive: ProactiveTurns<C>,
    private readonly onError: (error: TiledeskError) => void,
  ) {
    const button = settings.textEndChatButton;
    this.isLeave = leaveMatcher([...settings.leaveKeywords, ...(button ? [button] : [])]);
  }

  async onTurn(context: C, next: () => Promise<void>): Promise<void> {
    const turn = this.host.turn(context);
    const scope: TurnScope = { batch: this.engine.batch(), capturing: false, stored: [] };
    turn.state.set(SCOPE, scope);
    try {
      await this.route(context, turn, next, scope);
    } finally {
      scope.batch.commit(); // also when the bot threw: what it sent is mirrored
    }
  }

  /** Starts a handoff from bot code; false if the conversation already is with a human. */
  async handoff(context: C, handoffContext?: unknown): Promise<boolean> {
    const trigger: HandoffTrigger = { trigger: 'api', context: handoffContext };
    const turn = this.host.turn(context);
    const scope = turn.state.get(SCOPE) as TurnScope | undefined;
    if (scope) return this.begin(turn, scope, trigger);
    const own: TurnScope = { batch: this.engine.batch(), capturing: false, stored: [] };
    try {
      return await this.begin(turn, own, trigger);
    } finally {
      own.batch.commit();
    }
  }

  private async route(context: C, turn: HostTurn, next: () => Promise<void>, scope: TurnScope) {
    const activity = turn.activity;
    if (activity.type === 'event' && activity.name === CONTINUE_CONVERSATION) {
      const intent = this.proactive.intentOf(activity);
      // Never mirrored (and never held: they are not the bot's own sends).
      if (intent?.kind === 'agent' || intent?.kind === 'notice' || intent?.kind === 'typing') {
        return next();
      }
      if (!intent) scope.ownProactive = true;
      if (intent?.kind === 'status') {
        // The synthetic ContinueConversation becomes the handoff.status event the bot expects.
        activity.name = HandoffEvents.status;
        activity.value = {
          state: intent.state,
          ...(intent.message ? { message: intent.message } : {}),
        };
      }
    }
    if (activity.type !== 'message') {
      this.capture(turn, scope);
      return next();
    }
    const state = await this.engine.turn(turn.reference());
    scope.batch.begin(state);
    scope.batch.user(toChat(activity));
    if (state.mode === 'handoff') {
      // A human answers: the bot stays silent, unless the user ends the chat with them.
      if (this.isLeave(activity.text)) await this.leave(turn, scope);
      return;
    }
    const trigger = await this.detect(context, activity);
    if (trigger && (await this.begin(turn, scope, trigger))) return;
    this.capture(turn, scope);
    await next();
  }

  /** The user ends the chat with the agent: told, bot back, request closed (see Handoff.end). */
  private async leave(turn: HostTurn, scope: TurnScope): Promise<void> {
    // The user's message goes with the change, into the request being closed.
    const before = scope.batch.take();
    try {
      const ended = await this.engine.endHandoff(
        turn.reference(),
        'user left',
        this.settings.textLeft,
        before,
      );
      if (!ended) scope.batch.restore(before);
    } catch (err) {
      scope.batch.restore(before);
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE')); // never into the turn
    }
  }

  private async detect(context: C, activity: HostActivity): Promise<HandoffTrigger | undefined> {
    const text = activity.text;
    const keyword = matchPhrase(text, this.settings.handoffKeywords);
    if (keyword) return { trigger: 'keyword', keyword, ...(text ? { text } : {}) };
    if (!this.host.recognize) return undefined;
    try {
      const intents = await this.host.recognize(context);
      const intent = this.settings.handoffIntent;
      const score = handoffScore(intents, intent, this.settings.handoffMinScore);
      if (score !== undefined)
        return { trigger: 'intent', intent, score, ...(text ? { text } : {}) };
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_RECOGNIZER')); // never blocks the bot
    }
    return undefined;
  }

  private async begin(
    turn: HostTurn,
    scope: TurnScope,
    trigger: HandoffTrigger,
    attachments?: ChatAttachment[],
  ) {
    // A bot that sent handoff.initiate speaks for itself; otherwise tell the user. The notice is
    // stored (to be mirrored) in the same write as the switch, before the user sees it.
    const notice = trigger.trigger !== 'event' ? this.settings.textConnecting : '';
    const started = await scope.batch.handoff(turn.reference(), trigger, notice, attachments);
    if (started && notice) {
      this.capture(turn, scope);
      scope.stored.push(notice);
      const button = this.settings.textEndChatButton;
      await turn.send([
        {
          type: 'message',
          text: notice,
          ...(button && {
            suggestedActions: { actions: [{ type: 'imBack', title: button, value: button }] },
          }),
        },
      ]);
    }
    return started;
  }

  /**
   * Mirrors what the bot really sent (after the send succeeded), in order, and intercepts
   * `handoff.initiate` events: they start a handoff and are not sent to the channel.
   */
  private capture(turn: HostTurn, scope: TurnScope): void {
    if (scope.capturing) return;
    scope.capturing = true;
    turn.onSend(async (activities, send) => {
      const initiations = removeHandoffInitiations(activities);
      const held = scope.ownProactive ? await this.holdIfHandoff(turn, activities) : [];
      const responses = activities.length > 0 ? await send() : [];
      const messages = activities.filter((a) => (a.type ?? 'message') === 'message');
      if (messages.length > 0 || initiations.length > 0) {
        const ref = turn.reference();
        for (const a of messages) {
          const stored = a.text === undefined ? -1 : scope.stored.indexOf(a.text);
          if (stored >= 0) scope.stored.splice(stored, 1);
          else scope.batch.bot(ref, toChat(a));
        }
        for (const ev of initiations) {
          await this.begin(turn, scope, { trigger: 'event', context: ev.value }, ev.attachments);
        }
      }
      // Held messages by their place after the initiations were taken out, then those.
      for (const index of held) responses.splice(index, 0, { id: '' });
      for (const { index } of initiations) responses.splice(index, 0, { id: '' });
      return responses;
    });
  }

  /**
   * The bot's own proactive messages while an agent has the conversation
   * (`TiledeskBotMessagesDuringHandoff`): held (durably, sent when the bot has it back) or
   * dropped; removed from `activities` either way. Returns the indexes they had. With the bot,
   * or when storage fails, they go out as usual.
   */
  private async holdIfHandoff(turn: HostTurn, activities: HostActivity[]): Promise<number[]> {
    const policy = this.settings.botMessagesDuringHandoff;
    if (policy === 'send' || !activities.some((a) => (a.type ?? 'message') === 'message'))
      return [];
    try {
      const ref = turn.reference();
      if ((await this.engine.turn(ref)).mode !== 'handoff') return [];
      const indexes: number[] = [];
      const removed: HostActivity[] = [];
      for (let i = 0, original = 0; i < activities.length; original++) {
        const a = activities[i]!;
        if ((a.type ?? 'message') !== 'message') {
          i++;
          continue;
        }
        indexes.push(original);
        removed.push(...activities.splice(i, 1));
      }
      if (policy === 'hold' && !(await this.engine.hold(ref, removed.map(toChat)))) {
        activities.push(...removed); // back with the bot meanwhile: send them now
        return [];
      }
      return indexes;
    } catch (err) {
      this.onError(asTiledeskError(err, 'TILEDESK_STORAGE'));
      return [];
    }
  }
}

interface Initiation {
  index: number;
  value: unknown;
  /** The transcript, when the bot passed one (botbuilder's `EventFactory`). */
  attachments?: ChatAttachment[];
}

function removeHandoffInitiations(activities: HostActivity[]): Initiation[] {
  const removed: Initiation[] = [];
  for (let i = 0; i < activities.length; i++) {
    const a = activities[i]!;
    if (a.type === 'event' && a.name === HandoffEvents.initiate) {
      const index = i + removed.length;
      removed.push({ index, value: a.value, ...(a.attachments && { attachments: a.attachments }) });
      activities.splice(i--, 1);
    }
  }
  return removed;
}

/** Shallow copy of the fields the core reads (cheap; runs inside the turn). */
function toChat(a: HostActivity): ChatActivity {
  const chat: ChatActivity = { type: a.type ?? 'message' };
  if (a.id) chat.id = a.id;
  if (a.text) chat.text = a.text;
  if (a.locale) chat.locale = a.locale;
  if (a.channelId) chat.channelId = a.channelId;
  if (a.attachments?.length) chat.attachments = a.attachments;
  if (a.attachmentLayout) chat.attachmentLayout = a.attachmentLayout;
  // A click on an agent's `action` button carries the action here (content/buttons.ts).
  if (a.value !== undefined && a.value !== null) chat.value = a.value;
  if (a.suggestedActions) chat.suggestedActions = a.suggestedActions;
  return chat;
}
