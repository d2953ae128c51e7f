import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TagInfo } from '../../types.js';
import { cronJobOfJob, deploymentOfReplicaSet, extractPod, kubeletExtractOptions, podFingerprint, type PodExtraction } from './extract.js';

const real = JSON.parse(readFileSync(new URL('./testdata/pods_k8s-1.35_containerd.json', import.meta.url), 'utf8')) as { items: unknown[] };
const synthetic = JSON.parse(readFileSync(new URL('./testdata/pods_synthetic.json', import.meta.url), 'utf8')) as { items: unknown[] };
const noRules = kubeletExtractOptions();

function podNamed(items: unknown[], name: string): unknown {
  const pod = items.find((p) => (p as { metadata?: { name?: string } } | null)?.metadata?.name === name);
  if (!pod) throw new Error(`no pod ${name} in fixture`);
  return pod;
}

function extract(items: unknown[], name: string, options = noRules): PodExtraction {
  const out = extractPod(podNamed(items, name), options);
  if (!out) throw new Error(`pod ${name} not extracted`);
  return out;
}

function infoFor(x: PodExtraction, entity: string): TagInfo {
  const info = x.infos.find((i) => i.entity === entity);
  if (!info) throw new Error(`no TagInfo for ${entity}; have ${x.infos.map((i) => i.entity).join(', ')}`);
  return info;
}

/** Compares the three levels and standard, order-free. */
function expectTags(info: TagInfo, want: { low: string[]; orchestrator?: string[]; high?: string[]; standard?: string[] }): void {
  expect({ low: [...info.low].sort(), orchestrator: [...info.orchestrator].sort(), high: [...info.high].sort(), standard: [...info.standard].sort() }).toEqual({
    low: [...want.low].sort(),
    orchestrator: [...(want.orchestrator ?? [])].sort(),
    high: [...(want.high ?? [])].sort(),
    standard: [...(want.standard ?? [])].sort(),
  });
}

