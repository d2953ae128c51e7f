import { afterEach, describe, expect, it } from 'vitest';
import type { Collector } from '../collectors/collector.js';
import type { ResourceReport } from '../collectors/kubernetes/collector.js';
import { kubernetesTelemetry } from '../collectors/kubernetes/telemetry.js';
import { LocalTagger } from '../tagger/local-tagger.js';
import { C1, C2, POD, info, rawRequest, startHarness, type Harness } from './test-support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function podsReport(): ResourceReport {
  return {
    resource: 'pods',
    state: { synced: true, watching: true, objects: 7, resourceVersion: '42', lastError: undefined },
    stats: { lists: 3, relists: 2, listPages: 4, expiredContinues: 1, watchRestarts: 5, expired: 2, events: { added: 7, modified: 3, deleted: 1, bookmarks: 2, errors: 0, unknown: 0 }, malformedObjects: 1, malformedEvents: 0, throttled: 1, failures: 2 },
  };
}

/** name -> "type|help|label names of every series", the shape a scraper relies on. */
function shape(metrics: ReadonlyArray<{ name: string; type: unknown; help: string; values: ReadonlyArray<{ labels: Record<string, unknown> }> }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of metrics) {
    const labelSets = [...new Set(m.values.map((v) => Object.keys(v.labels).sort().join(',')))].sort();
    out[m.name] = `${String(m.type)}|${m.help}|${labelSets.join(';')}`;
  }
  return out;
}

describe('/metrics', () => {
  it('serves every documented metric with its type, help and label names', async () => {
    // A collector that follows nothing and reports itself unhealthy, for the per-collector series.
    const stalled: Collector = { name: 'docker', run: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve())), health: () => ({ healthy: false, message: 'no engine' }) };
    h = await startHarness({ tagger: new LocalTagger({ collectors: [stalled] }), metricSources: [kubernetesTelemetry(() => [podsReport()])] });
    h.tagger.store.processTagInfo([info(C1, 'docker', ['env:prod']), info(C2, 'docker', ['image_name:redis']), info(POD, 'kubelet', ['kube_namespace:default'])]);
    await h.tagger.tag(C1, 'low');
    h.tagger.counters.fetches.set('docker:found', 2);
    h.tagger.counters.collectorErrors.set('docker', 3);
    const body = (await rawRequest(h.socket, '/metrics')).body;
    const json = await h.server.registry.getMetricsAsJSON();
    expect(shape(json)).toEqual({
      tagger_kubernetes_objects: 'gauge|Objects each API-server watch holds (stripped to the fields tags come from)|resource',
      tagger_kubernetes_synced: 'gauge|1 once the resource has been listed and its watch follows it, else 0|resource',
      tagger_kubernetes_lists_total: 'counter|Full lists of a resource; kind="relist" for those after the first (a 410, an expired continue)|kind,resource',
      tagger_kubernetes_watch_restarts_total: 'counter|Watches started again after one ended (timeout, error, 410)|resource',
      tagger_kubernetes_events_total: 'counter|Watch events by type (added, modified, deleted, bookmarks, errors, unknown)|resource,type',
      tagger_kubernetes_errors_total: 'counter|Failures by kind: failed requests, 410 expired, throttled (429), malformed objects and watch lines, expired continue tokens|kind,resource',
      tagger_entities: 'gauge|Entities in the store by source and kind|kind,source',
      tagger_origin_index: 'gauge|Origin index sizes: entities with origin facts, IP addresses, cgroup inodes|what',
      tagger_store_size: 'gauge|Store sizes: entities, pending deletes, tombstones, subscribers, distinct tag strings|what',
      tagger_store_events_total: 'counter|Store counters: updates, unchanged updates, deletes, prunes, tombstone drops, malformed updates, subscriber drops|event',
      tagger_queries_total: 'counter|Tag queries by cardinality and result (hit, miss, fetched, empty)|cardinality,result',
      tagger_fetches_total: 'counter|Fetches on a cache miss by collector and outcome|collector,outcome',
      tagger_collector_errors_total: 'counter|Errors caught in collector loops|collector',
      tagger_collector_healthy: 'gauge|1 when the collector is healthy|collector',
      tagger_ipc_requests_total: 'counter|IPC requests by route and status|route,status',
      tagger_ipc_auth_failures_total: 'counter|Requests refused for a missing or wrong token|',
      tagger_ipc_stream_drops_total: 'counter|Stream subscribers disconnected because they fell behind|',
      tagger_ipc_listener_errors_total: 'counter|Errors raised by a listening IPC server after it started (such as EMFILE on accept)|',
      tagger_ipc_stalled_responses_total: 'counter|Responses cut because the client did not read them within the stall timeout|',
      tagger_ipc_streams: 'gauge|Open /v1/stream connections, and those waiting for an initial-sync slot|state',
    });
    // Values read from each layer's counters at scrape time.
    expect(body).toMatch(/^tagger_kubernetes_lists_total\{resource="pods",kind="relist"\} 2$/m);
    expect(body).toMatch(/^tagger_kubernetes_errors_total\{resource="pods",kind="throttled"\} 1$/m);
    expect(body).toMatch(/^tagger_entities\{source="docker",kind="container_id"\} 2$/m);
    expect(body).toMatch(/^tagger_store_size\{what="entities"\} 3$/m);
    expect(body).toMatch(/^tagger_store_events_total\{event="updates"\} \d+$/m);
    expect(body).toMatch(/^tagger_queries_total\{cardinality="low",result="hit"\} 1$/m);
    expect(body).toMatch(/^tagger_fetches_total\{collector="docker",outcome="found"\} 2$/m);
    expect(body).toMatch(/^tagger_collector_errors_total\{collector="docker"\} 3$/m);
    expect(body).toMatch(/^tagger_collector_healthy\{collector="docker"\} 0$/m);
    expect(body).toMatch(/^tagger_origin_index\{what="ips"\} 0$/m);
    expect(body).toMatch(/^tagger_ipc_streams\{state="open"\} 0$/m);
  });
});
