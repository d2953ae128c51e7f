/**
 * The store's metrics: entities per source and kind, its sizes, and its event counters
 * (tag-store.ts counts them), read at scrape time.
 */
import { Counter, Gauge } from 'prom-client';
import { splitKey, type MetricSource } from '../telemetry.js';
import type { StoreCounters } from './tag-store.js';

/** The store's sizes and counters as /metrics reports them; read at scrape time. */
export interface StoreStats {
  readonly size: number;
  readonly pendingDeleteCount: number;
  readonly tombstoneCount: number;
  readonly subscriberCount: number;
  readonly distinctTags: number;
  readonly counters: Readonly<StoreCounters>;
  /** Entities by `${source}\u0000${kind}`. O(entities): for scrapes, not the hot path. */
  countBySourceAndKind(): Map<string, number>;
}

export function storeTelemetry(stats: () => StoreStats): MetricSource {
  return (registry) => {
    const registers = [registry];
    new Gauge({
      name: 'tagger_entities',
      help: 'Entities in the store by source and kind',
      labelNames: ['source', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const [key, n] of stats().countBySourceAndKind()) {
          const [source, kind] = splitKey(key, '\u0000');
          this.set({ source, kind }, n);
        }
      },
    });
    new Gauge({
      name: 'tagger_store_size',
      help: 'Store sizes: entities, pending deletes, tombstones, subscribers, distinct tag strings',
      labelNames: ['what'],
      registers,
      collect() {
        const s = stats();
        this.set({ what: 'entities' }, s.size);
        this.set({ what: 'pending_deletes' }, s.pendingDeleteCount);
        this.set({ what: 'tombstones' }, s.tombstoneCount);
        this.set({ what: 'subscribers' }, s.subscriberCount);
        this.set({ what: 'distinct_tags' }, s.distinctTags);
      },
    });
    new Counter({
      name: 'tagger_store_events_total',
      help: 'Store counters: updates, unchanged updates, deletes, prunes, tombstone drops, malformed updates, subscriber drops',
      labelNames: ['event'],
      registers,
      collect() {
        this.reset();
        for (const [event, n] of Object.entries(stats().counters)) this.inc({ event: snake(event) }, n);
      },
    });
  };
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
