/**
 * Every collector's metrics, labelled by collector name: the errors its loop caught (counted by
 * the tagger's collector runner) and whether it is healthy (its own health()), read at scrape
 * time. A collector with series of its own keeps them in its folder (kubernetes/telemetry.ts).
 */
import { Counter, Gauge } from 'prom-client';
import type { MetricSource } from '../telemetry.js';
import type { CollectorHealth } from './collector.js';

export interface CollectorsView {
  /** collector -> errors its loop caught */
  errors(): ReadonlyMap<string, number>;
  health(): Readonly<Record<string, CollectorHealth>>;
}

export function collectorsTelemetry(view: CollectorsView): MetricSource {
  return (registry) => {
    const registers = [registry];
    new Counter({
      name: 'tagger_collector_errors_total',
      help: 'Errors caught in collector loops',
      labelNames: ['collector'],
      registers,
      collect() {
        this.reset();
        for (const [collector, n] of view.errors()) this.inc({ collector }, n);
      },
    });
    new Gauge({
      name: 'tagger_collector_healthy',
      help: '1 when the collector is healthy',
      labelNames: ['collector'],
      registers,
      collect() {
        this.reset();
        for (const [collector, h] of Object.entries(view.health())) this.set({ collector }, h.healthy ? 1 : 0);
      },
    });
  };
}
