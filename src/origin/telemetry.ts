/** Origin detection's metrics: the sizes of its index (origin-index.ts), read at scrape time. */
import { Gauge } from 'prom-client';
import type { MetricSource } from '../telemetry.js';

/** Entities with origin facts, and the IP addresses and cgroup inodes that lead to them. */
export interface OriginIndexSizes {
  readonly entities: number;
  readonly ips: number;
  readonly inodes: number;
}

export function originTelemetry(sizes: () => OriginIndexSizes): MetricSource {
  return (registry) => {
    new Gauge({
      name: 'tagger_origin_index',
      help: 'Origin index sizes: entities with origin facts, IP addresses, cgroup inodes',
      labelNames: ['what'],
      registers: [registry],
      collect() {
        const s = sizes();
        this.set({ what: 'entities' }, s.entities);
        this.set({ what: 'ips' }, s.ips);
        this.set({ what: 'inodes' }, s.inodes);
      },
    });
  };
}
