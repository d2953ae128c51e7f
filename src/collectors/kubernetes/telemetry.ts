/**
 * A cluster instance's /metrics for its API-server watches, per resource (pods, endpointslices,
 * services, namespaces): objects held, whether listed, lists and relists (after a 410), watch
 * restarts, events by type, and the failures of each kind. Read from the informers' own counters
 * at scrape time (ClusterCollector.resources()).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetricSource } from '../../telemetry.js';
import type { ResourceReport } from './collector.js';

export function kubernetesTelemetry(reports: () => readonly ResourceReport[]): MetricSource {
  return (registry) => registerKubernetesMetrics(registry, reports);
}

function registerKubernetesMetrics(registry: Registry, reports: () => readonly ResourceReport[]): void {
  const registers = [registry];
  new Gauge({
    name: 'tagger_kubernetes_objects',
    help: 'Objects each API-server watch holds (stripped to the fields tags come from)',
    labelNames: ['resource'],
    registers,
    collect() {
      this.reset();
      for (const r of reports()) this.set({ resource: r.resource }, r.state.objects);
    },
  });
  new Gauge({
    name: 'tagger_kubernetes_synced',
    help: '1 once the resource has been listed and its watch follows it, else 0',
    labelNames: ['resource'],
    registers,
    collect() {
      this.reset();
      for (const r of reports()) this.set({ resource: r.resource }, r.state.synced && r.state.lastError === undefined ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, labelNames: string[], each: (r: ResourceReport, inc: (labels: Record<string, string>, n: number) => void) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const r of reports()) each(r, (labels, n) => this.inc({ resource: r.resource, ...labels }, n));
      },
    });
  };
  counter('tagger_kubernetes_lists_total', 'Full lists of a resource; kind="relist" for those after the first (a 410, an expired continue)', ['resource', 'kind'], (r, inc) => {
    inc({ kind: 'first' }, r.stats.lists - r.stats.relists);
    inc({ kind: 'relist' }, r.stats.relists);
  });
  counter('tagger_kubernetes_watch_restarts_total', 'Watches started again after one ended (timeout, error, 410)', ['resource'], (r, inc) => inc({}, r.stats.watchRestarts));
  counter('tagger_kubernetes_events_total', 'Watch events by type (added, modified, deleted, bookmarks, errors, unknown)', ['resource', 'type'], (r, inc) => {
    for (const [type, n] of Object.entries(r.stats.events)) inc({ type }, n);
  });
  counter('tagger_kubernetes_errors_total', 'Failures by kind: failed requests, 410 expired, throttled (429), malformed objects and watch lines, expired continue tokens', ['resource', 'kind'], (r, inc) => {
    inc({ kind: 'failed' }, r.stats.failures);
    inc({ kind: 'expired' }, r.stats.expired);
    inc({ kind: 'throttled' }, r.stats.throttled);
    inc({ kind: 'malformed_object' }, r.stats.malformedObjects);
    inc({ kind: 'malformed_event' }, r.stats.malformedEvents);
    inc({ kind: 'expired_continue' }, r.stats.expiredContinues);
  });
}
