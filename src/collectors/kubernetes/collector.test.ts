import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { priorityOf, SourcePriority, type TagInfo } from '../../types.js';
import { until } from '../../test-support/wait.js';
import type { CollectorContext } from '../collector.js';
import { KubeApiClient } from './client.js';
import { ClusterCollector, type PodScope } from './collector.js';
import { compileClusterRules } from './extract.js';
import { FakeApiServer } from './test-support/fake-apiserver.js';
import { endpointSlicesFromEndpoints, loadRecordedCluster, recorded } from './test-support/fixtures.js';

type Json = Record<string, unknown>;

const COREDNS = '36447428-81f8-45eb-b825-414de2e8012b';
const STS0 = 'b5812e37-ce78-41e2-9d8d-d93a88e481d6';
const KUBE_SYSTEM_UID = '0a8fd47f-e5f0-4721-ade3-351967e740f2';

let fake: FakeApiServer;
let controller: AbortController;
let running: Promise<void> | undefined;
let collector: ClusterCollector;
afterEach(async () => {
  controller?.abort();
  await running;
  await collector?.close();
  await fake?.close();
});

async function start(options: { ignoreReadiness?: boolean; podScope?: PodScope; prepare?: (fake: FakeApiServer) => void; logger?: Logger } = {}) {
  fake = await FakeApiServer.start();
  loadRecordedCluster(fake);
  options.prepare?.(fake);
  const batches: TagInfo[][] = [];
  let synced = 0;
  collector = new ClusterCollector({
    source: new KubeApiClient({ url: fake.url, tokenFile: '/nonexistent', caFile: '', tlsVerify: true }),
    rules: compileClusterRules({ namespaceLabels: { team: 'team', environment: 'env' } }),
    clusterName: 'datagen',
    ignoreReadiness: options.ignoreReadiness ?? false,
    backoff: { initialMs: 20, maxMs: 100 },
    ...(options.podScope ? { podScope: options.podScope } : {}),
  });
  controller = new AbortController();
  const ctx: CollectorContext = {
    sink: { push: (infos) => void batches.push([...infos]) },
    clock: systemClock,
    logger: options.logger ?? silentLogger,
    signal: controller.signal,
    knows: () => false,
    requestFetch: () => undefined,
    markSynced: () => void synced++,
  };
  running = collector.run(ctx);
  await until(() => synced > 0, 5_000, 'the first sync');
  await until(() => fake.openWatches() === 4, 5_000, 'the four watches');
  /** The last TagInfo pushed for an entity. */
  const last = (entity: string): TagInfo | undefined => batches.flat().filter((i) => i.entity === entity).at(-1);
  return { batches, last };
}

/** The recorded slice of a Service, as the fake serves it now. */
function sliceOf(service: string): Json {
  const slice = fake.store.snapshot('endpointslices').find((e) => ((e.object.metadata as Json).labels as Json)['kubernetes.io/service-name'] === service);
  return structuredClone(slice?.object) as Json;
}

