import { describe, expect, it } from 'vitest';
import { compileRules } from '../../rules.js';
import { specEnv } from './client.js';
import { containerName, extractContainer, isSandbox, podEntityOf } from './extract.js';
import { loadRecording, toWireContainer } from './test-support/fake-containerd.js';
import type { ContainerRecord } from './types.js';

const rec = loadRecording('ctr-session-1.6.json');

function recorded(key: string): ContainerRecord {
  const raw = rec.containers[key];
  if (!raw) throw new Error(key);
  const wire = toWireContainer(raw);
  return { namespace: key.split('/')[0] as string, id: wire.id, labels: wire.labels, image: wire.image, env: specEnv(wire.spec?.value ?? Buffer.alloc(0)) ?? [] };
}

describe('extractContainer', () => {
  it('tags a ctr-run container from its image, labels and OCI env (recorded rec-exit)', () => {
    const info = extractContainer(recorded('default/rec-exit'), { source: 'containerd' });
    expect(info.entity).toBe('container_id://rec-exit');
    expect(info.low).toEqual([
      'env:prod',
      'image_name:docker.io/local/busybox',
      'image_tag:latest',
      'short_image:busybox',
      'version:1.2',
    ]);
    expect(info.orchestrator).toEqual([]);
    expect(info.high).toEqual(['container_id:rec-exit', 'container_name:rec-exit']);
    expect(info.standard).toEqual(['env:prod', 'version:1.2']);
  });

  it('applies labels_as_tags and env_as_tags; other env never becomes a tag', () => {
    const c = recorded('default/rec-running');
    const info = extractContainer(c, {
      source: 'containerd',
      labelRules: compileRules({ team: 'team' }, 'label', 'containerd.labels_as_tags'),
      envRules: compileRules({ dd_version: '+app_version' }, 'env', 'containerd.env_as_tags'),
    });
    expect(info.low).toContain('team:platform');
    expect(info.low).toContain('env:staging');
    expect(info.low).toContain('service:web');
    expect(info.high).toContain('app_version:2.1');
    expect([...info.low, ...info.high].join(',')).not.toContain('hunter2');
  });

  it('gives a Kubernetes container its pod tags from kubelet labels', () => {
    const info = extractContainer(
      {
        id: 'a'.repeat(64),
        image: 'registry.k8s.io/e2e-test-images/agnhost:2.39',
        env: [],
        labels: {
          'io.kubernetes.pod.name': 'web-0',
          'io.kubernetes.pod.namespace': 'shop',
          'io.kubernetes.pod.uid': '0b7c5b5e-3a3e-4f0e-9a53-2a5c1e4d8f10',
          'io.kubernetes.container.name': 'app',
          'io.cri-containerd.kind': 'container',
        },
      },
      { source: 'containerd' },
    );
    expect(info.low).toEqual(expect.arrayContaining(['kube_namespace:shop', 'kube_container_name:app', 'short_image:agnhost', 'image_tag:2.39']));
    expect(info.orchestrator).toEqual(['pod_name:web-0']);
    expect(info.high).toEqual([`container_id:${'a'.repeat(64)}`, 'container_name:app']);
  });

  const plain = (over: Partial<Parameters<typeof extractContainer>[0]>): Parameters<typeof extractContainer>[0] => ({ id: 'c1', image: 'docker.io/library/redis:7', env: [], labels: {}, ...over });

  it('no docker_image (Docker runtime only); a digest-only reference is image_tag:latest (NewContainerImage)', () => {
    const info = extractContainer(plain({ image: `docker.io/library/redis@sha256:${'ab'.repeat(32)}` }), { source: 'containerd' });
    expect(info.low).toEqual(['image_name:docker.io/library/redis', 'image_tag:latest', 'short_image:redis']);
  });

  it('image_id from the image config digest when supplied', () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    expect(extractContainer(plain({ imageId: digest }), { source: 'containerd' }).low).toContain(`image_id:${digest}`);
  });

  it('the labels every runtime reads: OCI git labels, swarm/rancher, com.datadoghq.ad.tags at high', () => {
    const info = extractContainer(
      plain({
        labels: {
          'org.opencontainers.image.revision': 'abc123',
          'org.opencontainers.image.source': 'https://github.com/acme/web',
          'com.docker.swarm.service.name': 'web_api',
          'io.rancher.container.name': 'r1',
          'com.datadoghq.ad.tags': '["team:core","bad:a:b"]',
        },
      }),
      { source: 'containerd' },
    );
    expect(info.low).toEqual(expect.arrayContaining(['git.commit.sha:abc123', 'git.repository_url:https://github.com/acme/web', 'swarm_service:web_api']));
    expect(info.high).toEqual(expect.arrayContaining(['rancher_container:r1', 'team:core']));
    expect(info.high.some((t) => t.startsWith('bad'))).toBe(false);
  });

  it('the env every runtime reads: OTEL standard tags, DD_GIT_*, nomad and mesos', () => {
    const info = extractContainer(
      plain({ env: ['OTEL_SERVICE_NAME=api', 'OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod', 'DD_GIT_COMMIT_SHA=abc', 'NOMAD_JOB_NAME=cache', 'MESOS_TASK_ID=t.1'] }),
      { source: 'containerd' },
    );
    expect(info.standard).toEqual(['env:prod', 'service:api']);
    expect(info.low).toEqual(expect.arrayContaining(['git.commit.sha:abc', 'nomad_job:cache']));
    expect(info.orchestrator).toEqual(['mesos_task:t.1']);
  });
});

describe('helpers', () => {
  it('recognises sandboxes by CRI label or pause image', () => {
    expect(isSandbox({ labels: { 'io.cri-containerd.kind': 'sandbox' }, image: 'docker.io/local/busybox:latest' })).toBe(true);
    expect(isSandbox({ labels: {}, image: 'registry.k8s.io/pause:3.9' })).toBe(true);
    expect(isSandbox({ labels: { 'io.cri-containerd.kind': 'container' }, image: 'docker.io/library/redis:7' })).toBe(false);
  });

  it('names a container by kubelet, then nerdctl, else its ID', () => {
    expect(containerName({ id: 'x', labels: { 'nerdctl/name': 'web' } })).toBe('web');
    expect(containerName({ id: 'x', labels: { 'io.kubernetes.container.name': 'app', 'nerdctl/name': 'web' } })).toBe('app');
    expect(containerName({ id: 'x', labels: {} })).toBe('x');
  });

  it('finds the pod entity', () => {
    expect(podEntityOf({ 'io.kubernetes.pod.uid': 'u-1' })).toBe('kubernetes_pod_uid://u-1');
    expect(podEntityOf({})).toBeUndefined();
  });

  it('reads process.env from an OCI spec, undefined for non-JSON', () => {
    expect(specEnv(Buffer.from('{"process":{"env":["A=1",2,"B=2"]}}'))).toEqual(['A=1', 'B=2']);
    expect(specEnv(Buffer.from('{"linux":{}}'))).toEqual([]);
    expect(specEnv(Buffer.from('\x0a\x02{'))).toBeUndefined();
  });
});
