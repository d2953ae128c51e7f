/**
 * Kubernetes API collector, latency: from an EndpointSlice write on the fake API server to the
 * collector's push of the pod it touches (the endpoint made not ready, then ready again: its
 * kube_service goes and comes back), with the benchmark cluster loaded, in this process. Beside
 * it, the same writes seen by a bare watch (undici, one line per event) on the same server: the
 * transfer and JSON the collector cannot avoid.
 */
import { request } from 'undici';
import { systemClock } from '../../../src/clock.js';
import { KubeApiClient } from '../../../src/collectors/kubernetes/client.js';
import { ClusterCollector } from '../../../src/collectors/kubernetes/collector.js';
import { compileClusterRules } from '../../../src/collectors/kubernetes/extract.js';
import { FakeApiServer } from '../../../src/collectors/kubernetes/test-support/fake-apiserver.js';
import { silentLogger } from '../../../src/logger.js';
import { percentile, round, type BenchFigure } from '../../harness.js';
import { CLUSTER_SIZE, loadBenchCluster } from './cluster-data.js';

type Json = Record<string, unknown>;
const CHANGES = 200;

export async function changeLatency(): Promise<BenchFigure[]> {
  const fake = await FakeApiServer.start();
  const controller = new AbortController();
  const collector = new ClusterCollector({ source: new KubeApiClient({ url: fake.url, tokenFile: '/nonexistent', caFile: '', tlsVerify: true }), rules: compileClusterRules({}), clusterName: 'bench', ignoreReadiness: false });
  const waiters = new Map<string, () => void>();
  let synced!: () => void;
  const ready = new Promise<void>((resolve) => (synced = resolve));
  const running = collector.run({
    sink: { push: (infos) => infos.forEach((i) => waiters.get(i.entity)?.()) },
    clock: systemClock,
    logger: silentLogger,
    signal: controller.signal,
    knows: () => false,
    requestFetch: () => undefined,
    markSynced: () => synced(),
  });
  try {
    loadBenchCluster(fake);
    await ready;
    while (fake.openWatches() < 4) await new Promise((r) => setTimeout(r, 10));
    // The bare watch: time from the write to its event line.
    const bare = await request(`${fake.url}/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=${fake.store.resourceVersion}`);
    let lineWaiter: (() => void) | undefined;
    let pending = '';
    bare.body.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        lineWaiter?.();
      }
    });
    const ours: number[] = [];
    const baseline: number[] = [];
    for (let k = 0; k < CHANGES; k++) {
      // Each slice twice: its first endpoint not ready (kube_service goes), then ready (it comes back).
      const j = Math.floor(k / 2) % CLUSTER_SIZE.services;
      const entry = fake.store.snapshot('endpointslices').find((e) => e.key === `ns-${j % CLUSTER_SIZE.namespaces}/svc-${j}-abcde`);
      const slice = structuredClone(entry?.object) as Json;
      const endpoint = (slice.endpoints as Json[])[0] as Json;
      endpoint.conditions = { ready: k % 2 === 1 ? true : false };
      const pod = `kubernetes_pod_uid://${String((endpoint.targetRef as Json).uid)}`;
      const pushed = new Promise<void>((resolve) => waiters.set(pod, resolve));
      const seen = new Promise<void>((resolve) => (lineWaiter = resolve));
      const start = process.hrtime.bigint();
      fake.store.apply('endpointslices', slice);
      await seen;
      baseline.push(Number(process.hrtime.bigint() - start) / 1e6);
      await pushed;
      ours.push(Number(process.hrtime.bigint() - start) / 1e6);
      waiters.delete(pod);
    }
    bare.body.destroy();
    ours.sort((a, b) => a - b);
    baseline.sort((a, b) => a - b);
    return [
      {
        name: 'kubernetes.change_to_push_p99',
        value: round(percentile(ours, 99), 2),
        unit: 'ms',
        baseline: { name: 'a bare watch seeing the same write, p99', value: round(percentile(baseline, 99), 2) },
        ratio: round(percentile(ours, 99) / percentile(baseline, 99), 2),
        goal: 'well under the 2 s node budget: <= 50 ms p99',
        met: percentile(ours, 99) <= 50,
        details: { changes: CHANGES, p50Ms: round(percentile(ours, 50), 2), baselineP50Ms: round(percentile(baseline, 50), 2), pods: CLUSTER_SIZE.pods },
      },
    ];
  } finally {
    controller.abort();
    await running;
    await collector.close();
    await fake.close();
  }
}
