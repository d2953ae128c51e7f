/**
 * The tagger's metrics: queries by cardinality and result (counted by store-backed-tagger.ts) and
 * fetches on a miss by collector and outcome (fetch-on-miss.ts), read at scrape time; and
 * taggerMetricSources, every metric a tagger's components report, read through the TaggerPort so
 * that the serving side never reaches into a tagger's store.
 */
import { Counter } from 'prom-client';
import { collectorsTelemetry } from '../collectors/telemetry.js';
import { originTelemetry } from '../origin/telemetry.js';
import { storeTelemetry } from '../store/telemetry.js';
import { splitKey, type MetricSource } from '../telemetry.js';
import type { TaggerCounters, TaggerPort } from './tagger.js';

export function queryTelemetry(counters: () => TaggerCounters): MetricSource {
  return (registry) => {
    const registers = [registry];
    new Counter({
      name: 'tagger_queries_total',
      help: 'Tag queries by cardinality and result (hit, miss, fetched, empty)',
      labelNames: ['cardinality', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [key, n] of counters().queries) {
          const [cardinality, result] = splitKey(key, ':');
          this.inc({ cardinality, result }, n);
        }
      },
    });
    new Counter({
      name: 'tagger_fetches_total',
      help: 'Fetches on a cache miss by collector and outcome',
      labelNames: ['collector', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [key, n] of counters().fetches) {
          const [collector, outcome] = splitKey(key, ':');
          this.inc({ collector, outcome }, n);
        }
      },
    });
  };
}

/** The store's, origin detection's, the tagger's and its collectors' metrics, in that order. */
export function taggerMetricSources(tagger: TaggerPort): MetricSource[] {
  // flushCounters folds the query hot path's plain hit fields into the maps before each read.
  const counters = (): TaggerCounters => tagger.flushCounters();
  return [
    storeTelemetry(() => tagger.storeStats()),
    originTelemetry(() => tagger.originStats()),
    queryTelemetry(counters),
    collectorsTelemetry({ errors: () => counters().collectorErrors, health: () => tagger.health().collectors }),
  ];
}
