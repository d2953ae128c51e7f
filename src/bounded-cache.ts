/**
 * The one bounded cache: lru-cache, at most `max` entries (reading or writing one makes it the
 * newest; past the bound the least recently used goes), optionally stale `ttlMs` after it was
 * set, on an injected clock. No timers: a stale entry is dropped when it is next read, or pushed
 * out by newer ones.
 */
import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from './clock.js';

export interface BoundedCacheOptions {
  readonly max: number;
  /** Entries are stale once more than this many ms have passed since they were set. */
  readonly ttlMs?: number;
  /** What ttlMs is measured on. Default the system clock. */
  readonly clock?: Clock;
}

/** Keys and values are never undefined or null (lru-cache's rule): wrap a "looked up, none" answer. */
export type BoundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = LRUCache<K, V>;

export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(options: BoundedCacheOptions): BoundedCache<K, V> {
  if (!options.ttlMs) return new LRUCache<K, V>({ max: options.max });
  const clock = options.clock ?? systemClock;
  return new LRUCache<K, V>({
    max: options.max,
    ttl: options.ttlMs,
    // Read the clock on every call: lru-cache's default keeps a reading for 1 ms behind a timer,
    // which a stepped test clock would outrun.
    ttlResolution: 0,
    // lru-cache takes a start time of 0 for "no TTL": a clock at epoch 0 (tests) would keep
    // entries for ever, so its readings are moved by 1 ms (only differences count).
    perf: { now: () => clock.now() + 1 },
  });
}