describe('kubelet extraction on a real Kubernetes 1.35 PodList', () => {
  it('extracts every pod and every container with an ID', () => {
    const all = real.items.map((p) => extractPod(p, noRules));
    expect(all.every((x) => x !== undefined)).toBe(true);
    expect(all.length).toBe(24);
    // 24 pods, one container each, all with IDs.
    expect(all.reduce((n, x) => n + (x?.infos.length ?? 0), 0)).toBe(48);
    for (const x of all) expect(x?.infos.every((i) => i.source === 'kubelet')).toBe(true);
  });

  it('a Deployment pod: ReplicaSet owner, deployment name without the pod-template-hash', () => {
    const x = extract(real.items, 'e2e-hpa-6cd8d99884-tggnr');
    const podLow = ['kube_deployment:e2e-hpa', 'kube_namespace:scraper', 'kube_ownerref_kind:replicaset', 'kube_qos:Burstable', 'kube_replica_set:e2e-hpa-6cd8d99884', 'pod_phase:running'];
    const podOrch = ['kube_ownerref_name:e2e-hpa-6cd8d99884', 'pod_name:e2e-hpa-6cd8d99884-tggnr'];
    expectTags(infoFor(x, 'kubernetes_pod_uid://3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4'), { low: podLow, orchestrator: podOrch });
    const id = '77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83';
    expectTags(infoFor(x, `container_id://${id}`), {
      low: [
        ...podLow,
        'kube_container_name:php-apache',
        'image_name:docker.io/library/nginx',
        'short_image:nginx',
        'image_tag:alpine',
        // status.imageID as the kubelet reports it on containerd (a repo digest)
        'image_id:docker.io/library/nginx@sha256:54f2a904c251d5a34adf545a72d32515a15e08418dae0266e23be2e18c66fefa',
      ],
      orchestrator: podOrch,
      high: [`container_id:${id}`, 'container_name:php-apache', 'display_container_name:php-apache_e2e-hpa-6cd8d99884-tggnr'],
    });
    expect(x.staleContainers).toEqual([]);
  });

  it('takes the image name from the spec (tag and digest), not the status image (an ID); image_id is status.imageID', () => {
    const x = extract(real.items, 'metrics-server-9d74bb658-c6nnt');
    const c = infoFor(x, 'container_id://fe888b5a90a7d62f7b6ab92186e0a2c79e21d75bc864a94c0d64ef170290273f');
    expect(c.low).toEqual(expect.arrayContaining(['image_name:registry.k8s.io/metrics-server/metrics-server', 'short_image:metrics-server', 'image_tag:v0.8.1', 'kube_priority_class:system-cluster-critical', 'kube_deployment:metrics-server']));
    expect(c.low.filter((t) => t.includes('sha256'))).toEqual([
      'image_id:registry.k8s.io/metrics-server/metrics-server@sha256:b2d2efaf5ac3b366ed0f839d2412a2c4279d4fc2a2a733f12c52133faed36c41',
    ]);
  });

  it('a CronJob run: kube_cronjob low, kube_job orchestrator', () => {
    const x = extract(real.items, 'e2e-cronjob-29707813-dhlr2');
    expectTags(infoFor(x, 'kubernetes_pod_uid://8c27e2aa-e3ee-406d-b45e-432476d5dc13'), {
      low: ['kube_cronjob:e2e-cronjob', 'kube_namespace:scraper', 'kube_ownerref_kind:job', 'kube_qos:Burstable', 'pod_phase:succeeded'],
      orchestrator: ['kube_job:e2e-cronjob-29707813', 'kube_ownerref_name:e2e-cronjob-29707813', 'pod_name:e2e-cronjob-29707813-dhlr2'],
    });
  });

  it('a Job of no CronJob: kube_job low', () => {
    const x = extract(real.items, 'e2e-failjob-64h4g');
    expectTags(infoFor(x, 'kubernetes_pod_uid://0961a396-5fff-45fe-a970-19b2aac96e5d'), {
      low: ['kube_job:e2e-failjob', 'kube_namespace:scraper', 'kube_ownerref_kind:job', 'kube_qos:BestEffort', 'pod_phase:failed'],
      orchestrator: ['kube_ownerref_name:e2e-failjob', 'pod_name:e2e-failjob-64h4g'],
    });
  });

  it('a StatefulSet pod with a PVC volume', () => {
    const x = extract(real.items, 'e2e-statefulset-0');
    expectTags(infoFor(x, 'kubernetes_pod_uid://b5812e37-ce78-41e2-9d8d-d93a88e481d6'), {
      low: ['kube_namespace:scraper', 'kube_ownerref_kind:statefulset', 'kube_qos:Burstable', 'kube_stateful_set:e2e-statefulset', 'persistentvolumeclaim:e2e-pv-claim', 'pod_phase:running'],
      orchestrator: ['kube_ownerref_name:e2e-statefulset', 'pod_name:e2e-statefulset-0'],
    });
  });

  it('a DaemonSet pod', () => {
    const x = extract(real.items, 'kindnet-zkpn8');
    expect(infoFor(x, 'kubernetes_pod_uid://ebb73de1-03ec-4c34-bda3-bb8a44f01c2b').low).toEqual(expect.arrayContaining(['kube_daemon_set:kindnet', 'kube_ownerref_kind:daemonset', 'kube_qos:Guaranteed']));
    const c = infoFor(x, 'container_id://d8d42efd0bf1d231a739597470d876aba084f8480722678ccd5fef8df5cbce10');
    expect(c.low).toEqual(expect.arrayContaining(['image_name:docker.io/kindest/kindnetd', 'image_tag:v20260213-ea8e5717', 'short_image:kindnetd']));
  });

  it('a static pod: config-hash UID, no owner', () => {
    const x = extract(real.items, 'kube-scheduler-datagen-1-35');
    expect(x.podUid).toBe('07bd11a0a13dfe5450a17a39eb8e32d2');
    expectTags(infoFor(x, 'kubernetes_pod_uid://07bd11a0a13dfe5450a17a39eb8e32d2'), {
      low: ['kube_namespace:kube-system', 'kube_priority_class:system-node-critical', 'kube_qos:Burstable', 'pod_phase:running'],
      orchestrator: ['pod_name:kube-scheduler-datagen-1-35'],
    });
    const c = infoFor(x, 'container_id://898d75812ec6f153cfb46b6cb485c02bffe26643ae6f61323a76a71de8954178');
    expect(c.low).toEqual(expect.arrayContaining(['image_name:registry.k8s.io/kube-scheduler', 'image_tag:v1.35.0', 'kube_container_name:kube-scheduler']));
  });

  it('app.kubernetes.io labels', () => {
    const x = extract(real.items, 'e2e-kube-state-metrics-75b885dc9-97mtr');
    expect(infoFor(x, 'kubernetes_pod_uid://52e6202b-d247-4d4d-8ff5-809b6d8b292e').low).toEqual(
      expect.arrayContaining([
        'kube_app_name:kube-state-metrics',
        'kube_app_instance:e2e',
        'kube_app_version:2.16.0',
        'kube_app_component:metrics',
        'kube_app_part_of:kube-state-metrics',
        'kube_app_managed_by:Helm',
        'kube_deployment:e2e-kube-state-metrics',
      ]),
    );
  });

  it('a restarted container: the lastState ID is stale, the current one tagged', () => {
    const x = extract(real.items, 'e2e-container-creating');
    expect(x.entities).toEqual(['kubernetes_pod_uid://567cc614-001a-402b-99fd-3d1f8db83f30', 'container_id://4295ac6e1b848c84dc1db036a94ea8c97389b10975fc3f6a063839520434b538']);
    expect(x.staleContainers).toEqual(['container_id://68acd6c031804d3992302cb76c9feec17b419b2616f770501fca8fc92a3fff10']);
  });
});

