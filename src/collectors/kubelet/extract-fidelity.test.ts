/**
 * One test per Agent rule of the kubelet tagger that the older fixtures do not cover. Each pod is
 * written by hand; each expectation comes from the Agent's code (workloadmeta_extract.go,
 * kubelet.go, resolvable_adapter.go), not from our output.
 */
import { describe, expect, it } from 'vitest';
import type { TagInfo } from '../../types.js';
import { expand, specEnv } from './extract-env.js';
import { extractPod, goNumber, kubeletExtractOptions } from './extract.js';

const UID = '7f000000-0000-4000-8000-000000000001';
const CID = 'ab'.repeat(32);

interface PodParts {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  owners?: Array<{ kind: string; name: string }>;
  spec?: Record<string, unknown>;
  container?: Record<string, unknown>;
  containerID?: string;
  status?: Record<string, unknown>;
}

function pod(parts: PodParts = {}): unknown {
  return {
    metadata: { name: 'web-0', namespace: 'shop', uid: UID, labels: parts.labels ?? {}, annotations: parts.annotations ?? {}, ownerReferences: parts.owners ?? [] },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/web:1.0', ...parts.container }], ...parts.spec },
    status: { phase: 'Running', podIP: '10.1.2.3', containerStatuses: [{ name: 'app', containerID: parts.containerID ?? `containerd://${CID}`, image: 'registry.example.com/web:1.0' }], ...parts.status },
  };
}

function tagsOf(raw: unknown, options = kubeletExtractOptions()): { pod: TagInfo; container: TagInfo } {
  const x = extractPod(raw, options);
  if (!x) throw new Error('not extracted');
  const [podInfo, container] = x.infos;
  if (!podInfo || !container) throw new Error('missing infos');
  return { pod: podInfo, container };
}

describe('kubelet pod tags the Agent adds', () => {
  it('kube_runtime_class from spec.runtimeClassName (low)', () => {
    expect(tagsOf(pod({ spec: { runtimeClassName: 'gvisor' } })).pod.low).toContain('kube_runtime_class:gvisor');
  });

  it('gpu_vendor from the resource requests of init and app containers, on the pod; the container gets its own', () => {
    const raw = pod({
      container: { resources: { requests: { 'nvidia.com/mig-3g.20gb': '1', cpu: '1' } } },
      spec: { initContainers: [{ name: 'warm', resources: { requests: { 'amd.com/gpu': '1' } } }] },
    });
    const { pod: p, container } = tagsOf(raw);
    expect(p.low.filter((t) => t.startsWith('gpu_vendor:')).sort()).toEqual(['gpu_vendor:amd', 'gpu_vendor:nvidia']);
    expect(container.low).toContain('gpu_vendor:nvidia');
    // A limit alone is not a request; an unknown resource is no vendor.
    const limitsOnly = tagsOf(pod({ container: { resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { 'example.com/fpga': '1' } } } }));
    expect(limitsOnly.pod.low.some((t) => t.startsWith('gpu_vendor:'))).toBe(false);
  });

  it('kube_argo_rollout: the ReplicaSet\'s deployment name when the pod has rollouts-pod-template-hash', () => {
    const owners = [{ kind: 'ReplicaSet', name: 'checkout-6cd8d99884' }];
    expect(tagsOf(pod({ owners, labels: { 'rollouts-pod-template-hash': '6cd8d99884' } })).pod.low).toEqual(
      expect.arrayContaining(['kube_argo_rollout:checkout', 'kube_deployment:checkout']),
    );
    expect(tagsOf(pod({ owners })).pod.low.some((t) => t.startsWith('kube_argo_rollout'))).toBe(false);
  });

  it('dd_remote_config_id / dd_remote_config_rev from the admission controller annotations (low)', () => {
    const { pod: p } = tagsOf(pod({ annotations: { 'admission.datadoghq.com/rc.id': 'rc-123', 'admission.datadoghq.com/rc.rev': '7' } }));
    expect(p.low).toEqual(expect.arrayContaining(['dd_remote_config_id:rc-123', 'dd_remote_config_rev:7']));
  });

  it('Kueue: local queue from local-queue-name, else queue-name; cluster queue from cluster-queue-name', () => {
    const both = tagsOf(pod({ labels: { 'kueue.x-k8s.io/local-queue-name': 'lq', 'kueue.x-k8s.io/queue-name': 'plain', 'kueue.x-k8s.io/cluster-queue-name': 'cq' } }));
    expect(both.pod.low).toEqual(expect.arrayContaining(['kueue_local_queue:lq', 'kueue_cluster_queue:cq']));
    expect(both.container.low).toContain('kueue_local_queue:lq');
    expect(tagsOf(pod({ labels: { 'kueue.x-k8s.io/queue-name': 'plain' } })).pod.low).toContain('kueue_local_queue:plain');
  });

  it('oshift_deployment_config is low', () => {
    expect(tagsOf(pod({ annotations: { 'openshift.io/deployment-config.name': 'dc' } })).pod.low).toContain('oshift_deployment_config:dc');
  });

  it('persistentvolumeclaim only for a StatefulSet pod, and not with the switch off', () => {
    const volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } }];
    const sts = pod({ owners: [{ kind: 'StatefulSet', name: 'web' }], spec: { volumes } });
    expect(tagsOf(sts).pod.low).toContain('persistentvolumeclaim:data-web-0');
    expect(tagsOf(sts, kubeletExtractOptions({ persistentVolumeClaims: false })).pod.low.some((t) => t.startsWith('persistentvolumeclaim'))).toBe(false);
    const rs = pod({ owners: [{ kind: 'ReplicaSet', name: 'web-6cd8d99884' }], spec: { volumes } });
    expect(tagsOf(rs).pod.low.some((t) => t.startsWith('persistentvolumeclaim'))).toBe(false);
  });
});