describe('ClusterCollector against the fake API server', () => {
  it('pushes every tagged pod of the recorded cluster in one batch once all four resources listed, and the global tags', async () => {
    const { batches, last } = await start();
    expect(batches.length).toBe(1);
    const pods = (batches[0] ?? []).filter((i) => i.entity.startsWith('kubernetes_pod_uid://'));
    // Six pods are Service endpoints; the nri-test-namespace has team/env labels but no pods.
    expect(pods.length).toBe(6);
    expect(last(`kubernetes_pod_uid://${COREDNS}`)?.low).toEqual(['kube_service:kube-dns']);
    expect(last(`kubernetes_pod_uid://${STS0}`)?.low).toEqual(['kube_service:e2e-statefulset']);
    expect(last('internal://global')?.low).toEqual(['kube_cluster_name:datagen', `orch_cluster_id:${KUBE_SYSTEM_UID}`]);
    expect(priorityOf({ source: collector.name })).toBe(SourcePriority.ClusterOrchestrator);
    expect(collector.nodeOf(COREDNS)).toBe('datagen-1-35');
    expect(collector.nodeOf('unknown')).toBeUndefined();
    expect(collector.health().healthy).toBe(true);
    expect(collector.resources().map((r) => [r.resource, r.state.synced, r.stats.lists])).toEqual([
      ['pods', true, 1],
      ['endpointslices', true, 1],
      ['services', true, 1],
      ['namespaces', true, 1],
    ]);
  });

  it('follows a pod leaving and rejoining its Service as its endpoint goes not ready and ready', async () => {
    const { last } = await start();
    const slice = sliceOf('kube-dns');
    (slice.endpoints as Array<{ conditions: Json }>)[0]!.conditions = { ready: false, serving: false, terminating: false };
    fake.store.apply('endpointslices', slice);
    await until(() => last(`kubernetes_pod_uid://${COREDNS}`)?.low.length === 0, 3_000, 'kube_service removed');
    (slice.endpoints as Array<{ conditions: Json }>)[0]!.conditions = { ready: true, serving: true, terminating: false };
    fake.store.apply('endpointslices', slice);
    await until(() => last(`kubernetes_pod_uid://${COREDNS}`)?.low[0] === 'kube_service:kube-dns', 3_000, 'kube_service back');
  });

  it('counts not-ready endpoints with ignore_readiness, and drops kube_service when its Service is deleted', async () => {
    const { last } = await start({ ignoreReadiness: true });
    const slice = sliceOf('e2e-hpa');
    (slice.endpoints as Array<{ conditions: Json }>)[0]!.conditions = { ready: false };
    fake.store.apply('endpointslices', slice);
    fake.store.remove('services', 'kube-system', 'kube-dns');
    await until(() => last(`kubernetes_pod_uid://${COREDNS}`)?.low.length === 0, 3_000, 'kube-dns gone');
    expect(last('kubernetes_pod_uid://3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4')?.low).toEqual(['kube_service:e2e-hpa']);
  });

  it('puts namespace label tags on the namespace pods when the labels change', async () => {
    const { last } = await start();
    const ns = structuredClone(fake.store.get('namespaces', undefined, 'scraper')) as Json;
    (ns.metadata as Json).labels = { ...((ns.metadata as Json).labels as Json), team: 'data', environment: 'prod' };
    fake.store.apply('namespaces', ns);
    await until(() => last(`kubernetes_pod_uid://${STS0}`)?.low.includes('team:data') === true, 3_000, 'namespace tags');
    // Namespace-label tags are ordinary tags, as the Agent's AddMetadataAsTags makes them: not standard.
    expect(last(`kubernetes_pod_uid://${STS0}`)).toMatchObject({ low: ['env:prod', 'kube_service:e2e-statefulset', 'team:data'], standard: [] });
  });

  it('deletes a deleted pod, holds an unscheduled pod until it has a node, and honours the disable annotation', async () => {
    const { batches, last } = await start();
    const stsPod = (recorded.pods() as Json[]).find((p) => (p.metadata as Json).uid === STS0) as Json;
    fake.store.remove('pods', 'scraper', 'e2e-statefulset-0');
    await until(() => last(`kubernetes_pod_uid://${STS0}`)?.deleteEntity === true, 3_000, 'the deletion');
    // The StatefulSet makes the pod again (new UID), first unscheduled, its endpoint by name.
    const reborn = { ...stsPod, metadata: { ...(stsPod.metadata as Json), uid: 'reborn-uid', annotations: {} }, spec: { ...(stsPod.spec as Json), nodeName: '' } };
    fake.store.apply('pods', reborn);
    const slice = sliceOf('e2e-statefulset');
    (slice.endpoints as Array<Json>).push({ addresses: ['10.244.0.99'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'scraper', name: 'e2e-statefulset-0' } });
    fake.store.apply('endpointslices', slice);
    await new Promise((r) => setTimeout(r, 200));
    expect(last('kubernetes_pod_uid://reborn-uid')).toBeUndefined();
    fake.store.apply('pods', { ...reborn, spec: { ...(stsPod.spec as Json) } });
    await until(() => last('kubernetes_pod_uid://reborn-uid') !== undefined, 3_000, 'the scheduled pod');
    expect(last('kubernetes_pod_uid://reborn-uid')?.low).toEqual(['kube_service:e2e-statefulset']);
    expect(collector.nodeOf('reborn-uid')).toBe('datagen-1-35');
    fake.store.apply('pods', { ...reborn, metadata: { ...reborn.metadata, annotations: { 'tags.datadoghq.com/disable': 'kube_service' } }, spec: { ...(stsPod.spec as Json) } });
    await until(() => last('kubernetes_pod_uid://reborn-uid')?.low.length === 0, 3_000, 'disabled');
    expect(batches.flat().filter((i) => i.entity === 'kubernetes_pod_uid://reborn-uid').length).toBe(2);
  });

  it('loses no change made while its watches were expired: the relist brings it', async () => {
    const { last } = await start();
    fake.endWatches();
    fake.store.remove('endpointslices', 'kube-system', (sliceOf('kube-dns').metadata as Json).name as string);
    fake.store.compact();
    await until(() => last(`kubernetes_pod_uid://${COREDNS}`)?.low.length === 0, 5_000, 'the change after the relist');
    const slices = collector.resources().find((r) => r.resource === 'endpointslices');
    expect(slices?.stats.relists).toBe(1);
    expect(slices?.state.objects).toBe(endpointSlicesFromEndpoints(recorded.endpoints(), recorded.services()).length - 1);
  });

  it('reports a failing resource in health and keeps its last tags', async () => {
    const { batches } = await start();
    const before = batches.flat().length;
    fake.failNext(50, 500);
    fake.endWatches('services');
    await until(() => !collector.health().healthy, 3_000, 'unhealthy');
    expect(collector.health().message).toMatch(/services: .*HTTP 500/);
    expect(batches.flat().length).toBe(before);
  });
});

