/**
 * Fetch on a cache miss: the collectors able to fetch an entity that none has reported yet are
 * asked for it. Concurrent misses share one fetch per (collector, entity); what a fetch did not
 * find is remembered for a while (not found, errors: each its own TTL), so a flood of misses makes
 * a bounded number of requests; every fetch has a deadline, and stop() aborts those in flight.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { FetchResult } from '../collectors/collector.js';
import { entityKindOf } from '../entity.js';
import { AbortedError, TimeoutError, causeMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { EntityId, TagInfo } from '../types.js';
import { bump } from './store-backed-tagger.js';
import type { FetchMemo } from './tagger.js';

/** A collector as the engine sees it. */
export interface Fetcher {
  readonly name: string;
  readonly isFetcher: boolean;
  canFetch(id: EntityId): boolean;
  fetch(id: EntityId, signal: AbortSignal): Promise<FetchResult>;
}

/** The store as the engine sees it. */
export interface FetchTarget {
  hasSource(id: EntityId, source: string): boolean;
  processTagInfo(infos: readonly TagInfo[]): void;
}

export interface FetchOnMissOptions {
  readonly fetchers: readonly Fetcher[];
  readonly store: FetchTarget;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `${collector}:${outcome}` -> count (the tagger's counters). */
  readonly counts: Map<string, number>;
  /** Keeps a fetch's promise until stop() has waited for it. */
  readonly track: (pending: Promise<void>) => void;
  readonly timeoutMs?: number;
  readonly notFoundTtlMs?: number;
  readonly errorTtlMs?: number;
  /** Outcomes remembered at most (default 50,000). */
  readonly maxMemos?: number;
}

const MAX_MISS_CACHE = 50_000;

export class FetchOnMiss {
  private readonly options: FetchOnMissOptions;
  private readonly inflight = new Map<string, Promise<void>>();
  /**
   * `${collector}|${entity}` -> what its last fetch found, while that was nothing. Bounded: past
   * the bound the least recently remembered goes (read with peek(), which leaves the order alone).
   * Expiry is `until` on the injected clock, checked here: lru-cache's own TTL counts an entry
   * fresh through its last millisecond and reads time on a timer of its own. The bound is a
   * maxSize of one per entry, not `max`: with `max` lru-cache allocates the whole bound up front
   * (~1 MB and ~20 ms for 50,000) in every tagger, even one that never misses.
   */
  private readonly missCache: LRUCache<string, FetchMemo>;
  private readonly deadlines = new Set<AbortController>();
  /** Collectors with a fetch(): when none, the hot path skips the fetch check entirely. */
  readonly fetcherCount: number;
  /** The tagger's stop signal while it runs; kept, aborted, once it has stopped. */
  private stopSignal: AbortSignal | undefined;
  private running = false;

  constructor(options: FetchOnMissOptions) {
    this.options = options;
    this.missCache = new LRUCache({ maxSize: options.maxMemos ?? MAX_MISS_CACHE, sizeCalculation: () => 1 });
    this.fetcherCount = options.fetchers.filter((f) => f.isFetcher).length;
  }

  /** Fetches may run until `signal` aborts (the tagger's stop). */
  start(signal: AbortSignal): void {
    this.stopSignal = signal;
    this.running = true;
  }

  /** Aborts every fetch in flight. */
  abortAll(): void {
    this.running = false;
    for (const deadline of this.deadlines) deadline.abort(new AbortedError('tagger stopped'));
  }

  /** True when some running fetcher for this entity has neither reported it nor a fresh miss. */
  needsFetch(id: EntityId): boolean {
    if (!this.running || this.fetcherCount === 0) return false;
    const now = this.options.clock.now();
    for (const fetcher of this.options.fetchers) {
      if (!fetcher.canFetch(id) || this.options.store.hasSource(id, fetcher.name)) continue;
      const memo = this.missCache.peek(memoKey(fetcher.name, id));
      if (!memo || memo.until <= now) return true;
    }
    return false;
  }

