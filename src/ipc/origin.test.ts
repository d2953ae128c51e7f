import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupPathOf, containerIdFromCgroup, containerIdFromMountinfo } from './origin.js';

interface Cases {
  cases: Array<{ filename: string; expectedContainerId: string | null; content: string }>;
}
const load = (name: string): Cases => JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')) as Cases;

describe('containerIdFromCgroup on real /proc/self/cgroup captures (cgroup v1)', () => {
  for (const c of load('newrelic_docker_container_id.json').cases) {
    it(c.filename, () => {
      expect(containerIdFromCgroup(c.content)).toBe(c.expectedContainerId);
    });
  }
});

describe('containerIdFromCgroup, cgroup v2 single-line form', () => {
  const id = '84cf3472a20d1bfb4b50e48b6ff50d96dfcd812652d76dd907951e6f98997bce';
  it('systemd docker scope', () => {
    expect(containerIdFromCgroup(`0::/system.slice/docker-${id}.scope\n`)).toBe(id);
  });
  it('kubepods with cri-containerd scope', () => {
    expect(containerIdFromCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c.slice/cri-containerd-${id}.scope\n`)).toBe(id);
  });
  it('cgroupfs driver path', () => {
    expect(containerIdFromCgroup(`0::/docker/${id}\n`)).toBe(id);
  });
  it('ECS Fargate container ID', () => {
    expect(containerIdFromCgroup('0::/ecs/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef-1234567890\n')).toBe('0123456789abcdef0123456789abcdef-1234567890');
  });
  it('a host process or a namespaced root has none', () => {
    expect(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n')).toBeNull();
    expect(containerIdFromCgroup('0::/\n')).toBeNull();
  });
  it('hybrid: the v1 cpu line wins over the v2 line', () => {
    expect(containerIdFromCgroup(`4:cpu,cpuacct:/docker/${id}\n0::/system.slice/containerd.service\n`)).toBe(id);
  });
});

describe('containerIdFromMountinfo on real /proc/self/mountinfo captures (cgroup v2 hosts)', () => {
  for (const c of load('newrelic_docker_container_id_v2.json').cases) {
    it(c.filename, () => {
      expect(containerIdFromMountinfo(c.content)).toBe(c.expectedContainerId);
    });
  }
});

describe('cgroupPathOf', () => {
  // This machine's (hybrid: v1 controllers, an empty v2 tree) view of a dockerd 20.10 container.
  const hybrid = [
    '9:name=systemd:/docker/9d0da9652d1f',
    '4:memory:/docker/9d0da9652d1f',
    '1:cpu:/docker/9d0da9652d1f',
    '0::/docker/9d0da9652d1f',
    '',
  ].join('\n');
  it('the memory controller on v1 and hybrid hosts, the 0:: line on v2', () => {
    expect(cgroupPathOf(hybrid, 'memory')).toBe('/docker/9d0da9652d1f');
    expect(cgroupPathOf('0::/system.slice/docker-abc.scope\n', 'unified')).toBe('/system.slice/docker-abc.scope');
    expect(cgroupPathOf('11:memory,kmem:/kubepods/pod1/abc\n', 'memory')).toBe('/kubepods/pod1/abc');
  });
  it('null when the hierarchy is absent', () => {
    expect(cgroupPathOf('0::/x\n', 'memory')).toBeNull();
    expect(cgroupPathOf('4:memory:/x\n', 'unified')).toBeNull();
    expect(cgroupPathOf('', 'unified')).toBeNull();
  });
});
