/**
 * `TestAdapter` (from botbuilder) does not implement `continueConversationAsync`; this subclass
 * does, the way `CloudAdapterBase` does (botbuilder-core 4.23.3 `cloudAdapterBase.ts`): build the
 * continuation activity with `ActivityEx.getContinuationActivity(reference)` — an `event` named
 * `ContinueConversation` with a fresh uuid `id` and `relatesTo` set to the very `reference` object
 * passed in — and run the full middleware pipeline with it. Replies land in `activeQueue`, each with
 * `replyToId` = the continuation activity's id, as they would reach a real channel.
 */
import { ActivityEx, BotAdapter, TestAdapter, TurnContext } from 'botbuilder';
import type { Activity, ConversationReference } from 'botbuilder';

/** botframework-connector's `ClaimsIdentity`, taken from BotAdapter's own signature. */
export type ClaimsIdentity = Parameters<BotAdapter['continueConversationAsync']>[0];

type Logic = (context: TurnContext) => Promise<void>;

/** One call of `continueConversationAsync`, as the adapter saw it. */
export interface ProactiveCall {
  /** The app id string, when the string overload was used ('' for anonymous bots). */
  readonly botAppId: string | undefined;
  /** The ClaimsIdentity, when a claims overload was used. */
  readonly claimsIdentity: ClaimsIdentity | undefined;
  readonly audience: string | undefined;
  readonly reference: Partial<ConversationReference>;
  /** The continuation activity the turn ran with. */
  readonly activity: Partial<Activity>;
}

export class ProactiveTestAdapter extends TestAdapter {
  /** Every `continueConversationAsync` call, in order. */
  readonly proactiveCalls: ProactiveCall[] = [];

  override continueConversationAsync(
    botAppId: string,
    reference: Partial<ConversationReference>,
    logic: Logic,
  ): Promise<void>;
  override continueConversationAsync(
    claimsIdentity: ClaimsIdentity,
    reference: Partial<ConversationReference>,
    logic: Logic,
  ): Promise<void>;
  override continueConversationAsync(
    claimsIdentity: ClaimsIdentity,
    reference: Partial<ConversationReference>,
    audience: string,
    logic: Logic,
  ): Promise<void>;
  override async continueConversationAsync(
    botAppIdOrClaims: string | ClaimsIdentity,
    reference: Partial<ConversationReference>,
    logicOrAudience: Logic | string,
    maybeLogic?: Logic,
  ): Promise<void> {
    // CloudAdapter treats anything that is not a string as a ClaimsIdentity, so an `undefined`
    // app id (e.g. `process.env.MicrosoftAppId` unset) fails inside it with this TypeError.
    if ((botAppIdOrClaims as unknown) === undefined || (botAppIdOrClaims as unknown) === null) {
      throw new TypeError(
        "Cannot read properties of undefined (reading 'getClaimValue'): " +
          "continueConversationAsync needs a botAppId string ('' when MicrosoftAppId is empty) " +
          'or a ClaimsIdentity',
      );
    }
    const botAppId = typeof botAppIdOrClaims === 'string' ? botAppIdOrClaims : undefined;
    const claimsIdentity = typeof botAppIdOrClaims === 'string' ? undefined : botAppIdOrClaims;
    const audience = typeof logicOrAudience === 'string' ? logicOrAudience : undefined;
    const logic = typeof logicOrAudience === 'function' ? logicOrAudience : maybeLogic;
    if (logic === undefined) throw new TypeError('`logic` must be defined');

    const activity = ActivityEx.getContinuationActivity(reference);
    this.proactiveCalls.push({ botAppId, claimsIdentity, audience, reference, activity });
    const context = this.createContext(activity);
    if (claimsIdentity !== undefined) context.turnState.set(this.BotIdentityKey, claimsIdentity);
    await this.runMiddleware(context, logic);
  }
}
