import { z } from 'zod';
import { TiledeskError, type TiledeskErrorCode } from '../errors';
import { bareMessage, type Logger } from '../logger';
import type { TiledeskApi } from '../tiledesk/client';
import type { VersionedStorage } from '../storage/versioned-storage';
import type { Credentials } from './credentials';
import { storageKeys } from './ids';
import type { Clock } from './types';

/**
 * The Tiledesk bot that stands for this Bot Framework bot when `TiledeskMirrorVisibility` is
 * `bot` (tiledesk-api.md §10): an `external` bot (`/{p}/faq_kb`) named `TiledeskBotName` whose
 * URL is our webhook. Requests are created served by it (`participants: ['bot_<id>']`), so
 * owners and admins see them live; our bot's messages are posted as it; Tiledesk POSTs each end
 * user message to its URL, signed with its secret (checked in bot-notification.ts).
 *
 * Tiledesk returns a bot's secret only in the answer that creates it, so id and secret live in
 * the bot's storage, shared by every instance. `ensure()` is idempotent and safe with several
 * instances starting at once: the stored item is written by compare-and-set, and an instance
 * that loses the race deletes the bot it created and adopts the winner's.
 */

const Stored = z.object({
  id: z.string(),
  secret: z.string(),
  name: z.string(),
  url: z.string(),
});
type Stored = z.infer<typeof Stored>;

/** Our Tiledesk bot as the mirror and the webhook use it. */
export interface KnownBot {
  id: string;
  secret: string;
  /** How its messages and participation are written: `bot_<id>`. */
  sender: string;
}

export type BotState = 'found' | 'updated' | 'created' | 'unknown';

export interface BotStatus {
  checkedAt: number | undefined;
  state: BotState;
  id?: string;
  error?: { code: TiledeskErrorCode; message: string };
}

export interface TiledeskBotOptions {
  api: TiledeskApi;
  credentials: Credentials;
  storage: VersionedStorage;
  clock: Clock;
  logger: Logger;
  channelName: string;
  name: string;
  /** Where Tiledesk POSTs end-user messages: our webhook. */
  url: string;
  /** Senders the webhook treats as our own echoes: `bot_<id>` joins them once known. */
  ownSenders: Set<string>;
}

/** Reload the stored bot at most this often when it is asked for and unknown. */
const RELOAD_INTERVAL_MS = 10_000;

export class TiledeskBotIdentity {
  private bot: KnownBot | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  private state: BotState = 'unknown';
  private checkedAt: number | undefined;
  private lastError: TiledeskError | undefined;

  constructor(private readonly o: TiledeskBotOptions) {}

  /** Finds, repairs or creates our Tiledesk bot; throws a TiledeskError saying why not. */
  async ensure(): Promise<KnownBot> {
    try {
      const bot = await this.ensureOnce();
      this.lastError = undefined;
      return bot;
    } catch (err) {
      this.lastError = botError(err);
      throw this.lastError;
    } finally {
      this.checkedAt = this.o.clock.now();
    }
  }

  status(): BotStatus {
    return {
      checkedAt: this.checkedAt,
      state: this.state,
      ...(this.bot ? { id: this.bot.id } : {}),
      ...(this.lastError
        ? { error: { code: this.lastError.code, message: bareMessage(this.lastError) } }
        : {}),
    };
  }

  /**
   * Our bot as stored, or `undefined` before any instance created it; reloaded from storage
   * (rate-limited) when unknown or when `refresh` is asked for.
   */
  async known(refresh = false): Promise<KnownBot | undefined> {
    const stale = this.o.clock.now() - this.loadedAt > RELOAD_INTERVAL_MS;
    if ((!this.bot || refresh) && stale) {
      this.loadedAt = this.o.clock.now();
      this.loading ??= this.read()
        .then(({ stored }) => {
          if (stored) this.remember(stored);
        })
        .finally(() => (this.loading = undefined));
      await this.loading;
    }
    return this.bot;
  }

