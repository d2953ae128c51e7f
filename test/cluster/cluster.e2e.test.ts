/**
 * End to end, every component real but the Kubernetes API server and the kubelets (fakes that
 * serve recorded objects): one cluster instance (`mode: cluster`) and two node daemons as
 * separate `tagger run` processes from the built dist/, over real TLS (a CA and certificates made
 * here with openssl) with the shared bearer token.
 *
 * The recorded v1.35 cluster has one node; two of its pods are moved to a second node, so each
 * node daemon must get its own pods and only those. Then: a Service's endpoint changes and the
 * node's pod and container tags follow; the cluster instance is killed, a change is made while it
 * is away, and it arrives once the instance is back; a node daemon is killed and restarted and
 * resyncs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstContainerOf, freePort, recordedPods, setEndpointReady, type KubeJson } from '../../src/collectors/cluster-agent/test-support/recorded-cluster.js';
import { FakeApiServer } from '../../src/collectors/kubernetes/test-support/fake-apiserver.js';
import { loadRecordedCluster } from '../../src/collectors/kubernetes/test-support/fixtures.js';
import { FakeKubelet } from '../../src/collectors/kubelet/test-support/fake-kubelet.js';
import { hasOpenssl, issueCert, makeCertAuthority } from '../../src/test-support/certs.js';
import { REQUIRE_ALL } from '../../src/test-support/required.js';
import { until } from '../../src/test-support/wait.js';
import { MAIN, TaggerProcess } from './support/tagger-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_A = 'datagen-1-35';
const NODE_B = 'node-b';
/** Pods moved to node-b: one endpoint of the e2e-statefulset Service, and a pod no Service selects. */
const MOVED = new Set(['e2e-statefulset-1', 'e2e-deployment-79967c5968-zjslc']);
const STS0_POD = 'kubernetes_pod_uid://b5812e37-ce78-41e2-9d8d-d93a88e481d6';
const STS1_POD = 'kubernetes_pod_uid://b74071bf-fab2-44d0-9850-55ff20eda8c3';
const API_TOKEN = 'api-token-e2e';
const SHARED_TOKEN = 'c'.repeat(64);
const SERVICE_TAG = 'kube_service:e2e-statefulset';

/** Without openssl there are no certificates: skipped, except in CI where it must run (and fails). */
const openssl = hasOpenssl() || REQUIRE_ALL;



let dir: string;
let api: FakeApiServer;
const kubelets: FakeKubelet[] = [];
let cluster: TaggerProcess;
let nodeA: TaggerProcess;
let nodeB: TaggerProcess;
let stsContainer: string;
let sts1Container: string;
let files: { ca: string; cert: string; key: string; apiToken: string };

/**
 * A node daemon's config: the kubelet collector alone (no engine here), polling `kubeletUrl`, and
 * then `clusterSource`, the section that says where its cluster tags come from.
 */
function nodeConfig(kubeletUrl: string, clusterSource: readonly string[]): string {
  return [
    'docker: { enabled: "false" }',
    'containerd: { enabled: "false" }',
    'ecs: { enabled: "false" }',
    'kubelet:',
    '  enabled: "true"',
    `  url: ${kubeletUrl}`,
    '  poll_interval: 500ms',
    ...clusterSource,
  ].join('\n');
}

function podsBody(pods: readonly KubeJson[], node: string): string {
  return JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods.filter((p) => (p.spec as { nodeName?: string }).nodeName === node) });
}

