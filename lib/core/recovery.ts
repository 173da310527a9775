import type { Parts } from './parts';
import { leaseIsLive } from './record';
import { isIdle } from './record-outbox';

/**
 * The periodic pass of an instance (every third of a lease), so no work is stranded:
 * - renews the leases of lanes that have not run for a while, and writes the heartbeat;
 * - when an instance left or died (and again one lease later: its leases may outlive its
 *   heartbeat), on start and hourly: a full scan of the conversations that may hold work —
 *   takes over posts nobody holds, resends what a dead instance had claimed, repairs the
 *   handoff index, and drops long-idle conversations from the recovery index;
 * - every `catchUpIntervalMs`: conversations with a person — routing limits, and agent messages
 *   whose webhook was lost.
 */

/** A conversation idle this long leaves the recovery index at the next full scan. */
const UNINDEX_AFTER_MS = 10 * 60 * 1000;
/** A full recovery scan also runs this often (compaction of the index). */
const FULL_SCAN_EVERY_MS = 60 * 60 * 1000;

export class Recovery {
  private lastFullScan = Number.NEGATIVE_INFINITY;
  private scanAgainAt: number | undefined;
  private lastCatchUp = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly p: Parts,
    private readonly catchUpIntervalMs: number,
  ) {}

  async pass(starting: boolean): Promise<void> {
    await this.p.outbox.renewIdleLeases();
    const now = this.p.clock.now();
    const { someoneLeft, alive } = await this.p.instances.beat(now);
    this.p.peers.alive = alive;
    // Someone left: its leases may outlive its heartbeat by a little, so look again one
    // lease later, when everything it held has run out.
    if (someoneLeft) this.scanAgainAt = now + this.p.leaseMs;
    const again = this.scanAgainAt !== undefined && now >= this.scanAgainAt;
    if (starting || someoneLeft || again || now - this.lastFullScan >= FULL_SCAN_EVERY_MS) {
      if (again) this.scanAgainAt = undefined;
      this.lastFullScan = now;
      await this.fullScan();
    }
    const every = this.catchUpIntervalMs;
    if (starting || (every > 0 && now - this.lastCatchUp >= every)) {
      this.lastCatchUp = now;
      await this.handoffPass();
    }
  }

  /** Conversations that may hold work: take over what nobody holds; drop idle ones. */
  private async fullScan(): Promise<void> {
    let recovered = 0;
    for (const convKey of await this.p.outboxIndex.all()) {
      const snapshot = await this.p.store.read(convKey);
      if (!snapshot) continue;
      const record = snapshot.record;
      const now = this.p.clock.now();
      if (record.outbox.length > 0 && !leaseIsLive(record.lease, now)) {
        if (await this.p.outbox.recover(convKey)) recovered++;
      }
      const stranded = record.claim && !leaseIsLive(record.claim, now);
      if (stranded || record.notices.length > 0) this.p.delivery.sync(convKey);
      if (record.mode === 'handoff') await this.p.handoffIndex.add(convKey);
      if (isIdle(record) && now - record.touched >= UNINDEX_AFTER_MS) await this.unindex(convKey);
    }
    if (recovered > 0) this.p.logger.info('recovery.took_over', { recovered });
  }

  /**
   * Removes an idle conversation from the recovery index: remove first, then a write that
   * fences any append decided before the removal (it conflicts, re-reads and re-adds).
   */
  private async unindex(convKey: string): Promise<void> {
    await this.p.outboxIndex.remove(convKey);
    const { result: idle } = await this.p.store.update(convKey, (current) =>
      current && isIdle(current)
        ? { next: { ...current, indexed: false }, result: true }
        : { result: false },
    );
    if (!idle) await this.p.outboxIndex.add(convKey);
  }

  /** Conversations with a person: routing limits, and agent messages whose webhook was lost. */
  private async handoffPass(): Promise<void> {
    for (const convKey of await this.p.handoffIndex.all()) {
      const snapshot = await this.p.store.read(convKey);
      if (!snapshot || snapshot.record.mode !== 'handoff') {
        await this.p.handoffIndex.remove(convKey);
        continue;
      }
      await this.p.handoff.checkLimit(convKey, snapshot.record);
      this.p.delivery.sync(convKey);
    }
  }
}
