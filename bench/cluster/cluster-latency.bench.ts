/**
 * Cluster tags, change to node (issue 13's 2 s p99): a Service's endpoint turns ready or not ready
 * in the fake API server, and we time until a node daemon's stream shows the change on the pod's
 * container. The path is the whole one: the API server's watch, the cluster instance (`tagger run`
 * with `mode: cluster`, its own process) and its store, the instance's `/v1/stream?node=`, the node
 * daemon (its own process, following with `cluster_agent.url`) putting the pod's tags on its
 * container, and the node's own `/v1/stream` to us.
 *
 * Baseline, measured in the same run on the same changes: the fake API server's own delivery of
 * the change to a plain watch (`?watch=1` on endpointslices) read in this process, i.e. what any
 * watcher of the API server waits for before it can do anything.
 * Loopback, plain HTTP between the processes (TLS adds a handshake per connection, not per event).
 */
import { firstContainerOf, freePort, recordedPods, setEndpointReady } from '../../src/collectors/cluster-agent/test-support/recorded-cluster.js';
import { FakeApiServer } from '../../src/collectors/kubernetes/test-support/fake-apiserver.js';
import { loadRecordedCluster } from '../../src/collectors/kubernetes/test-support/fixtures.js';
import { FakeKubelet } from '../../src/collectors/kubelet/test-support/fake-kubelet.js';
import { IpcClient } from '../../src/ipc/client.js';
import { HttpClient } from '../../src/net/http-client.js';
import { startDaemon, type DaemonProcess } from '../daemon-process.js';
import { percentile, round, type BenchFigure, type BenchSuite } from '../harness.js';

const CHANGES = Number(process.env.TAGGER_BENCH_CLUSTER_CHANGES ?? 200);
const NODE = 'datagen-1-35';
const POD_NAME = 'e2e-statefulset-0';
const SERVICE = 'e2e-statefulset';
const SERVICE_TAG = `kube_service:${SERVICE}`;
const TIMEOUT_MS = 10_000;

/** Resolves with performance.now() at the first call of `hit` after `arm()`; rejects on timeout. */
class Arrival {
  private resolve: ((t: number) => void) | undefined;
  arm(): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no arrival within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      this.resolve = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
    });
  }
  hit(): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.(performance.now());
  }
}

export const clusterSuites: readonly BenchSuite[] = [
  {
    name: 'cluster.change_to_node_tags',
    async run() {
      const api = await FakeApiServer.start();
      loadRecordedCluster(api);
      const pods = recordedPods(api);
      const container = firstContainerOf(pods.find((p) => p.metadata.name === POD_NAME));
      const kubelet = await FakeKubelet.start();
      kubelet.body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods });
      const port = await freePort();
      const daemons: DaemonProcess[] = [];
      const closers: Array<() => Promise<void>> = [];
      try {
        const cluster = await startDaemon(`mode: cluster\nkubernetes:\n  api_url: ${api.url}\n`, 30_000, { TAGGER_IPC_TCP_ADDRESS: `127.0.0.1:${port}` });
        daemons.push(cluster);
        const node = await startDaemon(
          `docker: { enabled: "false" }\ncontainerd: { enabled: "false" }\necs: { enabled: "false" }\nkubelet:\n  enabled: "true"\n  url: ${kubelet.url}\n  poll_interval: 1s\n`,
          30_000,
          { TAGGER_CLUSTER_AGENT_URL: `http://127.0.0.1:${port}`, TAGGER_CLUSTER_AGENT_AUTH_TOKEN_FILE: cluster.tokenFile, NODE_NAME: NODE },
        );
        daemons.push(node);

        // Ours: the node daemon's own stream, as any client of the node would see the change.
        const nodeArrival = new Arrival();
        let want = true;
        const nodeClient = new IpcClient({ socket: node.socket, tokenFile: node.tokenFile });
        const nodeStream = new AbortController();
        const nodeDone = nodeClient
          .stream({ cardinality: 'low', prefixes: [container] }, (m) => {
            if ((m.type === 'added' || m.type === 'modified') && m.entity.id === container && m.entity.tags.low.includes(SERVICE_TAG) === want) nodeArrival.hit();
          }, { signal: nodeStream.signal })
          .catch(() => undefined);
        closers.push(async () => {
          nodeStream.abort();
          await nodeDone;
          await nodeClient.close();
        });

        // Baseline: a plain watch on the fake API server.
        const watchArrival = new Arrival();
        const watchHttp = new HttpClient(api.url, { timeoutMs: 5_000 });
        const watchStop = new AbortController();
        const watchDone = watchHttp
          .streamLines(`/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=${api.store.resourceVersion}`, () => watchArrival.hit(), { signal: watchStop.signal })
          .catch(() => undefined);
        closers.push(async () => {
          watchStop.abort();
          await watchDone;
          await watchHttp.close();
        });

        // The node has the tag before we start.
        const deadline = Date.now() + 30_000;
        while (!(await nodeTags(node, container)).includes(SERVICE_TAG)) {
          if (Date.now() > deadline) throw new Error('the node never got the pod’s kube_service tag');
          await new Promise((r) => setTimeout(r, 100));
        }
        const ours: number[] = [];
        const baseline: number[] = [];
        for (let i = 0; i < CHANGES; i++) {
          want = i % 2 === 1;
          const atNode = nodeArrival.arm();
          const atWatch = watchArrival.arm();
          const t0 = performance.now();
          setEndpointReady(api, SERVICE, POD_NAME, want);
          const [tWatch, tNode] = await Promise.all([atWatch, atNode]);
          baseline.push(tWatch - t0);
          ours.push(tNode - t0);
          // Changes a little apart, as real ones are (and not in one batch).
          await new Promise((r) => setTimeout(r, 50));
        }
        ours.sort((a, b) => a - b);
        baseline.sort((a, b) => a - b);
        const p99 = percentile(ours, 99);
        const figures: BenchFigure[] = [
          {
            name: 'cluster.change_to_node_container_p99',
            value: round(p99, 1),
            unit: 'ms',
            baseline: { name: 'fake API server to a plain watch, p99', value: round(percentile(baseline, 99), 2) },
            ratio: round(p99 / percentile(baseline, 99), 1),
            goal: 'p99 <= 2000 ms',
            met: p99 <= 2_000,
            details: { changes: CHANGES, p50_ms: round(percentile(ours, 50), 1), max_ms: round(ours[ours.length - 1] ?? NaN, 1), baseline_p50_ms: round(percentile(baseline, 50), 2) },
          },
        ];
        return { figures };
      } finally {
        for (const close of closers.reverse()) await close();
        for (const d of daemons.reverse()) await d.stop();
        await kubelet.close();
        await api.close();
      }
    },
  },
];

async function nodeTags(node: DaemonProcess, entity: string): Promise<string[]> {
  const res = await node.get(`/v1/tags?entity=${encodeURIComponent(entity)}`);
  return res.status === 200 ? (JSON.parse(res.body) as { tags: string[] }).tags : [];
}