beforeAll(async () => {
  if (!openssl) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 180_000 });
  dir = mkdtempSync(join(tmpdir(), 'tagger-cluster-e2e-'));
  const ca = makeCertAuthority();
  const serverCert = issueCert(ca, { commonName: 'tagger-cluster', use: 'server', subjectAltName: 'IP:127.0.0.1,DNS:localhost' });
  const apiCert = issueCert(ca, { commonName: 'kube-apiserver', use: 'server', subjectAltName: 'IP:127.0.0.1' });
  files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cluster.pem'), key: join(dir, 'cluster-key.pem'), apiToken: join(dir, 'api-token') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, serverCert.cert);
  writeFileSync(files.key, serverCert.key, { mode: 0o600 });
  writeFileSync(files.apiToken, API_TOKEN);

  api = await FakeApiServer.start({ tls: apiCert, token: API_TOKEN });
  loadRecordedCluster(api);
  // Two of the recorded node's pods run on a second node.
  const pods: KubeJson[] = [];
  for (const pod of recordedPods(api)) {
    const moved = MOVED.has(pod.metadata.name);
    const next = moved ? { ...pod, spec: { ...(pod.spec as object), nodeName: NODE_B } } : pod;
    if (moved) api.store.apply('pods', next);
    pods.push(next as KubeJson);
  }
  stsContainer = firstContainerOf(pods.find((p) => p.metadata.name === 'e2e-statefulset-0'));
  sts1Container = firstContainerOf(pods.find((p) => p.metadata.name === 'e2e-statefulset-1'));

  for (const node of [NODE_A, NODE_B]) {
    const kubelet = await FakeKubelet.start();
    kubelet.body = podsBody(pods, node);
    kubelets.push(kubelet);
  }

  const port = await freePort();
  const clusterDir = join(dir, 'cluster');
  mkdirSync(clusterDir);
  cluster = new TaggerProcess({
    dir: clusterDir,
    config: [
      'mode: cluster',
      'cluster_name: e2e',
      'ipc:',
      `  tcp_address: 0.0.0.0:${port}`,
      `  tls_cert_file: ${files.cert}`,
      `  tls_key_file: ${files.key}`,
      '  heartbeat_interval: 1s',
      'kubernetes:',
      `  api_url: ${api.url}`,
      `  token_file: ${files.apiToken}`,
      `  ca_file: ${files.ca}`,
      '  namespace_labels_as_tags:',
      '    kubernetes.io/metadata.name: team_namespace',
      '    team: team',
      'store:',
      '  deletion_grace: 1s',
    ].join('\n'),
  });
  writeFileSync(cluster.tokenFile, `${SHARED_TOKEN}\n`, { mode: 0o600 });
  await cluster.start();

  const nodeDaemon = (node: string, kubelet: FakeKubelet): TaggerProcess => {
    const nodeDir = join(dir, node);
    mkdirSync(nodeDir);
    return new TaggerProcess({
      dir: nodeDir,
      config: nodeConfig(kubelet.url, ['cluster_agent:', `  url: https://localhost:${port}`, `  auth_token_file: ${cluster.tokenFile}`, `  ca_file: ${files.ca}`]),
      env: { NODE_NAME: node },
    });
  };
  nodeA = nodeDaemon(NODE_A, kubelets[0] as FakeKubelet);
  nodeB = nodeDaemon(NODE_B, kubelets[1] as FakeKubelet);
  await Promise.all([nodeA.start(), nodeB.start()]);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([nodeA?.stop(), nodeB?.stop(), cluster?.stop()]);
  await Promise.allSettled(kubelets.map((k) => k.close()));
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const logsOf = (p: TaggerProcess): string => p.log.slice(-20).join('\n');