/** The recorded cluster's one node, where all its pods run. */
const NODE_A = 'datagen-1-35';
/** A second CoreDNS replica on another node, an endpoint of kube-dns beside the recorded one. */
const OTHER_COREDNS = 'c0ffee00-0000-4000-8000-00000000000b';

/** A logger that keeps every warn and error line (the node-mode test wants none). */
function complaintsLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (obj: Record<string, unknown> | string, msg?: string) => void lines.push(`${level} ${typeof obj === 'string' ? obj : (msg ?? '')} ${JSON.stringify(obj)}`);
  const logger: Logger = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: keep('warn'), error: keep('error'), child: () => logger };
  return { logger, lines };
}

/** Adds a pod on node-b to kube-system and lists it (by UID) in the kube-dns slice. */
function addCorednsOnNodeB(server: FakeApiServer): void {
  const coredns = (recorded.pods() as Json[]).find((p) => (p.metadata as Json).uid === COREDNS) as Json;
  server.store.apply('pods', { ...coredns, metadata: { ...(coredns.metadata as Json), name: 'coredns-7d764666f9-other', uid: OTHER_COREDNS }, spec: { ...(coredns.spec as Json), nodeName: 'node-b' } });
  const slice = server.store.snapshot('endpointslices').find((e) => ((e.object.metadata as Json).labels as Json)['kubernetes.io/service-name'] === 'kube-dns')?.object as Json;
  const endpoints = [...(slice.endpoints as Json[]), { addresses: ['10.244.1.7'], conditions: { ready: true }, nodeName: 'node-b', targetRef: { kind: 'Pod', namespace: 'kube-system', name: 'coredns-7d764666f9-other', uid: OTHER_COREDNS } }];
  server.store.apply('endpointslices', { ...slice, endpoints });
}