  inBackground(id: EntityId): void {
    this.fetchMissing(id).catch((error: unknown) => this.options.logger.debug({ entity: id, error: causeMessage(error) }, 'background fetch failed'));
  }

  async fetchMissing(id: EntityId): Promise<void> {
    if (!entityKindOf(id)) return;
    const { fetchers, store, clock, counts } = this.options;
    const waits: Array<Promise<void>> = [];
    for (const fetcher of fetchers) {
      if (!fetcher.canFetch(id) || store.hasSource(id, fetcher.name)) continue;
      const key = memoKey(fetcher.name, id);
      const memo = this.missCache.peek(key);
      if (memo && memo.until > clock.now()) {
        bump(counts, `${fetcher.name}:skipped_cached`);
        continue;
      }
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.fetchOne(fetcher, id, key).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
        this.options.track(pending);
      }
      waits.push(pending);
    }
    await Promise.all(waits);
  }

  /** The remembered outcome of the last fetch of `entity` from `collector`, if it found nothing. */
  memo(collector: string, entity: EntityId): FetchMemo | undefined {
    return this.missCache.peek(memoKey(collector, entity));
  }

  /** Outcomes remembered (not found, errors). */
  get memoCount(): number {
    return this.missCache.size;
  }

  /** Forgets outcomes past their TTL. */
  prune(now: number): void {
    // Expired memos are harmless but would otherwise stay until the cache's size bound evicts
    // them: after churn, memory must come back, not plateau at the bound.
    const expired: string[] = [];
    for (const [key, memo] of this.missCache.entries()) if (memo.until <= now) expired.push(key);
    for (const key of expired) this.missCache.delete(key);
  }

  private async fetchOne(fetcher: Fetcher, id: EntityId, key: string): Promise<void> {
    const { store, clock, counts } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    // Not AbortSignal.any([..., AbortSignal.timeout()]): on Node 20 a timeout signal that is only a
    // source of any() is weakly held, so after a GC it never fires and the fetch outlives its
    // deadline (seen with a hung dockerd). A controller kept alive by its own timer always fires.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new TimeoutError(`fetch of ${id} from ${fetcher.name}`, timeoutMs)), timeoutMs);
    // abortAll() reaches every fetch in flight through this set; a listener per fetch on the shared
    // stop signal would trip Node's MaxListeners warning under a flood of misses.
    if (this.stopSignal?.aborted) deadline.abort(this.stopSignal.reason);
    this.deadlines.add(deadline);
    const signal = deadline.signal;
    try {
      const result = await withDeadline(fetcher.fetch(id, signal), timeoutMs, signal);
      if (result.found) {
        // A miss result never overwrites what a source already reported.
        store.processTagInfo(result.infos.filter((info) => info.deleteEntity || !store.hasSource(info.entity, info.source)));
      }
      if (result.found && store.hasSource(id, fetcher.name)) {
        this.missCache.delete(key);
        bump(counts, `${fetcher.name}:found`);
      } else {
        this.missCache.set(key, { until: clock.now() + (this.options.notFoundTtlMs ?? 60_000), outcome: 'not_found', reason: `${fetcher.name} does not know this entity` });
        bump(counts, `${fetcher.name}:not_found`);
      }
    } catch (error) {
      this.missCache.set(key, { until: clock.now() + (this.options.errorTtlMs ?? 5_000), outcome: 'error', reason: causeMessage(error) });
      bump(counts, `${fetcher.name}:error`);
      this.options.logger.debug({ collector: fetcher.name, entity: id, error: causeMessage(error) }, 'fetch failed');
    } finally {
      clearTimeout(timer);
      this.deadlines.delete(deadline);
    }
  }
}

function memoKey(collector: string, id: EntityId): string {
  return `${collector}|${id}`;
}

/** Rejects when the collector ignores its signal past the deadline. */
function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error(`fetch timed out after ${ms} ms`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
