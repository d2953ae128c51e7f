/**
 * Subscriptions to store changes. The store pushes event batches synchronously and never waits:
 * each subscriber has a bounded queue, and one that falls further behind than its bound is
 * closed with a reason (it reconnects and gets a fresh snapshot). So a slow reader costs the
 * store nothing and its memory is capped.
 */
import type { Cardinality, EntityEvent, EntityId } from '../types.js';

export interface SubscribeOptions {
  readonly cardinality: Cardinality;
  /** Only entities whose ID starts with one of these (e.g. `container_id://`). */
  readonly prefixes?: readonly string[];
  /**
   * Only entities it accepts, asked at each event (a per-node stream's NodeFilter): the store
   * builds no event for the others.
   */
  readonly filter?: (id: EntityId) => boolean;
  /** Live events a subscriber may have queued before it is dropped. Default 10,000. */
  readonly maxPendingEvents?: number;
  /** For logs and metrics. */
  readonly name?: string;
  /**
   * False: no snapshot batch. The subscriber reads the current state itself, when it is ready to
   * send it, through TagStore.snapshotBatches (the IPC stream does). Default true.
   */
  readonly snapshot?: boolean;
}

export const DEFAULT_MAX_PENDING_EVENTS = 10_000;

/** A stream of event batches: first the snapshot (`added` only), then live changes in order. */
export class Subscription implements AsyncIterable<readonly EntityEvent[]> {
  readonly cardinality: Cardinality;
  readonly prefixes: readonly string[] | undefined;
  readonly name: string;
  private readonly filter: ((id: EntityId) => boolean) | undefined;
  private readonly maxPending: number;
  private readonly queue: Array<readonly EntityEvent[]> = [];
  /** Live events queued: the bound applies to these only. */
  private pendingEvents = 0;
  /** Queued snapshot batches: the baseline, held apart so they never count against the bound. */
  private readonly snapshotBatches = new Set<readonly EntityEvent[]>();
  private waiter: ((batch: readonly EntityEvent[] | undefined) => void) | undefined;
  private closedReason: string | undefined;
  private readonly closeListeners: Array<(reason: string) => void> = [];

  constructor(options: SubscribeOptions, private readonly detach: (s: Subscription) => void) {
    this.cardinality = options.cardinality;
    this.prefixes = options.prefixes && options.prefixes.length > 0 ? [...options.prefixes] : undefined;
    this.filter = options.filter;
    this.maxPending = options.maxPendingEvents ?? DEFAULT_MAX_PENDING_EVENTS;
    this.name = options.name ?? 'subscriber';
  }

  matches(id: EntityId): boolean {
    if (this.filter && !this.filter(id)) return false;
    if (!this.prefixes) return true;
    for (const p of this.prefixes) if (id.startsWith(p)) return true;
    return false;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Why the subscription ended: `closed` when its owner closed it, else the store's reason. */
  get reason(): string | undefined {
    return this.closedReason;
  }

  /** Live events queued (the snapshot not included). */
  get pending(): number {
    return this.pendingEvents;
  }

  /** Called by the store. `snapshot` batches are not held to the bound (they are the baseline). */
  deliver(batch: readonly EntityEvent[], snapshot = false): boolean {
    if (this.closed || batch.length === 0) return !this.closed;
    if (this.waiter && this.queue.length === 0) {
      const wake = this.waiter;
      this.waiter = undefined;
      wake(batch);
      return true;
    }
    if (!snapshot && this.pendingEvents + batch.length > this.maxPending) {
      this.close(`overflow: more than ${this.maxPending} events pending`);
      return false;
    }
    this.queue.push(batch);
    if (snapshot) this.snapshotBatches.add(batch);
    else this.pendingEvents += batch.length;
    return true;
  }

  /** The next batch, or undefined once closed (queued batches are still delivered first). */
  next(): Promise<readonly EntityEvent[] | undefined> {
    const batch = this.queue.shift();
    if (batch) {
      if (!this.snapshotBatches.delete(batch)) this.pendingEvents -= batch.length;
      return Promise.resolve(batch);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Takes every queued batch at once, without waiting. */
  drain(): Array<readonly EntityEvent[]> {
    const batches = this.queue.splice(0);
    this.pendingEvents = 0;
    this.snapshotBatches.clear();
    return batches;
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closedReason = reason;
    if (reason !== 'closed') {
      // Dropped by the store: queued events are stale, the subscriber must resync.
      this.queue.length = 0;
      this.pendingEvents = 0;
      this.snapshotBatches.clear();
    }
    this.detach(this);
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.(undefined);
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly EntityEvent[]> {
    try {
      while (true) {
        const batch = await this.next();
        if (!batch) return;
        yield batch;
      }
    } finally {
      this.close();
    }
  }
}
