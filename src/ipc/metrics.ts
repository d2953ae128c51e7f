/**
 * /metrics: a prom-client registry made per server (never the global one, so two servers in one
 * process, or tests, do not share series), assembled from the metric sources of the components
 * (each defined beside its component: store/telemetry.ts, tagger/telemetry.ts...) and the IPC
 * server's own counters. Values are read at scrape time through collect() callbacks: the hot
 * paths only bump plain numbers.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { splitKey, type MetricSource } from '../telemetry.js';

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

/**
 * The registry /metrics renders: each component's metrics (`sources`, in order), then the IPC
 * server's own, then the process's.
 */
export function createMetricsRegistry(sources: readonly MetricSource[], stats: ServerStats, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  for (const register of sources) register(registry);
  const registers = [registry];
  new Counter({
    name: 'tagger_ipc_requests_total',
    help: 'IPC requests by route and status',
    labelNames: ['route', 'status'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of stats.requests) {
        const [route, status] = splitKey(key, ' ');
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

