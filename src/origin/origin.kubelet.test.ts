/**
 * Origin detection end to end on kubelet data: a fake kubelet replaying a real kubelet 1.35
 * `/pods` (containerd), the kubelet collector in a LocalTagger, and `/v1/origin` on a unix socket.
 * External data, pod UID + container name, pod IPs, host-network pods, init containers, an IP
 * reused by a newer pod, and what goes when a pod goes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeletClient } from '../collectors/kubelet/client.js';
import { KubeletCollector } from '../collectors/kubelet/collector.js';
import { kubeletExtractOptions } from '../collectors/kubelet/extract.js';
import { FakeKubelet } from '../collectors/kubelet/test-support/fake-kubelet.js';
import type { IpcClient } from '../ipc/client.js';
import { rawRequest, type Harness } from '../ipc/test-support/harness.js';
import type { LocalTagger } from '../tagger/local-tagger.js';
import { serveTagger, type ServedTagger } from './test-support/serve.js';
import { until } from '../test-support/wait.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests edit the raw PodList JSON */
const fixtureText = readFileSync(new URL('../collectors/kubelet/testdata/pods_k8s-1.35_containerd.json', import.meta.url), 'utf8');
const freshList = (): { items: any[] } => JSON.parse(fixtureText) as { items: any[] };
const HPA_UID = '3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4';
const HPA_CONTAINER = '77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83';
const INIT_CONTAINER = 'c0'.repeat(32);
const NEW_UID = '6c1f7a52-0d3e-4b8e-9a51-2f0e8d7c4b11';
const NEW_CONTAINER = 'ab'.repeat(32);

/**
 * The real HPA pod with an init container, shaped as kubelet reports one that has run to
 * completion (spec.initContainers entry, a terminated initContainerStatuses entry with its ID).
 */
function withInitContainer(list: { items: any[] }): { items: any[] } {
  const pod = list.items.find((p) => p.metadata.uid === HPA_UID);
  pod.spec.initContainers = [{ name: 'wait-for-db', image: 'busybox:1.36', command: ['sh', '-c', 'true'], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }];
  pod.status.initContainerStatuses = [
    {
      name: 'wait-for-db',
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-12-01T10:00:01Z', finishedAt: '2026-12-01T10:00:02Z', containerID: `containerd://${INIT_CONTAINER}` } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: 'docker.io/library/busybox:1.36',
      imageID: 'docker.io/library/busybox@sha256:' + '1'.repeat(64),
      containerID: `containerd://${INIT_CONTAINER}`,
      started: false,
    },
  ];
  return list;
}

/** A new pod that got the HPA pod's IP after it (a copy of it with its own UID, name and container). */
function newPodOnSameIp(list: { items: any[] }): any {
  const old = list.items.find((p) => p.metadata.uid === HPA_UID);
  const pod = structuredClone(old);
  pod.metadata.uid = NEW_UID;
  pod.metadata.name = 'e2e-hpa-6cd8d99884-zz9qp';
  pod.status.containerStatuses[0].containerID = `containerd://${NEW_CONTAINER}`;
  delete pod.status.initContainerStatuses;
  return pod;
}