describe('kubelet extraction on hand-written pods', () => {
  const rules = kubeletExtractOptions({ labels: { team: 'team' }, annotations: { 'owner.example.com/*': '+%%annotation%%' } });
  const webPodLow = [
    'cost_center:cc-42',
    'env:prod',
    'kube_app_name:web',
    'kube_deployment:web',
    'kube_namespace:shop',
    'kube_ownerref_kind:replicaset',
    'kube_priority_class:high-priority',
    'kube_qos:Burstable',
    'kube_replica_set:web-7d4b9c7f5d',
    // No persistentvolumeclaim: the Agent tags claims of StatefulSet pods only.
    'pod_phase:running',
    'regions:eu',
    'regions:us',
    'service:web',
    'team:payments',
    'version:1.4.2',
  ];
  const webOrch = ['kube_ownerref_name:web-7d4b9c7f5d', 'pod_name:web-7d4b9c7f5d-x2k4q'];
  const webHigh = ['owner.example.com/oncall:bob', 'request_owner:alice'];
  const webStandard = ['env:prod', 'service:web', 'version:1.4.2'];
  const hex = (pair: string): string => pair.repeat(32);

  it('pod: standard labels, JSON tags annotation (+ is high), user rules, priority class; a ReplicaSet pod\'s PVC is not tagged', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    expectTags(infoFor(x, 'kubernetes_pod_uid://0b1c2d3e-0000-4000-8000-000000000001'), { low: webPodLow, orchestrator: webOrch, high: webHigh, standard: webStandard });
  });

  it('init, regular and ephemeral containers with IDs; one still without an ID waits', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    expect(x.entities).toEqual([
      'kubernetes_pod_uid://0b1c2d3e-0000-4000-8000-000000000001',
      `container_id://${hex('a1')}`,
      `container_id://${hex('b2')}`,
      `container_id://${hex('d4')}`,
      `container_id://${hex('e5')}`,
    ]);
    expect(x.staleContainers).toEqual([`container_id://${hex('c3')}`]);
  });

  it('init container: image with registry port, tag and digest', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    expectTags(infoFor(x, `container_id://${hex('a1')}`), {
      low: [...webPodLow, 'kube_container_name:migrate', 'image_name:registry.example.com:5000/shop/migrate', 'short_image:migrate', 'image_tag:2.0'],
      orchestrator: webOrch,
      // containerd://: container_name is the Kubernetes name, as the runtime has no other
      high: [...webHigh, `container_id:${hex('a1')}`, 'container_name:migrate', 'display_container_name:migrate_web-7d4b9c7f5d-x2k4q'],
      standard: webStandard,
    });
  });

  it('docker:// container: DD_VERSION literal env, valueFrom ignored, per-container JSON tags, untagged image is latest', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    expectTags(infoFor(x, `container_id://${hex('b2')}`), {
      low: [...webPodLow, 'kube_container_name:app', 'image_name:registry.example.com:5000/shop/web', 'short_image:web', 'image_tag:latest', 'tier:backend', 'version:1.4.3'],
      orchestrator: webOrch,
      high: [...webHigh, `container_id:${hex('b2')}`, 'display_container_name:app_web-7d4b9c7f5d-x2k4q'],
      standard: [...webStandard, 'version:1.4.3'],
    });
  });

  it('cri-o:// container: per-container standard label, digest-only image is image_tag:latest (NewContainerImage)', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    expectTags(infoFor(x, `container_id://${hex('d4')}`), {
      low: [...webPodLow, 'kube_container_name:nginx', 'image_name:nginx', 'short_image:nginx', 'image_tag:latest', 'service:web-proxy'],
      orchestrator: webOrch,
      high: [...webHigh, `container_id:${hex('d4')}`, 'container_name:nginx', 'display_container_name:nginx_web-7d4b9c7f5d-x2k4q'],
      standard: [...webStandard, 'service:web-proxy'],
    });
  });

  it('ephemeral container', () => {
    const x = extract(synthetic.items, 'web-7d4b9c7f5d-x2k4q', rules);
    const c = infoFor(x, `container_id://${hex('e5')}`);
    expect(c.low).toEqual(expect.arrayContaining(['kube_container_name:debugger', 'image_name:busybox', 'short_image:busybox', 'image_tag:1.36']));
  });

  it('OpenShift annotations and a ReplicationController; bad JSON annotation reported, empty containerID waits', () => {
    const x = extract(synthetic.items, 'frontend-3-abcde');
    expect(x.infos.length).toBe(1);
    expectTags(x.infos[0] as TagInfo, {
      // oshift_deployment_config is low, oshift_deployment orchestrator (the Agent's cardinalities).
      low: ['kube_namespace:legacy', 'kube_ownerref_kind:replicationcontroller', 'kube_qos:BestEffort', 'kube_replication_controller:frontend-3', 'oshift_deployment_config:frontend', 'pod_phase:pending'],
      orchestrator: ['kube_ownerref_name:frontend-3', 'oshift_deployment:frontend-3', 'pod_name:frontend-3-abcde'],
    });
    expect(x.problems).toEqual(['annotation ad.datadoghq.com/tags is not valid JSON']);
  });

  it('several owners, a direct Deployment, an unknown kind, a short numeric Job suffix', () => {
    const x = extract(synthetic.items, 'rollout-pod');
    expectTags(x.infos[0] as TagInfo, {
      low: ['kube_deployment:direct', 'kube_job:nightly-12', 'kube_namespace:apps', 'kube_ownerref_kind:deployment', 'kube_ownerref_kind:job', 'kube_ownerref_kind:rollout', 'pod_phase:running'],
      orchestrator: ['kube_ownerref_name:canary-7', 'kube_ownerref_name:direct', 'kube_ownerref_name:nightly-12', 'pod_name:rollout-pod'],
    });
  });

  it('skips items that are not pods with a UID', () => {
    expect(synthetic.items.slice(3).map((p) => extractPod(p, noRules))).toEqual([undefined, undefined, undefined]);
  });
});

