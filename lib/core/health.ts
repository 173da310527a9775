import { TiledeskError, type TiledeskErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { Credentials } from './credentials';
import type { Outbox } from './outbox';
import type { Delivery } from './delivery';
import type { Subscriptions, SubscriptionState } from './subscriptions';
import type { BotState, TiledeskBotIdentity } from './tiledesk-bot';
import type { Clock } from './types';
import type { WebhookIgnored, WebhookReceiver, WebhookRefusal } from './webhook';
import { probeWebhook, type ProbeOutcome, redactUrl } from './webhook-probe';

/**
 * What works and what does not, from the engine's parts: `health()` (a snapshot a bot can serve
 * on its own health route) and the result of `start()`. Cheap and synchronous: counters the
 * parts keep anyway, no I/O. Times are ISO strings, `null` for "never".
 */

/** What `start()` could and could not do. It never rejects: the bot runs either way. */
export interface StartResult {
  /** True when nothing below failed. */
  ok: boolean;
  /** The admin account signed in (now or earlier). */
  signedIn: boolean;
  /** Every webhook subscription exists and its secret is known. */
  subscribed: boolean;
  /** The webhook URL reached this handler (`null`: not checked, `TiledeskWebhookProbe=false`). */
  webhookReachable: boolean | null;
  /**
   * The Tiledesk bot that serves requests exists and its secret is known (`null`:
   * `TiledeskMirrorVisibility=hidden`, no bot needed).
   */
  tiledeskBot: boolean | null;
  /** Each thing it could not do, as also reported to `onError` (same codes). */
  problems: { code: TiledeskErrorCode; message: string }[];
}

export interface TiledeskHealth {
  /** True when signed in, subscribed, and the webhook URL (if checked) reached us. */
  ok: boolean;
  /** When this snapshot was taken. */
  at: string;
  /** The last `start()` (`null` before it finished). */
  start: StartResult | null;
  /** The last admin sign-in. */
  signIn: { ok: boolean; at: string; code?: TiledeskErrorCode; message?: string } | null;
  subscriptions: {
    checkedAt: string | null;
    events: { event: string; state: SubscriptionState; id?: string }[];
    error?: { code: TiledeskErrorCode; message: string };
  };
  /** The Tiledesk bot serving requests (`TiledeskMirrorVisibility=bot`); `null` when hidden. */
  tiledeskBot: {
    checkedAt: string | null;
    state: BotState;
    id?: string;
    error?: { code: TiledeskErrorCode; message: string };
  } | null;
  /** Bot → Tiledesk posts this instance still has to make. */
  outbox: { conversations: number; backlog: number; oldestAgeMs: number | null };
  /** Conversations with agent messages or notices on their way to the user. */
  deliveries: { pending: number };
  webhook: {
    /** `TiledeskWebhookUrl`, long path segments and query masked. */
    url: string;
    /** The reachability check of `start()` (`null`: not run). */
    probe: { ok: boolean; at: string; status?: number; reason?: string; detail?: string } | null;
    accepted: number;
    lastAcceptedAt: string | null;
    lastRefusedAt: string | null;
    refused: Partial<Record<WebhookRefusal, number>>;
    ignored: Partial<Record<WebhookIgnored, number>>;
    readsInProgress: number;
  };
}

export interface HealthSources {
  clock: Clock;
  logger: Logger;
  onError(error: TiledeskError): void;
  credentials: Pick<Credentials, 'lastSignIn'>;
  subscriptions: Pick<Subscriptions, 'status'>;
  tiledeskBot?: Pick<TiledeskBotIdentity, 'status'> | undefined;
  outbox: Pick<Outbox, 'backlog'>;
  delivery: Pick<Delivery, 'size'>;
  webhook: Pick<WebhookReceiver, 'snapshot' | 'probeToken'>;
}

export interface HealthSettings {
  webhookUrl: string;
  webhookProbe: boolean;
  timeoutMs: number;
}

/** The probe gives up sooner than a Tiledesk call: `start()` waits for it. */
const PROBE_TIMEOUT_MS = 5000;

export class HealthMonitor {
  private startResult: StartResult | undefined;
  private probe: (ProbeOutcome & { at: number }) | undefined;

  constructor(
    private readonly p: HealthSources,
    private readonly settings: HealthSettings,
  ) {}

  /**
   * The end of `start()`: probes the webhook URL (when enabled), reports what failed through
   * `onError` (sign-in and subscription failures were reported as they happened) and returns
   * the result.
   */
  async afterStart(): Promise<StartResult> {
    const problems: StartResult['problems'] = [];
    const subs = this.p.subscriptions.status();
    if (subs.error) problems.push({ ...subs.error });
    const signedIn = this.p.credentials.lastSignIn?.ok === true;
    const subscribed =
      !subs.error && subs.events.every((e) => e.state === 'found' || e.state === 'created');
    const bot = this.p.tiledeskBot?.status();
    if (bot?.error) problems.push({ ...bot.error });
    const tiledeskBot = bot ? bot.state !== 'unknown' : null;
    let webhookReachable: boolean | null = null;
    if (this.settings.webhookProbe) {
      const outcome = await probeWebhook(this.settings.webhookUrl, {
        timeoutMs: Math.min(PROBE_TIMEOUT_MS, this.settings.timeoutMs),
        probeToken: this.p.webhook.probeToken,
      });
      this.probe = { ...outcome, at: this.p.clock.now() };
      webhookReachable = outcome.ok;
      if (!outcome.ok) {
        const error = probeError(outcome, redactUrl(this.settings.webhookUrl));
        this.p.onError(error);
        problems.push({ code: error.code, message: error.message.replace(/^\[[^\]]+\] /, '') });
      }
    }
    const result: StartResult = {
      ok: problems.length === 0 && signedIn && subscribed && tiledeskBot !== false,
      signedIn,
      subscribed,
      webhookReachable,
      tiledeskBot,
      problems,
    };
    this.startResult = result;
    this.p.logger.info('start.finished', {
      ok: result.ok,
      signedIn,
      subscribed,
      webhookReachable,
      tiledeskBot,
      problems: problems.map((x) => x.code),
    });
    return result;
  }

  /** `pending`: the turns' entries not yet written to storage (the engine's own queue). */
  snapshot(pending: { entries: number; oldestAt: number | undefined }): TiledeskHealth {
    const now = this.p.clock.now();
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const signIn = this.p.credentials.lastSignIn;
    const subs = this.p.subscriptions.status();
    const backlog = this.p.outbox.backlog();
    const oldest = [backlog.oldestAt, pending.oldestAt].filter((t) => t !== undefined);
    const hooks = this.p.webhook.snapshot();
    const probe = this.probe;
    const subscribed =
      !subs.error && subs.events.every((e) => e.state === 'found' || e.state === 'created');
    const bot = this.p.tiledeskBot?.status();
    return {
      ok:
        signIn?.ok === true &&
        subscribed &&
        probe?.ok !== false &&
        (bot === undefined || bot.state !== 'unknown'),
      at: new Date(now).toISOString(),
      start: this.startResult ?? null,
      signIn: signIn
        ? {
            ok: signIn.ok,
            at: iso(signIn.at)!,
            ...(signIn.code ? { code: signIn.code } : {}),
            ...(signIn.message ? { message: signIn.message } : {}),
          }
        : null,
      subscriptions: {
        checkedAt: iso(subs.checkedAt),
        events: subs.events,
        ...(subs.error ? { error: subs.error } : {}),
      },
      tiledeskBot: bot
        ? {
            checkedAt: iso(bot.checkedAt),
            state: bot.state,
            ...(bot.id ? { id: bot.id } : {}),
            ...(bot.error ? { error: bot.error } : {}),
          }
        : null,
      outbox: {
        conversations: backlog.conversations,
        backlog: backlog.entries + pending.entries,
        oldestAgeMs: oldest.length > 0 ? Math.max(0, now - Math.min(...oldest)) : null,
      },
      deliveries: { pending: this.p.delivery.size },
      webhook: {
        url: redactUrl(this.settings.webhookUrl),
        probe: probe
          ? {
              ok: probe.ok,
              at: iso(probe.at)!,
              ...(probe.status !== undefined ? { status: probe.status } : {}),
              ...(!probe.ok ? { reason: probe.reason } : {}),
              ...(!probe.ok && probe.detail ? { detail: probe.detail } : {}),
            }
          : null,
        accepted: hooks.accepted,
        lastAcceptedAt: iso(hooks.lastAcceptedAt),
        lastRefusedAt: iso(hooks.lastRefusedAt),
        refused: hooks.refused,
        ignored: hooks.ignored,
        readsInProgress: hooks.readsInProgress,
      },
    };
  }
}

