/**
 * deploy/grafana/tagger.json against a running daemon (with a cluster instance's Kubernetes API
 * metrics too): every metric its queries use is one the daemon's /metrics exposes (a `# TYPE`
 * line), so a renamed metric cannot leave a panel empty; and every tagger_* metric the daemon
 * exposes is on a panel, so a new metric cannot be left off the dashboard.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceReport } from '../../src/collectors/kubernetes/collector.js';
import { kubernetesTelemetry } from '../../src/collectors/kubernetes/telemetry.js';
import { C1, info, rawRequest, startHarness, type Harness } from '../../src/ipc/test-support/harness.js';

/** One watched resource, as a cluster instance reports it. */
const SERVICES: ResourceReport = {
  resource: 'services',
  state: { synced: true, watching: true, objects: 3, resourceVersion: '7', lastError: undefined },
  stats: { lists: 1, relists: 0, listPages: 1, expiredContinues: 0, watchRestarts: 0, expired: 0, events: { added: 3, modified: 0, deleted: 0, bookmarks: 0, errors: 0, unknown: 0 }, malformedObjects: 0, malformedEvents: 0, throttled: 0, failures: 0 },
};

interface Panel {
  readonly title?: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
  readonly panels?: readonly Panel[];
}

const DASHBOARD = JSON.parse(readFileSync(new URL('../../deploy/grafana/tagger.json', import.meta.url), 'utf8')) as { panels: Panel[]; templating?: { list?: Array<{ query?: unknown }> } };

function expressions(panels: readonly Panel[]): string[] {
  return panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr ?? ''), ...expressions(p.panels ?? [])]);
}

function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\btagger_[a-z_]+\b/g)].map((m) => m[0]));
}

describe('deploy/grafana/tagger.json', () => {
  let h: Harness;
  let exposed: Set<string>;

  beforeAll(async () => {
    h = await startHarness({ metricSources: [kubernetesTelemetry(() => [SERVICES])] });
    h.tagger.store.processTagInfo([info(C1, 'docker', ['image_name:nginx'])]);
    const res = await rawRequest(h.socket, '/metrics');
    expect(res.status).toBe(200);
    exposed = new Set([...res.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
  });

  afterAll(async () => {
    await h?.close();
  });

  it('covers entities by kind, collector health and errors, queries, fetches, streams and drops', () => {
    const used = metricNames(expressions(DASHBOARD.panels).join('\n'));
    for (const needed of ['tagger_entities', 'tagger_collector_healthy', 'tagger_collector_errors_total', 'tagger_queries_total', 'tagger_fetches_total', 'tagger_store_size', 'tagger_ipc_streams', 'tagger_ipc_stream_drops_total']) {
      expect(used).toContain(needed);
    }
  });

  it('uses only metrics the daemon exposes', () => {
    const queries = [...expressions(DASHBOARD.panels), ...(DASHBOARD.templating?.list ?? []).map((v) => (typeof v.query === 'string' ? v.query : ''))];
    const used = metricNames(queries.join('\n'));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
    // The check can fail: a name the daemon does not have is caught.
    expect(exposed.has('tagger_entities_total')).toBe(false);
  });

  it('has every tagger_* metric the daemon exposes on a panel', () => {
    const used = metricNames(expressions(DASHBOARD.panels).join('\n'));
    const ours = [...exposed].filter((name) => name.startsWith('tagger_'));
    expect(ours).toContain('tagger_kubernetes_objects');
    expect(ours.filter((name) => !used.has(name))).toEqual([]);
  });
});