describe('owner name parsing', () => {
  it('deployment of a ReplicaSet', () => {
    expect(deploymentOfReplicaSet('web-7d4b9c7f5d')).toBe('web');
    expect(deploymentOfReplicaSet('my-app-v2-5f97dc94d8')).toBe('my-app-v2');
    expect(deploymentOfReplicaSet('legacy-1234567')).toBe('legacy');
    expect(deploymentOfReplicaSet('standalone-rs')).toBeUndefined(); // 'r' and 's' are fine but 2 chars
    expect(deploymentOfReplicaSet('manual-abcde')).toBeUndefined(); // vowels never appear in a hash
    expect(deploymentOfReplicaSet('nodash')).toBeUndefined();
  });
  it('cronjob of a Job', () => {
    expect(cronJobOfJob('e2e-cronjob-29707813')).toBe('e2e-cronjob');
    expect(cronJobOfJob('e2e-failjob')).toBeUndefined();
    expect(cronJobOfJob('job-12')).toBeUndefined();
  });
});

/* eslint-disable @typescript-eslint/no-explicit-any -- the mutations below poke at raw JSON paths */
describe('podFingerprint', () => {
  const base = podNamed(synthetic.items, 'web-7d4b9c7f5d-x2k4q');
  const mutate = (fn: (p: Record<string, any>) => void): string => {
    const copy = structuredClone(base) as Record<string, any>;
    fn(copy);
    return podFingerprint(copy);
  };
  const same = podFingerprint(base);

  it('ignores fields no tag comes from', () => {
    expect(mutate((p) => (p.metadata.resourceVersion = '9999'))).toBe(same);
    expect(mutate((p) => (p.status.containerStatuses[0].restartCount = 7))).toBe(same);
    expect(mutate((p) => (p.status.containerStatuses[0].state = { running: { startedAt: 'later' } }))).toBe(same);
    expect(mutate((p) => (p.spec.containers[0].resources = { ...p.spec.containers[0].resources, limits: { cpu: '3' } }))).toBe(same);
  });

  it('changes with every field a tag comes from', () => {
    const changes: Array<(p: Record<string, any>) => void> = [
      (p) => (p.metadata.labels.team = 'other'),
      (p) => (p.metadata.annotations['ad.datadoghq.com/tags'] = '{}'),
      (p) => (p.metadata.ownerReferences[0].name = 'web-other'),
      (p) => (p.metadata.namespace = 'other'),
      (p) => (p.spec.priorityClassName = 'low'),
      (p) => (p.spec.volumes[0].persistentVolumeClaim.claimName = 'other'),
      (p) => (p.spec.containers[0].image = 'web:2'),
      (p) => (p.spec.containers[0].env[0].value = '1.4.4'),
      // Any env variable may be referenced by $(VAR) from a tagged one.
      (p) => (p.spec.containers[0].env[2].value = 'y'),
      (p) => (p.spec.runtimeClassName = 'gvisor'),
      (p) => (p.spec.hostname = 'h'),
      (p) => (p.status.podIP = '10.9.9.9'),
      (p) => (p.spec.containers[0].ports = [{ containerPort: 1 }]),
      (p) => (p.spec.containers[0].resizePolicy = [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }]),
      (p) => (p.spec.containers[0].resources = { requests: { 'nvidia.com/gpu': '1' } }),
      (p) => (p.status.phase = 'Succeeded'),
      (p) => (p.status.qosClass = 'Guaranteed'),
      (p) => (p.status.containerStatuses[2].containerID = 'containerd://' + 'ab'.repeat(32)),
      (p) => (p.status.containerStatuses[0].lastState.terminated.containerID = 'docker://' + 'cd'.repeat(32)),
      (p) => (p.status.ephemeralContainerStatuses[0].containerID = ''),
      (p) => (p.status.initContainerStatuses[0].name = 'renamed'),
    ];
    const prints = changes.map((fn) => mutate(fn));
    for (const fp of prints) expect(fp).not.toBe(same);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
