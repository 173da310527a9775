import { randomUUID } from 'node:crypto';
import type { HandoffEntry } from './handoff';
import type { OutboxEntry } from './record';
import type { Snapshot } from './record-store';
import type { HandoffTrigger } from './triggers';
import type { ChatActivity, ChatAttachment, ConversationRef } from './types';

/**
 * One turn's mirror work for one conversation, in order. Nothing is written while the bot is
 * still answering: entries are collected here and handed over when the turn is over (`commit`),
 * except when a handoff starts, which must be stored before the user is told "connecting".
 */

/** What the engine knows of a conversation at the start of a turn. */
export interface TurnState {
  convKey: string;
  ref: ConversationRef;
  mode: 'bot' | 'handoff';
  /**
   * The record as read (its eTag saves a read when the turn's work is written); `null`: the
   * read found none; `undefined`: not read.
   */
  snapshot: Snapshot | null | undefined;
}

export interface TurnSink {
  now(): number;
  keyOf(ref: ConversationRef): string;
  beginHandoff(
    state: TurnState,
    entry: HandoffEntry,
    before: readonly OutboxEntry[],
    attachments?: readonly ChatAttachment[],
  ): Promise<boolean>;
  enqueue(state: TurnState, entries: OutboxEntry[], inHandoff: boolean): void;
}

export class TurnBatch {
  private state: TurnState | undefined;
  private readonly entries: OutboxEntry[] = [];
  private inHandoff = false;

  constructor(private readonly sink: TurnSink) {}

  /** The turn's conversation, as read by `Engine.turn` (message turns). */
  begin(state: TurnState): void {
    this.state = state;
    this.inHandoff = state.mode === 'handoff';
  }

  /** Mirrors a user message. */
  user(activity: ChatActivity): void {
    this.push('user', activity);
  }

  /** Mirrors a bot message (`ref`: the conversation, when no message turn began the batch). */
  bot(ref: ConversationRef, activity: ChatActivity): void {
    this.state ??= { convKey: this.sink.keyOf(ref), ref, mode: 'bot', snapshot: undefined };
    this.push('bot', activity);
  }

  /**
   * Starts a handoff; false if the conversation already was with a human. `notice`: what the
   * user is about to be told ("connecting"), stored with the switch so it is mirrored even if
   * the instance dies right after telling them. `attachments`: those of a `handoff.initiate`
   * event (its transcript).
   */
  async handoff(
    ref: ConversationRef,
    trigger: HandoffTrigger,
    notice = '',
    attachments?: readonly ChatAttachment[],
  ): Promise<boolean> {
    this.state ??= { convKey: this.sink.keyOf(ref), ref, mode: 'bot', snapshot: undefined };
    const at = this.sink.now();
    const entry: HandoffEntry = { key: randomUUID(), kind: 'handoff', at, trigger };
    const said: OutboxEntry[] = notice
      ? [{ key: randomUUID(), kind: 'bot', at, activity: { type: 'message', text: notice } }]
      : [];
    const taken = this.entries.length;
    const before = [...this.entries, ...said];
    const started = await this.sink.beginHandoff(this.state, entry, before, attachments);
    if (started) {
      this.entries.splice(0, taken);
      this.state = { ...this.state, mode: 'handoff', snapshot: undefined };
    }
    return started;
  }

  /** Takes the turn's entries so far, to be stored with a state change (they leave the batch). */
  take(): OutboxEntry[] {
    return this.entries.splice(0);
  }

  /** Puts taken entries back (the change they were taken for did not happen). */
  restore(entries: readonly OutboxEntry[]): void {
    this.entries.unshift(...entries);
  }

  /** Hands the turn's entries over; called once the turn is over (also when the bot threw). */
  commit(): void {
    if (!this.state || (this.entries.length === 0 && !this.inHandoff)) return;
    this.sink.enqueue(this.state, this.entries.splice(0), this.inHandoff);
  }

  private push(kind: 'user' | 'bot', activity: ChatActivity): void {
    this.entries.push({ key: randomUUID(), kind, at: this.sink.now(), activity });
  }
}
