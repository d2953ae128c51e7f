/**
 * /metrics: a prom-client registry made per server (never the global one, so two servers in one
 * process, or tests, do not share series). Values are read from the tagger's own counters at
 * scrape time through collect() callbacks: the hot paths only bump plain numbers.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaggerCounters, TaggerPort } from '../tagger/tagger.js';
import { registerClusterMetrics, type ResourceReports } from './cluster-metrics.js';

/** Counters the IPC server keeps about itself. */
export interface ServerStats {
  requests: Map<string, number>;
  authFailures: number;
  streamDrops: number;
  /** Plain responses cut because the client did not take them in time. */
  stalledResponses: number;
  activeStreams: number;
  pendingSyncs: number;
  /** Errors a listening server raised after listen (EMFILE on accept...): logged and counted. */
  listenerErrors: number;
}

export function newServerStats(): ServerStats {
  return { requests: new Map(), authFailures: 0, streamDrops: 0, stalledResponses: 0, activeStreams: 0, pendingSyncs: 0, listenerErrors: 0 };
}

export function createMetricsRegistry(tagger: TaggerPort, stats: ServerStats, options: { processMetrics?: boolean; clusterResources?: ResourceReports } = {}): Registry {
  const registry = new Registry();
  if (options.clusterResources) registerClusterMetrics(registry, options.clusterResources);
  const registers = [registry];
  const counters = (): TaggerCounters => tagger.flushCounters();

  new Gauge({
    name: 'tagger_entities',
    help: 'Entities in the store by source and kind',
    labelNames: ['source', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of tagger.storeStats().countBySourceAndKind()) {
        const [source = '', kind = ''] = key.split('\u0000');
        this.set({ source, kind }, n);
      }
    },
  });
  new Gauge({
    name: 'tagger_origin_index',
    help: 'Origin index sizes: entities with origin facts, IP addresses, cgroup inodes',
    labelNames: ['what'],
    registers,
    collect() {
      const s = tagger.originStats();
      this.set({ what: 'entities' }, s.entities);
      this.set({ what: 'ips' }, s.ips);
      this.set({ what: 'inodes' }, s.inodes);
    },
  });
  new Gauge({
    name: 'tagger_store_size',
    help: 'Store sizes: entities, pending deletes, tombstones, subscribers, distinct tag strings',
    labelNames: ['what'],
    registers,
    collect() {
      const s = tagger.storeStats();
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
      for (const [event, n] of Object.entries(tagger.storeStats().counters)) this.inc({ event: snake(event) }, n);
    },
  });
  new Counter({
    name: 'tagger_queries_total',
    help: 'Tag queries by cardinality and result (hit, miss, fetched, empty)',
    labelNames: ['cardinality', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of counters().queries) {
        const [cardinality = '', result = ''] = key.split(':');
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
        const [collector = '', outcome = ''] = key.split(':');
        this.inc({ collector, outcome }, n);
      }
    },
  });
  new Counter({
    name: 'tagger_collector_errors_total',
    help: 'Errors caught in collector loops',
    labelNames: ['collector'],
    registers,
    collect() {
      this.reset();
      for (const [collector, n] of counters().collectorErrors) this.inc({ collector }, n);
    },
  });
  new Gauge({
    name: 'tagger_collector_healthy',
    help: '1 when the collector is healthy',
    labelNames: ['collector'],
    registers,
    collect() {
      this.reset();
      for (const [collector, h] of Object.entries(tagger.health().collectors)) this.set({ collector }, h.healthy ? 1 : 0);
    },
  });
  new Counter({
    name: 'tagger_ipc_requests_total',
    help: 'IPC requests by route and status',
    labelNames: ['route', 'status'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of stats.requests) {
        const [route = '', status = ''] = key.split(' ');
        this.inc({ route, status }, n);
      }
    },
  });
  new Counter({
    name: 'tagger_ipc_auth_failures_total',
    help: 'Requests refused for a missing or wrong token',
    registers,
    collect() {
      this.reset();
      this.inc(stats.authFailures);
    },
  });
  new Counter({
    name: 'tagger_ipc_stream_drops_total',
    help: 'Stream subscribers disconnected because they fell behind',
    registers,
    collect() {
      this.reset();
      this.inc(stats.streamDrops);
    },
  });
  new Counter({
    name: 'tagger_ipc_listener_errors_total',
    help: 'Errors raised by a listening IPC server after it started (such as EMFILE on accept)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.listenerErrors);
    },
  });
  new Counter({
    name: 'tagger_ipc_stalled_responses_total',
    help: 'Responses cut because the client did not read them within the stall timeout',
    registers,
    collect() {
      this.reset();
      this.inc(stats.stalledResponses);
    },
  });
  new Gauge({
    name: 'tagger_ipc_streams',
    help: 'Open /v1/stream connections, and those waiting for an initial-sync slot',
    labelNames: ['state'],
    registers,
    collect() {
      this.set({ state: 'open' }, stats.activeStreams);
      this.set({ state: 'waiting_sync' }, stats.pendingSyncs);
    },
  });
  // The event-loop lag histogram samples with a timer; prom-client's default (every 10 ms) woke
  // an idle daemon 100 times a second and cost it 15 ms of CPU a second, 7x all else it does when
  // idle (2 ms). Every 100 ms still catches any stall long enough to matter to a query.
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tagger_', eventLoopMonitoringPrecision: 100 });
  return registry;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