describe('kubelet container tags the Agent adds', () => {
  it('cpu_restart_policy / memory_restart_policy from spec resizePolicy (low)', () => {
    const raw = pod({ container: { resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'memory', restartPolicy: 'RestartContainer' }] } });
    expect(tagsOf(raw).container.low).toEqual(expect.arrayContaining(['cpu_restart_policy:NotRequired', 'memory_restart_policy:RestartContainer']));
  });

  it('container_name (high) from the kubelet on containerd and CRI-O; left to the Docker collector on docker://', () => {
    expect(tagsOf(pod()).container.high).toContain('container_name:app');
    expect(tagsOf(pod({ containerID: `cri-o://${CID}` })).container.high).toContain('container_name:app');
    expect(tagsOf(pod({ containerID: `docker://${CID}` })).container.high.some((t) => t.startsWith('container_name:'))).toBe(false);
  });

  it('image_id is status.imageID without docker-pullable://', () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    const raw = pod({ status: { containerStatuses: [{ name: 'app', containerID: `docker://${CID}`, image: 'web:1.0', imageID: `docker-pullable://registry.example.com/web@${digest}` }] } });
    expect(tagsOf(raw).container.low).toContain(`image_id:registry.example.com/web@${digest}`);
  });

  it('env from the spec, with $(VAR) expanded: standard, OTEL and git tags', () => {
    const env = [
      { name: 'APP_VERSION', value: '2.4' },
      { name: 'DD_VERSION', value: '$(APP_VERSION)' },
      { name: 'OTEL_SERVICE_NAME', value: 'checkout' },
      { name: 'DD_GIT_COMMIT_SHA', value: 'abc123' },
      { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
      { name: 'DD_ENV', value: '$(SECRET)' },
    ];
    const { container } = tagsOf(pod({ container: { env } }));
    expect(container.standard).toEqual(['service:checkout', 'version:2.4']);
    expect(container.low).toContain('git.commit.sha:abc123');
    // DD_ENV refers to a valueFrom variable, whose value /pods does not carry: not tagged.
    expect(container.low.some((t) => t.startsWith('env:'))).toBe(false);
  });

  it('$(VAR) expansion: $$ escapes, an unclosed $( stays, an unknown or later variable drops the value', () => {
    const declared = new Map([['A', 'x']]);
    expect(expand('$(A)-$$(A)-$b-$(', declared)).toBe('x-$(A)-$b-$(');
    expect(expand('$(B)', declared)).toBeUndefined();
    expect(specEnv([{ name: 'X', value: '$(Y)' }, { name: 'Y', value: '1' }])).toEqual([['Y', '1']]);
  });
});

describe('AD template variables in the tags annotations', () => {
  it('pod annotation: %%host%%, %%kube_namespace%%, %%kube_pod_name%%, %%kube_pod_uid%% (keys are not resolved)', () => {
    const json = JSON.stringify({ ip: '%%host%%', where: '%%kube_namespace%%/%%kube_pod_name%%', uid: '%%kube_pod_uid%%', '%%host%%': 'k' });
    const { pod: p } = tagsOf(pod({ annotations: { 'ad.datadoghq.com/tags': json } }));
    expect(p.low).toEqual(expect.arrayContaining(['ip:10.1.2.3', 'where:shop/web-0', `uid:${UID}`, '%%host%%:k']));
  });

  it('container annotation: %%hostname%% (the pod hostname), %%port%% (last), %%port_<name>%%, %%host_<net>%%', () => {
    const json = JSON.stringify({ h: '%%hostname%%', p: '%%port%%', named: '%%port_metrics%%', first: '%%port_0%%', net: '%%host_bridge%%' });
    const raw = pod({
      annotations: { 'ad.datadoghq.com/app.tags': json },
      container: { ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] },
    });
    expect(tagsOf(raw).container.low).toEqual(expect.arrayContaining(['h:web-0', 'p:9090', 'named:9090', 'first:8080', 'net:10.1.2.3']));
  });

  it('one unresolvable variable leaves the whole annotation as written (%%pid%%, %%hostname%% on the pod, unknown)', () => {
    const json = JSON.stringify({ ip: '%%host%%', pid: '%%pid%%' });
    expect(tagsOf(pod({ annotations: { 'ad.datadoghq.com/tags': json } })).pod.low).toEqual(expect.arrayContaining(['ip:%%host%%', 'pid:%%pid%%']));
    const hostname = JSON.stringify({ h: '%%hostname%%' });
    expect(tagsOf(pod({ annotations: { 'ad.datadoghq.com/tags': hostname } })).pod.low).toContain('h:%%hostname%%');
    const noIp = pod({ annotations: { 'ad.datadoghq.com/tags': JSON.stringify({ ip: '%%host%%' }) }, status: { podIP: undefined } });
    expect(tagsOf(noIp).pod.low).toContain('ip:%%host%%');
  });

  it('JSON values: a + name is high; numbers print as the Agent prints them (Go %v)', () => {
    const { pod: p } = tagsOf(pod({ annotations: { 'ad.datadoghq.com/tags': JSON.stringify({ '+req': 'r1', build: 20240101, ratio: 0.5, tiny: 0.00001, ok: true }) } }));
    expect(p.high).toContain('req:r1');
    expect(p.low).toEqual(expect.arrayContaining(['build:2.0240101e+07', 'ratio:0.5', 'tiny:1e-05', 'ok:true']));
    expect([goNumber(123456), goNumber(1e6), goNumber(-0.0001), goNumber(1e21)]).toEqual(['123456', '1e+06', '-0.0001', '1e+21']);
  });
});
