import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { compileClusterRules, globalTagInfo, namespaceTags, podTagInfo, servicesOfPod } from './extract.js';
import { decodeEndpointSlice, decodePod, decodeService, namespaceDecoder, type EndpointSliceMeta, type PodMeta } from './objects.js';
import { endpointSlicesFromEndpoints, recorded } from './test-support/fixtures.js';

type Json = Record<string, unknown>;

function ok<T>(decoded: { ok: boolean; value?: T }): T {
  if (!decoded.ok || decoded.value === undefined) throw new Error('expected a decoded object');
  return decoded.value;
}

const services = recorded.services().map((s) => ok(decodeService(s)));
const serviceExists = (namespace: string, name: string): boolean => services.some((s) => s.namespace === namespace && s.name === name);
const slices = endpointSlicesFromEndpoints(recorded.endpoints(), recorded.services()).map((s) => ok(decodeEndpointSlice({ ...s, metadata: { ...(s.metadata as Json), resourceVersion: '1' } })));
const pods = recorded.pods().flatMap((p) => {
  const d = decodePod(p);
  return d.ok ? [d.value] : [];
});
const podNamed = (name: string): PodMeta => pods.find((p) => p.name === name) as PodMeta;

describe('servicesOfPod on the recorded v1.35 cluster', () => {
  it('maps each ready endpoint pod to its Service, by targetRef UID', () => {
    expect(servicesOfPod(podNamed('coredns-7d764666f9-qdcxt'), slices, serviceExists, false)).toEqual(['kube-dns']);
    expect(servicesOfPod(podNamed('e2e-statefulset-0'), slices, serviceExists, false)).toEqual(['e2e-statefulset']);
    expect(servicesOfPod(podNamed('e2e-statefulset-1'), slices, serviceExists, false)).toEqual(['e2e-statefulset']);
    expect(servicesOfPod(podNamed('kube-proxy-8k9zt'), slices, serviceExists, false)).toEqual([]);
    const tagged = pods.filter((p) => servicesOfPod(p, slices, serviceExists, false).length > 0).map((p) => p.name).sort();
    expect(tagged).toEqual(['coredns-7d764666f9-qdcxt', 'e2e-hpa-6cd8d99884-tggnr', 'e2e-kube-state-metrics-75b885dc9-97mtr', 'e2e-statefulset-0', 'e2e-statefulset-1', 'metrics-server-9d74bb658-c6nnt']);
  });

  it('counts a not-ready endpoint only with ignoreReadiness, and never for a pod that disables kube_service', () => {
    const notReady = slices.map((s) => ({ ...s, pods: s.pods.map((r) => ({ ...r, ready: false })) }));
    const pod = podNamed('coredns-7d764666f9-qdcxt');
    expect(servicesOfPod(pod, notReady, serviceExists, false)).toEqual([]);
    expect(servicesOfPod(pod, notReady, serviceExists, true)).toEqual(['kube-dns']);
    expect(servicesOfPod({ ...pod, kubeServiceDisabled: true }, slices, serviceExists, true)).toEqual([]);
  });

  it('needs the Service to exist, matches by name only without a UID, and ignores a reference to an older pod of the same name', () => {
    const pod = podNamed('e2e-statefulset-0');
    expect(servicesOfPod(pod, slices, () => false, false)).toEqual([]);
    const byName: EndpointSliceMeta = { namespace: 'scraper', name: 's', serviceName: 'e2e-lb', pods: [{ uid: undefined, namespace: 'scraper', name: 'e2e-statefulset-0', ready: true }] };
    const oldUid: EndpointSliceMeta = { ...byName, serviceName: 'e2e-hpa', pods: [{ uid: 'an-older-pod', namespace: 'scraper', name: 'e2e-statefulset-0', ready: true }] };
    expect(servicesOfPod(pod, [...slices, byName, oldUid], serviceExists, false)).toEqual(['e2e-lb', 'e2e-statefulset']);
  });

  it('reads the real kind EndpointSliceList: the apiserver slice has no Pod, kube-dns references its coredns pod', () => {
    const kind = recorded.kindEndpointSlices().map((s) => ok(decodeEndpointSlice(s)));
    expect(kind.map((s) => [s.serviceName, s.pods.map((p) => p.uid)])).toEqual([
      ['kubernetes', []],
      ['kube-dns', ['36a545ff-dbba-4192-a5f6-1dbb0c21c73d']],
    ]);
    const coredns: PodMeta = { uid: '36a545ff-dbba-4192-a5f6-1dbb0c21c73d', namespace: 'kube-system', name: 'coredns-66bff467f8-z8czk', nodeName: 'kind-control-plane', kubeServiceDisabled: false };
    expect(servicesOfPod(coredns, kind, () => true, false)).toEqual(['kube-dns']);
  });
});

