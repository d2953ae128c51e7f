/**
 * The benchmark's cluster, loaded into a fake API server: 5,000 pods (the recorded v1.35
 * cluster's 24 pod shapes, full size, each with its own name and UID) on 100 nodes, 1,000
 * Services of the recorded shapes, one EndpointSlice each listing 5 of the pods, and 100
 * namespaces with the recorded labelled namespace's labels plus 10 more.
 */
import type { FakeApiServer } from '../../../src/collectors/kubernetes/test-support/fake-apiserver.js';
import { recorded } from '../../../src/collectors/kubernetes/test-support/fixtures.js';

type Json = Record<string, unknown>;

export const CLUSTER_SIZE = { pods: 5_000, services: 1_000, namespaces: 100, nodes: 100 } as const;
/** Every object the informers hold: pods, services, slices (one per service), namespaces + kube-system. */
export const OBJECTS = CLUSTER_SIZE.pods + CLUSTER_SIZE.services * 2 + CLUSTER_SIZE.namespaces + 1;

function uid(kind: number, i: number): string {
  const hex = (kind * 1_000_000 + i).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

export function loadBenchCluster(fake: FakeApiServer): void {
  const podShapes = recorded.pods();
  const serviceShapes = recorded.services();
  const namespaceShape = recorded.namespaces().find((n) => (n.metadata as Json).name === 'nri-test-namespace') as Json;
  const kubeSystem = recorded.namespaces().find((n) => (n.metadata as Json).name === 'kube-system') as Json;
  fake.store.apply('namespaces', kubeSystem);
  for (let n = 0; n < CLUSTER_SIZE.namespaces; n++) {
    const meta = structuredClone(namespaceShape.metadata) as Json;
    const labels: Json = { ...(meta.labels as Json), 'kubernetes.io/metadata.name': `ns-${n}`, team: `team-${n % 7}` };
    for (let l = 0; l < 10; l++) labels[`example.com/label-${l}`] = `value-${n}-${l}`;
    fake.store.apply('namespaces', { ...namespaceShape, metadata: { ...meta, name: `ns-${n}`, uid: uid(1, n), labels } });
  }
  for (let i = 0; i < CLUSTER_SIZE.pods; i++) {
    const shape = structuredClone(podShapes[i % podShapes.length]) as Json;
    const meta = shape.metadata as Json;
    delete meta.resourceVersion;
    fake.store.apply('pods', { ...shape, metadata: { ...meta, name: `${String(meta.name)}-${i}`, namespace: `ns-${i % CLUSTER_SIZE.namespaces}`, uid: uid(2, i) }, spec: { ...(shape.spec as Json), nodeName: `node-${i % CLUSTER_SIZE.nodes}` } });
  }
  const perService = CLUSTER_SIZE.pods / CLUSTER_SIZE.services;
  for (let j = 0; j < CLUSTER_SIZE.services; j++) {
    const shape = structuredClone(serviceShapes[j % serviceShapes.length]) as Json;
    const ns = j % CLUSTER_SIZE.namespaces;
    const q = Math.floor(j / CLUSTER_SIZE.namespaces);
    const name = `svc-${j}`;
    fake.store.apply('services', { ...shape, metadata: { ...(shape.metadata as Json), name, namespace: `ns-${ns}`, uid: uid(3, j) } });
    const endpoints: Json[] = [];
    for (let m = q * perService; m < (q + 1) * perService; m++) {
      const i = ns + CLUSTER_SIZE.namespaces * m;
      endpoints.push({ addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`], conditions: { ready: true, serving: true, terminating: false }, nodeName: `node-${i % CLUSTER_SIZE.nodes}`, targetRef: { kind: 'Pod', namespace: `ns-${ns}`, name: `${String((podShapes[i % podShapes.length]?.metadata as Json).name)}-${i}`, uid: uid(2, i) } });
    }
    fake.store.apply('endpointslices', {
      metadata: { name: `${name}-abcde`, namespace: `ns-${ns}`, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: uid(3, j), controller: true, blockOwnerDeletion: true }] },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
}
