import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerCgroupPaths, podOrigin, podOriginFingerprint } from './origin.js';

type Pod = Record<string, Record<string, unknown>> & { metadata: { name: string } };
const load = (name: string) => (JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')) as { items: Pod[] }).items;
const real = load('pods_k8s-1.35_containerd.json');
const byName = (items: Pod[], name: string): Pod => {
  const pod = items.find((p) => p.metadata.name === name);
  if (!pod) throw new Error(`no pod ${name} in the fixture`);
  return pod;
};

describe('podOrigin on a real kubelet 1.35 /pods (containerd)', () => {
  it('a pod on the pod network: its address and its container by name', () => {
    expect(podOrigin(byName(real, 'e2e-hpa-6cd8d99884-tggnr'))).toEqual({
      podContainers: [{ name: 'php-apache', kind: 'regular', entity: 'container_id://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83' }],
      ips: ['10.244.0.6'],
    });
  });
  it('host-network pods (kube-proxy, etcd, a hostNetwork Deployment) have containers but no address', () => {
    for (const name of ['kube-proxy-8k9zt', 'etcd-datagen-1-35', 'e2e-scraper-5f97dc94d8-vkcjl']) {
      const facts = podOrigin(byName(real, name));
      expect(facts?.ips).toBeUndefined();
      expect(facts?.podContainers?.length).toBe(1);
    }
  });
  it('every pod of the payload: addresses are unique to one pod, and none is the node\'s', () => {
    const holders = new Map<string, number>();
    for (const pod of real) for (const ip of podOrigin(pod)?.ips ?? []) holders.set(ip, (holders.get(ip) ?? 0) + 1);
    expect(holders.size).toBe(16); // the 24 pods less the 8 on the host network
    expect([...holders.values()].every((n) => n === 1)).toBe(true);
    expect(holders.has('192.168.67.2')).toBe(false);
  });
});

describe('podOrigin: init and ephemeral containers (pods_synthetic.json)', () => {
  const synthetic = load('pods_synthetic.json');
  it('each container with its kind', () => {
    const facts = podOrigin(byName(synthetic, 'web-7d4b9c7f5d-x2k4q'));
    const kinds = Object.fromEntries((facts?.podContainers ?? []).map((c) => [c.name, c.kind]));
    expect(kinds).toMatchObject({ migrate: 'init', debugger: 'ephemeral' });
    expect(Object.values(kinds)).toContain('regular');
  });
  it('a container without an ID yet is left out; an item that is no pod has nothing', () => {
    expect(podOrigin({ status: { containerStatuses: [{ name: 'app' }] } })).toBeUndefined();
    expect(podOrigin('nope')).toBeUndefined();
  });
});

describe('podOriginFingerprint', () => {
  it('changes when the pod gets an address or turns to the host network', () => {
    const pod = byName(real, 'e2e-hpa-6cd8d99884-tggnr');
    const base = podOriginFingerprint(pod);
    expect(podOriginFingerprint({ ...pod, status: { ...pod.status, podIP: undefined, podIPs: undefined } })).not.toBe(base);
    expect(podOriginFingerprint({ ...pod, spec: { ...pod.spec, hostNetwork: true } })).not.toBe(base);
    expect(podOriginFingerprint(structuredClone(pod))).toBe(base);
  });
});

describe('containerCgroupPaths', () => {
  it("a running container's cgroup directory under either driver, by the pod's QoS class and UID (real containerd pod)", () => {
    const pod = byName(real, 'e2e-hpa-6cd8d99884-tggnr');
    const id = '77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83';
    // Written from the kubelet's layout: systemd `kubepods-burstable-pod<uid with _>.slice` and the
    // runtime's `cri-containerd-<id>.scope`; cgroupfs `/kubepods/burstable/pod<uid>/<id>`.
    expect([...containerCgroupPaths(pod)]).toEqual([
      [
        `container_id://${id}`,
        [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3ea3ef66_5f89_43b7_b88b_6ee26f5b18a4.slice/cri-containerd-${id}.scope`, `/kubepods/burstable/pod3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4/${id}`],
      ],
    ]);
  });

  it('CRI-O and Guaranteed pods; every class when none is given; nothing for a container not running or a malformed pod', () => {
    const id = 'ab'.repeat(32);
    const running = { name: 'c', containerID: `cri-o://${id}`, state: { running: { startedAt: 'x' } } };
    const pod = (status: Record<string, unknown>) => ({ metadata: { uid: '11-22' }, status });
    expect(containerCgroupPaths(pod({ qosClass: 'Guaranteed', containerStatuses: [running] })).get(`container_id://${id}`)).toEqual([`/kubepods.slice/kubepods-pod11_22.slice/crio-${id}.scope`, `/kubepods/pod11-22/${id}`]);
    expect(containerCgroupPaths(pod({ containerStatuses: [running] })).get(`container_id://${id}`)).toHaveLength(6);
    expect(containerCgroupPaths(pod({ containerStatuses: [{ ...running, state: { waiting: {} } }] })).size).toBe(0);
    expect(containerCgroupPaths(pod({ containerStatuses: [{ ...running, containerID: 'cri-o://../../etc' }] })).size).toBe(0);
    expect(containerCgroupPaths({ metadata: { uid: '../x' }, status: { containerStatuses: [running] } }).size).toBe(0);
    expect(containerCgroupPaths('garbage').size).toBe(0);
  });
});