  /** Like `known()`, but a missing bot is an error (retried by the outbox). */
  async required(): Promise<KnownBot> {
    const bot = await this.known();
    if (bot) return bot;
    throw new TiledeskError(
      'TILEDESK_BOT_MISSING',
      'The Tiledesk bot standing for this bot is not known yet (TiledeskMirrorVisibility=bot)',
      { fix: 'let start() finish, or run `npx botbuilder-tiledesk doctor`' },
    );
  }

  private async ensureOnce(): Promise<KnownBot> {
    const { api } = this.o;
    if (!api.createBot || !api.getBot || !api.updateBot || !api.deleteBot) {
      throw new TiledeskError(
        'TILEDESK_BOT_MISSING',
        'This Tiledesk client cannot manage bots (createBot/getBot/updateBot/deleteBot)',
        { fix: 'use the default client, or TiledeskMirrorVisibility=hidden' },
      );
    }
    const token = await this.o.credentials.admin();
    const wanted = { name: this.o.name, url: this.o.url };
    let created: Stored | undefined;
    for (;;) {
      const { stored, eTag } = await this.read();
      const live = stored && (await api.getBot(token, stored.id));
      if (stored && live && !live.trashed) {
        if (created && created.id !== stored.id) {
          // Another instance won the race: its bot is the one.
          await api.deleteBot(token, created.id);
          this.o.logger.info('tiledesk_bot.race_lost', { deleted: created.id, kept: stored.id });
        }
        if (live.name === wanted.name && live.url === wanted.url) {
          this.state = created?.id === stored.id ? 'created' : 'found';
          return this.remember(stored);
        }
        await api.updateBot(token, stored.id, wanted);
        this.o.logger.info('tiledesk_bot.updated', { id: stored.id });
        const next = { ...stored, ...wanted };
        const written = await this.o.storage.replace(
          storageKeys.bot(this.o.channelName),
          next,
          eTag!,
        );
        if (written === null) continue;
        this.state = 'updated';
        return this.remember(next);
      }
      if (!created) {
        const bot = await api.createBot(token, wanted);
        if (!bot.secret) {
          await api.deleteBot(token, bot._id);
          throw new TiledeskError(
            'TILEDESK_BOT_MISSING',
            'Tiledesk created the bot without telling its secret: its messages to our webhook could not be checked',
            { id: bot._id },
          );
        }
        created = { id: bot._id, secret: bot.secret, ...wanted };
        this.o.logger.info('tiledesk_bot.created', { id: bot._id, name: wanted.name });
      }
      const key = storageKeys.bot(this.o.channelName);
      const written =
        eTag === undefined
          ? await this.o.storage.create(key, created)
          : await this.o.storage.replace(key, created, eTag);
      if (written === null) continue; // someone else wrote: read again
      this.state = 'created';
      return this.remember(created);
    }
  }

  private async read(): Promise<{ stored: Stored | undefined; eTag: string | undefined }> {
    const key = storageKeys.bot(this.o.channelName);
    const item = (await this.o.storage.read([key])).get(key);
    const parsed = Stored.safeParse(item?.value);
    return { stored: parsed.success ? parsed.data : undefined, eTag: item?.eTag };
  }

  private remember(stored: Stored): KnownBot {
    const bot = { id: stored.id, secret: stored.secret, sender: `bot_${stored.id}` };
    this.bot = bot;
    this.o.ownSenders.add(bot.sender);
    this.loadedAt = this.o.clock.now();
    return bot;
  }
}

function botError(err: unknown): TiledeskError {
  if (err instanceof TiledeskError && err.code === 'TILEDESK_BOT_MISSING') return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  if (code === 'TILEDESK_SIGN_IN_FAILED' || code === 'TILEDESK_STORAGE') return e as TiledeskError;
  const retryable = (e as { retryable?: unknown }).retryable === true;
  return new TiledeskError(
    retryable ? 'TILEDESK_UNREACHABLE' : 'TILEDESK_BOT_MISSING',
    `The Tiledesk bot standing for this bot could not be found or created: ${e.message}`,
    {
      step: 'tiledesk bot',
      fix: 'the account must be an admin of the project (bots are created by admins); or set TiledeskMirrorVisibility=hidden',
    },
  );
}