const PROBE_FIX: Record<Exclude<ProbeOutcome, { ok: true }>['reason'], string> = {
  'not found':
    'the path answers 404: mount tiledesk.webhookHandler at the path of TiledeskWebhookUrl (Tiledesk does not retry 4xx: agent messages would only come through the catch-up)',
  redirect:
    'the URL redirects: Tiledesk does not follow redirects for a POST; use the final URL (https, exact path)',
  unreachable:
    'nothing answers at that URL from here: check TiledeskWebhookUrl, that the server listens before start() is called, or set TiledeskWebhookProbe=false if the bot cannot call its own public URL',
  timeout: 'the URL did not answer in time: check TiledeskWebhookUrl and the server',
  'not our handler':
    'something else answers at that URL: mount tiledesk.webhookHandler there (before any body parser or authentication middleware)',
};

function probeError(outcome: Exclude<ProbeOutcome, { ok: true }>, url: string): TiledeskError {
  const status = outcome.status === undefined ? '' : ` (${outcome.status})`;
  const detail = outcome.detail ? `: ${outcome.detail}` : '';
  return new TiledeskError(
    'TILEDESK_WEBHOOK_UNREACHABLE',
    `The webhook URL ${url} does not reach this bot's webhook handler: ${outcome.reason}${status}${detail}`,
    {
      url,
      reason: outcome.reason,
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      fix: PROBE_FIX[outcome.reason],
    },
  );
}

export { PROBE_FIX };