describe('decode transforms', () => {
  it('keeps only what the tags need of a pod, and reads the disable annotation as a list', () => {
    const pod = podNamed('coredns-7d764666f9-qdcxt');
    expect(pod).toEqual({ uid: '36447428-81f8-45eb-b825-414de2e8012b', namespace: 'kube-system', name: 'coredns-7d764666f9-qdcxt', nodeName: 'datagen-1-35', kubeServiceDisabled: false });
    const disabled = decodePod({ metadata: { name: 'a', namespace: 'n', uid: 'u', resourceVersion: '1', annotations: { 'tags.datadoghq.com/disable': 'kube_namespace, kube_service' } } });
    expect(ok(disabled).kubeServiceDisabled).toBe(true);
  });

  it('refuses objects missing their identity, naming the key when it is readable', () => {
    expect(decodePod(null)).toMatchObject({ ok: false, problem: 'no metadata' });
    expect(decodePod({ metadata: { name: 'a', namespace: 'n', resourceVersion: '3' } })).toEqual({ ok: false, key: 'n/a', resourceVersion: '3', problem: 'no metadata.uid' });
    expect(decodeEndpointSlice({ metadata: { name: 's', namespace: 'n', resourceVersion: '3' }, endpoints: 'nope' })).toMatchObject({ ok: false, key: 'n/s' });
    expect(ok(decodeEndpointSlice({ metadata: { name: 's', namespace: 'n', resourceVersion: '3' }, endpoints: [null, { targetRef: { kind: 'Node', name: 'x' } }, { targetRef: { kind: 'Pod', name: 'p' } }] })).pods).toEqual([{ uid: undefined, namespace: 'n', name: 'p', ready: true }]);
  });
});

describe('namespace and global tags', () => {
  const rules = compileClusterRules({ namespaceLabels: { team: 'team', environment: 'env' }, namespaceAnnotations: { owner: '+owner', 'meta.helm.sh/*': 'helm_%%annotation%%' } });

  it('applies the namespace rules of the recorded namespace with the project rule engine', () => {
    const ns = recorded.namespaces().map((n) => ok(namespaceDecoder(rules)(n))).find((n) => n.name === 'nri-test-namespace');
    expect(ns?.uid).toBe('ed1ab22f-2efe-41be-bfc6-ad5f3467c840');
    expect(ns?.tags).toEqual({
      low: ['env:dev', 'helm_meta.helm.sh/release-name:e2e', 'helm_meta.helm.sh/release-namespace:scraper', 'team:k8-team'],
      orchestrator: [],
      high: ['owner:namespace@example.com'],
      standard: ['env:dev'],
    });
  });

  it('keeps only the matching tags of a namespace with 1,000 labels', () => {
    const labels: Array<[string, string]> = Array.from({ length: 1000 }, (_, i) => [`label-${i}`, `v${i}`]);
    labels.push(['team', 'core']);
    expect(namespaceTags(labels, [], rules).low).toEqual(['team:core']);
  });

  it('puts kube_service and the namespace tags on the pod entity', () => {
    const pod = podNamed('e2e-statefulset-0');
    const info = podTagInfo(pod, ['b-svc', 'a-svc'], { low: ['team:core'], orchestrator: [], high: ['owner:x'], standard: [] });
    expect(info).toEqual({ source: 'cluster', entity: 'kubernetes_pod_uid://b5812e37-ce78-41e2-9d8d-d93a88e481d6', low: ['kube_service:a-svc', 'kube_service:b-svc', 'team:core'], orchestrator: [], high: ['owner:x'], standard: [] });
  });

  it('gives the global entity kube_cluster_name and orch_cluster_id (kube-system UID)', () => {
    const kubeSystem = recorded.namespaces().map((n) => ok(namespaceDecoder(rules)(n))).find((n) => n.name === 'kube-system');
    expect(globalTagInfo('prod-eu', kubeSystem?.uid)).toMatchObject({ entity: 'internal://global', low: ['kube_cluster_name:prod-eu', 'orch_cluster_id:0a8fd47f-e5f0-4721-ade3-351967e740f2'] });
    expect(globalTagInfo('', undefined).low).toEqual([]);
  });

  it('names the config key of a bad rule', () => {
    expect(() => compileClusterRules({ namespaceLabels: { team: '' } })).toThrow(ConfigError);
    expect(() => compileClusterRules({ namespaceLabels: { team: '' } })).toThrow(/kubernetes\.namespace_labels_as_tags/);
  });
});