describe('origin detection from a fake kubelet replaying real /pods', () => {
  let fake: FakeKubelet;
  let served: ServedTagger;
  let tagger: LocalTagger;
  let h: Harness;
  let client: IpcClient;
  const serve = (list: { items: any[] }): void => {
    fake.body = JSON.stringify(list);
  };

  beforeAll(async () => {
    fake = await FakeKubelet.start();
    serve(withInitContainer(freshList()));
    const collector = new KubeletCollector({
      client: new KubeletClient({ url: fake.url, tlsVerify: true, timeoutMs: 2_000 }),
      extract: kubeletExtractOptions(),
      pollIntervalMs: 50,
      autodetect: false,
      minRepollIntervalMs: 20,
    });
    served = await serveTagger([collector], 300);
    ({ tagger, client, harness: h } = served);
  });
  afterAll(async () => {
    await served?.close();
    await fake?.close();
  });

  it('external data: a regular container, an init container with it-true, the pod when the name is not of that kind', async () => {
    const regular = await client.origin({ externalData: `it-false,cn-php-apache,pu-${HPA_UID}` }, 'orchestrator');
    expect(regular).toMatchObject({ external_data: `it-false,cn-php-apache,pu-${HPA_UID}`, container_id: HPA_CONTAINER, entity: `container_id://${HPA_CONTAINER}` });
    expect(regular.tags).toEqual(expect.arrayContaining(['kube_container_name:php-apache', 'pod_name:e2e-hpa-6cd8d99884-tggnr']));
    expect(await client.origin({ externalData: `it-true,cn-wait-for-db,pu-${HPA_UID}` })).toMatchObject({ container_id: INIT_CONTAINER, entity: `container_id://${INIT_CONTAINER}` });
    expect(await client.origin({ externalData: `cn-wait-for-db,pu-${HPA_UID},it-false` })).toMatchObject({ container_id: null, entity: `kubernetes_pod_uid://${HPA_UID}` });
    const unknown = await client.origin({ externalData: 'it-false,cn-php-apache,pu-00000000-0000-0000-0000-000000000000' });
    expect(unknown).toEqual({ external_data: 'it-false,cn-php-apache,pu-00000000-0000-0000-0000-000000000000', container_id: null, entity: null, tags: [] });
  });

  it('pod UID and container name, init containers included; the library gives the same', async () => {
    expect(await client.origin({ podUid: HPA_UID, containerName: 'wait-for-db' })).toMatchObject({ pod_uid: HPA_UID, container_name: 'wait-for-db', container_id: INIT_CONTAINER });
    expect(tagger.resolveOrigin({ podUid: HPA_UID, containerName: 'php-apache' })).toEqual({ containerId: HPA_CONTAINER, entity: `container_id://${HPA_CONTAINER}` });
    expect(tagger.resolveOrigin({ externalData: `it-true,cn-wait-for-db,pu-${HPA_UID}` })?.containerId).toBe(INIT_CONTAINER);
    expect(tagger.resolveOrigin({ podUid: HPA_UID, containerName: 'nope' })).toEqual({ containerId: null, entity: `kubernetes_pod_uid://${HPA_UID}` });
  });

  it('a pod IP gives the pod; the node IP of the host-network pods gives nothing', async () => {
    const pod = await client.origin({ ip: '10.244.0.6' }, 'orchestrator');
    expect(pod).toMatchObject({ ip: '10.244.0.6', container_id: null, entity: `kubernetes_pod_uid://${HPA_UID}` });
    expect(pod.tags).toContain('pod_name:e2e-hpa-6cd8d99884-tggnr');
    expect(await client.origin({ ip: '::ffff:10.244.0.6' })).toMatchObject({ ip: '10.244.0.6', entity: `kubernetes_pod_uid://${HPA_UID}` });
    // kube-proxy, etcd, kindnet, the control plane and a hostNetwork Deployment all report 192.168.67.2.
    expect(await client.origin({ ip: '192.168.67.2' })).toEqual({ ip: '192.168.67.2', container_id: null, entity: null, tags: [] });
    expect(tagger.resolveOrigin({ ip: '10.244.0.99' })).toBeUndefined();
    // 24 pods, 8 of them on the host network: 16 addresses; every pod has containers, and each
    // running container has facts of its own (its cgroup paths).
    const running = freshList().items.flatMap((p: { status: { containerStatuses?: Array<{ state: { running?: unknown } }> } }) => p.status.containerStatuses ?? []).filter((c) => c.state.running !== undefined).length;
    expect(running).toBeGreaterThan(0);
    const metrics = await rawRequest(h.socket, '/metrics');
    expect(metrics.body).toContain('tagger_origin_index{what="ips"} 16');
    expect(metrics.body).toContain(`tagger_origin_index{what="entities"} ${24 + running}`);
  });

  it('bad origins are 400 naming the parameter', async () => {
    for (const [query, parameter] of [
      ['external_data=it-maybe,cn-a,pu-u', 'external_data'],
      ['external_data=cn-a', 'external_data'],
      [`pod_uid=${HPA_UID}&ip=10.244.0.6`, 'ip'],
      ['container_name=php-apache', 'pod_uid'],
      ['ip=10.244.0', 'ip'],
    ] as const) {
      const res = await rawRequest(h.socket, `/v1/origin?${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.body), query).toMatchObject({ parameter });
    }
  });

  it('an address the kubelet reports on a later poll, with nothing else changed, is indexed then', async () => {
    const without = withInitContainer(freshList());
    const pod = without.items.find((p) => p.metadata.uid === HPA_UID);
    delete pod.status.podIP;
    delete pod.status.podIPs;
    serve(without);
    await until(() => tagger.resolveOrigin({ ip: '10.244.0.6' }) === undefined, 5_000, 'the address gone');
    serve(withInitContainer(freshList()));
    await until(() => tagger.resolveOrigin({ ip: '10.244.0.6' }) !== undefined, 5_000, 'the address back');
    expect(tagger.resolveOrigin({ ip: '10.244.0.6' })?.entity).toBe(`kubernetes_pod_uid://${HPA_UID}`);
  });

  it('an IP reused by a newer pod resolves to the newer one only; the old pod\'s going takes nothing of the new one', async () => {
    // The old pod is still listed (terminating, its status keeps the IP) when the new one gets the address.
    const both = withInitContainer(freshList());
    both.items.push(newPodOnSameIp(both));
    serve(both);
    await until(() => tagger.resolveOrigin({ ip: '10.244.0.6' })?.entity === `kubernetes_pod_uid://${NEW_UID}`, 5_000, 'the new pod holds the IP');
    // The old pod's own forms still find it while it exists.
    expect(tagger.resolveOrigin({ podUid: HPA_UID, containerName: 'php-apache' })?.containerId).toBe(HPA_CONTAINER);
    // Then it leaves the list: deleted, then pruned after its grace.
    const after = freshList();
    const replacement = newPodOnSameIp(after);
    after.items = after.items.filter((p) => p.metadata.uid !== HPA_UID);
    after.items.push(replacement);
    serve(after);
    await until(() => tagger.resolveOrigin({ podUid: HPA_UID }) === undefined, 5_000, 'the old pod pruned');
    expect(tagger.resolveOrigin({ externalData: `it-true,cn-wait-for-db,pu-${HPA_UID}` })).toBeUndefined();
    expect(tagger.resolveOrigin({ ip: '10.244.0.6' })).toEqual({ containerId: null, entity: `kubernetes_pod_uid://${NEW_UID}` });
    expect(await client.origin({ externalData: `it-false,cn-php-apache,pu-${NEW_UID}` })).toMatchObject({ container_id: NEW_CONTAINER });
    expect(tagger.origins.index.sizes.entities).toBeLessThanOrEqual(tagger.store.size);
  });
});