// Each step waits on processes of a shared, loaded machine: more than the default 20 s per test.
describe.skipIf(!openssl)('cluster instance and two node daemons, as processes over TLS', { timeout: 90_000 }, () => {
  it('each node gets its own pods’ cluster tags, on the pods and their containers, and the global entity', async () => {
    await until(async () => (await nodeA.tags(stsContainer)).includes(SERVICE_TAG), 20_000, `node A container tagged\n${logsOf(nodeA)}\n${logsOf(cluster)}`);
    expect(await nodeA.tags(STS0_POD)).toContain(SERVICE_TAG);
    // The namespace's label, by the instance's rule, on the pod and its container too.
    expect(await nodeA.tags(stsContainer)).toContain('team_namespace:scraper');
    expect(await nodeA.tags(STS0_POD)).toContain('team_namespace:scraper');
    await until(async () => (await nodeB.tags(STS1_POD)).includes(SERVICE_TAG), 20_000, 'node B pod tagged');
    // Node A never hears of node B's pods, and the other way round.
    const entitiesA = JSON.parse((await nodeA.get('/v1/entities')).body) as { entities: Array<{ id: string; sources: Record<string, unknown> }> };
    expect(entitiesA.entities.find((e) => e.id === STS1_POD)).toBeUndefined();
    // Every pod of node A has its namespace tag: the recorded node's 24 pods but the 2 moved.
    const clusterSourced = entitiesA.entities.filter((e) => 'cluster' in e.sources && e.id.startsWith('kubernetes_pod_uid://')).length;
    expect(clusterSourced).toBe(22);
    expect((await nodeA.get('/v1/tags?entity=internal://global')).body).toContain('kube_cluster_name:e2e');
    expect((await nodeA.health()).status).toBe(200);
    const clusterHealth = await cluster.health();
    expect(clusterHealth.status).toBe(200);
    expect(JSON.stringify(clusterHealth.body)).toMatch(/watching https:\/\/127\.0\.0\.1:\d+: 4 resources synced/);
    const metrics = (await cluster.get('/metrics')).body;
    expect(metrics).toMatch(/^tagger_kubernetes_objects\{resource="pods"\} 24$/m);
    expect(metrics).toMatch(/^tagger_kubernetes_synced\{resource="endpointslices"\} 1$/m);
    expect(metrics).toMatch(/^tagger_kubernetes_lists_total\{resource="namespaces",kind="first"\} 1$/m);
  });

  it('a Service’s endpoint turning not ready, then ready: the node’s pod and container tags follow', async () => {
    setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-0', false);
    await until(async () => !(await nodeA.tags(stsContainer)).includes(SERVICE_TAG), 10_000, 'tag removed on node A');
    expect(await nodeA.tags(STS0_POD)).not.toContain(SERVICE_TAG);
    expect(await nodeB.tags(STS1_POD)).toContain(SERVICE_TAG);
    setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-0', true);
    await until(async () => (await nodeA.tags(stsContainer)).includes(SERVICE_TAG), 10_000, 'tag back on node A');
  });

  it('a namespace’s labels change: the tags of its pods and their containers follow, on both nodes', async () => {
    const namespace = api.store.get('namespaces', undefined, 'scraper') as KubeJson | undefined;
    if (!namespace) throw new Error('no scraper namespace in the recorded cluster');
    api.store.apply('namespaces', { ...namespace, metadata: { ...namespace.metadata, labels: { ...(namespace.metadata.labels as object), team: 'payments' } } });
    await until(async () => (await nodeA.tags(stsContainer)).includes('team:payments'), 10_000, 'namespace label on node A');
    await until(async () => (await nodeB.tags(sts1Container)).includes('team:payments'), 10_000, 'namespace label on node B');
    expect(await nodeA.tags(STS0_POD)).toContain('team:payments');
  });

  it('the cluster instance killed mid-change: the node keeps its tags, and the change arrives once it is back', async () => {
    await cluster.kill();
    setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-0', false);
    await until(async () => (await nodeA.health()).status === 503, 15_000, 'node A reports the instance away');
    expect(await nodeA.tags(stsContainer)).toContain(SERVICE_TAG);
    await cluster.start();
    await until(async () => !(await nodeA.tags(stsContainer)).includes(SERVICE_TAG), 30_000, `change after restart\n${logsOf(nodeA)}`);
    await until(async () => (await nodeA.health()).status === 200, 15_000, 'node A healthy again');
    setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-0', true);
    await until(async () => (await nodeA.tags(stsContainer)).includes(SERVICE_TAG), 10_000, 'follows again');
  });

  it('a node daemon killed and restarted resyncs its cluster tags', async () => {
    await nodeB.kill();
    await nodeB.start();
    await until(async () => (await nodeB.tags(STS1_POD)).includes(SERVICE_TAG), 20_000, `node B resynced\n${logsOf(nodeB)}`);
    const token = readFileSync(cluster.tokenFile, 'utf8').trim();
    expect(token).toBe(SHARED_TOKEN);
  });

  it('refuses at start, exit 2 and one line naming the key: a network address without TLS, a follower without a node name', () => {
    const run = (config: string, env: Record<string, string> = {}): { status: number | null; stderr: string } => {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, config);
      const r = spawnSync(process.execPath, [MAIN, 'run', '--config', file], { env: { PATH: process.env.PATH ?? '', TAGGER_IPC_SOCKET: join(dir, 'bad.sock'), TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'bad-token'), ...env }, encoding: 'utf8', timeout: 15_000 });
      return { status: r.status, stderr: r.stderr };
    };
    const noTls = run(`mode: cluster\nipc:\n  tcp_address: 0.0.0.0:0\nkubernetes:\n  api_url: ${api.url}\n`);
    expect(noTls.status).toBe(2);
    expect(noTls.stderr.trim().split('\n').filter((l) => l.startsWith('tagger: '))).toEqual([expect.stringMatching(/^tagger: invalid config ipc\.tls_cert_file: ipc\.tcp_address 0\.0\.0\.0:0 is not a loopback address/)]);
    const noNode = run(`docker: { enabled: "false" }\ncluster_agent:\n  url: https://127.0.0.1:1\n`);
    expect(noNode.status).toBe(2);
    expect(noNode.stderr).toMatch(/^tagger: invalid config kubelet\.node_name: must be set \(or the NODE_NAME variable\)/m);
  });

  it('kubernetes.enabled on a node daemon: it watches the API server itself and keeps its own node’s pods', async () => {
    const nodeDir = join(dir, 'self-watching');
    mkdirSync(nodeDir);
    const self = new TaggerProcess({
      dir: nodeDir,
      config: nodeConfig((kubelets[1] as FakeKubelet).url, ['kubernetes:', '  enabled: true', `  api_url: ${api.url}`, `  token_file: ${files.apiToken}`, `  ca_file: ${files.ca}`]),
      env: { NODE_NAME: NODE_B },
    });
    await self.start();
    try {
      await until(async () => (await self.tags(sts1Container)).includes(SERVICE_TAG), 20_000, `self-watching node tagged\n${self.log.slice(-10).join('\n')}`);
      expect(await self.tags(STS1_POD)).toContain(SERVICE_TAG);
      expect(await self.tags(STS0_POD)).toEqual([]);
      // It lists and watches its own node's pods only; the cluster instance asks for all pods.
      const selectors = (watch: boolean): Set<string | null> => new Set(api.requestsFor('pods', watch).map((r) => r.query.get('fieldSelector')));
      // (The pod watch may open just after the tags came: its request is awaited, not assumed.)
      await until(() => selectors(true).has(`spec.nodeName=${NODE_B}`), 10_000, 'the self-watching node’s pod watch');
      for (const watch of [false, true]) expect(selectors(watch)).toEqual(new Set([null, `spec.nodeName=${NODE_B}`]));
      setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-1', false);
      await until(async () => !(await self.tags(sts1Container)).includes(SERVICE_TAG), 10_000, 'self-watching node follows');
      setEndpointReady(api, 'e2e-statefulset', 'e2e-statefulset-1', true);
      await until(async () => (await self.tags(sts1Container)).includes(SERVICE_TAG), 10_000, 'and back');
    } finally {
      await self.stop();
    }
  });
});