describe('ClusterCollector pod scope', () => {
  it('on a node, lists and watches only that node’s pods; they keep kube_service and namespace tags, other nodes’ endpoints are ignored', async () => {
    const { logger, lines } = complaintsLogger();
    const { batches, last } = await start({ podScope: { node: NODE_A }, prepare: addCorednsOnNodeB, logger });
    const pods = collector.resources().find((r) => r.resource === 'pods');
    expect(pods?.state.objects).toBe(recorded.pods().length);
    expect(collector.nodeOf(OTHER_COREDNS)).toBeUndefined();
    expect(batches.flat().some((i) => i.entity === `kubernetes_pod_uid://${OTHER_COREDNS}`)).toBe(false);
    expect(last(`kubernetes_pod_uid://${COREDNS}`)?.low).toEqual(['kube_service:kube-dns']);
    // Only pods carry the selector: Services, EndpointSlices and Namespaces stay cluster-wide.
    for (const watch of [false, true]) {
      expect(fake.requestsFor('pods', watch).map((r) => r.query.get('fieldSelector'))).toEqual(expect.arrayContaining([`spec.nodeName=${NODE_A}`]));
      expect(fake.requestsFor('pods', watch).every((r) => r.query.get('fieldSelector') === `spec.nodeName=${NODE_A}`)).toBe(true);
      for (const resource of ['services', 'endpointslices', 'namespaces'] as const) expect(fake.requestsFor(resource, watch).every((r) => !r.query.has('fieldSelector'))).toBe(true);
    }
    // Namespace tags still reach this node's pods.
    const ns = structuredClone(fake.store.get('namespaces', undefined, 'kube-system')) as Json;
    (ns.metadata as Json).labels = { ...((ns.metadata as Json).labels as Json), team: 'platform' };
    fake.store.apply('namespaces', ns);
    await until(() => last(`kubernetes_pod_uid://${COREDNS}`)?.low.includes('team:platform') === true, 3_000, 'namespace tags on this node’s pod');
    // A pod of another node changing, and its endpoint going not ready, reach nothing here.
    const slice = sliceOf('kube-dns');
    for (const endpoint of slice.endpoints as Array<{ targetRef?: Json; conditions: Json }>) if (endpoint.targetRef?.uid === OTHER_COREDNS) endpoint.conditions = { ready: false };
    fake.store.apply('endpointslices', slice);
    // A pod created on another node after the list is not sent by the watch either; one bound to
    // this node later comes through it.
    const other = structuredClone(fake.store.get('pods', 'kube-system', 'coredns-7d764666f9-other')) as Json;
    fake.store.apply('pods', { ...other, metadata: { ...(other.metadata as Json), name: 'coredns-7d764666f9-new', uid: 'new-on-b' } });
    fake.store.apply('pods', { ...other, metadata: { ...(other.metadata as Json), name: 'coredns-7d764666f9-late', uid: 'late-uid' }, spec: { ...(other.spec as Json), nodeName: NODE_A } });
    await until(() => collector.nodeOf('late-uid') === NODE_A, 3_000, 'the pod bound to this node');
    expect(collector.nodeOf('new-on-b')).toBeUndefined();
    expect(collector.resources().find((r) => r.resource === 'pods')?.state.objects).toBe(recorded.pods().length + 1);
    expect(collector.nodeOf(OTHER_COREDNS)).toBeUndefined();
    expect(batches.flat().some((i) => i.entity === `kubernetes_pod_uid://${OTHER_COREDNS}`)).toBe(false);
    expect(last(`kubernetes_pod_uid://${COREDNS}`)?.low).toEqual(['kube_service:kube-dns', 'team:platform']);
    expect(collector.health()).toMatchObject({ healthy: true, message: expect.stringContaining(`pods (of node ${NODE_A})`) });
    expect(lines).toEqual([]);
  });

  it('in the cluster instance (the default), and on a node whose name is unknown, holds every pod', async () => {
    const { batches, last } = await start({ prepare: addCorednsOnNodeB });
    expect(collector.resources().find((r) => r.resource === 'pods')?.state.objects).toBe(recorded.pods().length + 1);
    expect(collector.nodeOf(OTHER_COREDNS)).toBe('node-b');
    expect(last(`kubernetes_pod_uid://${OTHER_COREDNS}`)?.low).toEqual(['kube_service:kube-dns']);
    expect(batches.flat().length).toBeGreaterThan(0);
    expect(fake.requestsFor('pods', false).every((r) => !r.query.has('fieldSelector'))).toBe(true);
    controller.abort();
    await running;
    await collector.close();
    await fake.close();

    const { logger, lines } = complaintsLogger();
    await start({ podScope: { node: ' ' }, prepare: addCorednsOnNodeB, logger });
    expect(collector.resources().find((r) => r.resource === 'pods')?.state.objects).toBe(recorded.pods().length + 1);
    expect(fake.requestsFor('pods', true).every((r) => !r.query.has('fieldSelector'))).toBe(true);
    expect(lines).toEqual([expect.stringMatching(/^warn node name unknown .*watching every pod/)]);
  });
});
