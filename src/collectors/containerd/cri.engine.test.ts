/**
 * A Kubernetes-style pod made through containerd's CRI plugin, against a REAL containerd
 * (scripts/engines/start.sh; source /tmp/tagger-engines/env.sh first). The test plays the kubelet:
 * RunPodSandbox (host network, as no CNI is configured here), then CreateContainer and
 * StartContainer with the kubelet's labels, then StopContainer. A fake kubelet collector records
 * the fetches the containerd collector asks for.
 * Skipped when TAGGER_TEST_CONTAINERD_SOCKET is unset, unless TAGGER_REQUIRE_ENGINES=1.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_PREFIX } from '../../entity.js';
import { silentLogger } from '../../logger.js';
import type { TagStore } from '../../store/tag-store.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import type { EntityId } from '../../types.js';
import type { Collector, FetchResult } from '../collector.js';
import { ContainerdClient } from './client.js';
import { ContainerdCollector } from './collector.js';
import { CriClient, type PodSandboxConfig } from './test-support/cri-client.js';
import { waitForValue } from '../../test-support/wait.js';

const SOCKET = process.env.TAGGER_TEST_CONTAINERD_SOCKET;
const IMAGE = process.env.TAGGER_TEST_CONTAINERD_IMAGE ?? 'docker.io/local/busybox:latest';
const SANDBOX_IMAGE = process.env.TAGGER_TEST_CONTAINERD_SANDBOX_IMAGE ?? 'docker.io/local/pause:latest';
const REQUIRED = process.env.TAGGER_REQUIRE_ENGINES === '1';
if (REQUIRED && !SOCKET) throw new Error('TAGGER_REQUIRE_ENGINES=1 but TAGGER_TEST_CONTAINERD_SOCKET is unset: run scripts/engines/start.sh and source /tmp/tagger-engines/env.sh');

const GRACE = 1_500;
const POD = { name: `t7-cri-${process.pid}`, namespace: 'tagger-test', uid: randomUUID() };
const CONTAINER_NAME = 'app';
const KUBELET_LABELS = { 'io.kubernetes.pod.name': POD.name, 'io.kubernetes.pod.namespace': POD.namespace, 'io.kubernetes.pod.uid': POD.uid };
const SANDBOX_CONFIG: PodSandboxConfig = {
  metadata: { ...POD, attempt: 0 },
  labels: KUBELET_LABELS,
  // A host-network pod: no CNI here; such a pod may not set a hostname.
  linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
};

/** Stands in for the kubelet collector: can fetch containers, knows none, records each ask. */
class FakeKubelet implements Collector {
  readonly name = 'kubelet';
  readonly fetchPrefixes = [CONTAINER_PREFIX];
  readonly calls: Array<{ entity: EntityId; at: number }> = [];
  async fetch(entity: EntityId): Promise<FetchResult> {
    this.calls.push({ entity, at: performance.now() });
    return { found: false };
  }
  health(): { healthy: boolean; message: string } {
    return { healthy: true, message: 'fake' };
  }
}

/** When each container entity was first added and last deleted in the store, from its events. */
function watchStore(store: TagStore): { added: Map<EntityId, number>; deleted: Map<EntityId, number>; seen: Set<EntityId>; close: () => void } {
  const sub = store.subscribe({ cardinality: 'high', prefixes: [CONTAINER_PREFIX], name: 'cri-test' });
  const added = new Map<EntityId, number>();
  const deleted = new Map<EntityId, number>();
  const seen = new Set<EntityId>();
  void (async () => {
    for await (const batch of sub) {
      const now = performance.now();
      for (const e of batch) {
        seen.add(e.entity.id);
        if (e.type === 'added' && !added.has(e.entity.id)) added.set(e.entity.id, now);
        if (e.type === 'deleted') deleted.set(e.entity.id, now);
      }
    }
  })();
  return { added, deleted, seen, close: () => sub.close() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const waitFor = <T,>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> => waitForValue(check, what, timeoutMs);

describe.skipIf(!SOCKET)('containerd collector and a CRI pod (real containerd)', { timeout: 25_000 }, () => {
  const socket = SOCKET as string;
  let tagger: LocalTagger;
  let collector: ContainerdCollector;
  let kubelet: FakeKubelet;
  let cri: CriClient;
  let inspect: ContainerdClient;
  let watch: ReturnType<typeof watchStore>;
  let sandboxId: string | undefined;
  let containerId: string | undefined;
  const t: Record<string, number> = {};

  beforeAll(async () => {
    collector = new ContainerdCollector({
      api: new ContainerdClient({ socket }),
      socket,
      namespaces: ['k8s.io'],
      backoff: { initialMs: 100, maxMs: 1_000 },
    });
    kubelet = new FakeKubelet();
    tagger = new LocalTagger({ collectors: [collector, kubelet], deletionGraceMs: GRACE, pruneIntervalMs: 50, logger: silentLogger });
    watch = watchStore(tagger.store);
    await tagger.start();
    await tagger.ready();
    await waitFor(() => collector.health().healthy, 'containerd collector connected');
    cri = new CriClient(socket);
    inspect = new ContainerdClient({ socket });
  });

  afterAll(async () => {
    // Whatever happened above: leave no pod behind in the shared containerd.
    try {
      if (containerId) {
        await cri.stopContainer(containerId, 0).catch(() => undefined);
        await cri.removeContainer(containerId).catch(() => undefined);
      }
      if (sandboxId) {
        await cri.stopPodSandbox(sandboxId).catch(() => undefined);
        await cri.removePodSandbox(sandboxId).catch(() => undefined);
      }
    } finally {
      cri?.close();
      inspect?.close();
      watch?.close();
      await tagger?.stop();
    }
  });

  it('skips the sandbox and tags the container with its pod tags when its task starts, asking the kubelet at once', async () => {
    sandboxId = await cri.runPodSandbox(SANDBOX_CONFIG);
    // The sandbox is real and is what the collector must skip: CRI's kind label, the pause image.
    const sandbox = await inspect.getContainer('k8s.io', sandboxId);
    expect(sandbox?.labels['io.cri-containerd.kind']).toBe('sandbox');
    expect(sandbox?.image).toBe(SANDBOX_IMAGE);

    t.createCalled = performance.now();
    containerId = await cri.createContainer(
      sandboxId,
      {
        metadata: { name: CONTAINER_NAME, attempt: 0 },
        image: { image: IMAGE },
        command: ['sleep', '1000'],
        envs: [{ key: 'DD_ENV', value: 'cri' }],
        labels: { ...KUBELET_LABELS, 'io.kubernetes.container.name': CONTAINER_NAME },
      },
      SANDBOX_CONFIG,
    );
    t.createReturned = performance.now();
    t.startCalled = performance.now();
    await cri.startContainer(containerId);
    t.startReturned = performance.now();
    const id = containerId;
    const entity = `${CONTAINER_PREFIX}${id}`;
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const high = await waitFor(() => tagger.store.lookup(entity, 'high'), 'the container tagged');
    t.visible = watch.added.get(entity) ?? performance.now();
    // image_id: the image's config digest, read from containerd as the Agent's containerd collector does.
    expect(high.filter((tag) => tag.startsWith('image_id:'))).toEqual([expect.stringMatching(/^image_id:sha256:[0-9a-f]{64}$/)]);
    expect(high.filter((tag) => !tag.startsWith('image_id:')).sort()).toEqual(
      [
        `kube_namespace:${POD.namespace}`,
        `pod_name:${POD.name}`,
        `kube_container_name:${CONTAINER_NAME}`,
        `container_name:${CONTAINER_NAME}`,
        `container_id:${id}`,
        `image_name:${IMAGE.replace(/:[^:/]+$/, '')}`,
        'image_tag:latest',
        'short_image:busybox',
        'env:cri',
      ].sort(),
    );
    // Cardinalities: pod_name is orchestrator, container_id and container_name high.
    const low = tagger.store.lookup(entity, 'low') ?? [];
    const orch = tagger.store.lookup(entity, 'orchestrator') ?? [];
    expect(low).toContain(`kube_namespace:${POD.namespace}`);
    expect(low).toContain(`kube_container_name:${CONTAINER_NAME}`);
    expect(low).not.toContain(`pod_name:${POD.name}`);
    expect(orch).toContain(`pod_name:${POD.name}`);
    expect(orch).not.toContain(`container_id:${id}`);
    expect(tagger.store.getEntity(entity)?.sources).toHaveProperty('containerd');

    // The pod is unknown to the store, so the task start asks the kubelet collector for the container.
    const call = await waitFor(() => kubelet.calls.find((c) => c.entity === entity), 'the kubelet asked to fetch the container');
    expect(kubelet.calls.map((c) => c.entity)).toEqual([entity]);
    expect(collector.counters.kubeletRequests).toBe(1);
    t.kubeletAsked = call.at;

    // The sandbox got nothing, not even a passing entry.
    expect(watch.seen.has(`${CONTAINER_PREFIX}${sandboxId}`)).toBe(false);
    expect(tagger.store.has(`${CONTAINER_PREFIX}${sandboxId}`)).toBe(false);

    const ms = (a: number, b: number): string => `${(a - b).toFixed(1)} ms`;
    console.info(
      `CRI pod: tags visible ${ms(t.visible, t.createReturned)} after CreateContainer returned, ` +
        `${ms(t.visible, t.startReturned)} after StartContainer returned; kubelet asked ${ms(t.kubeletAsked, t.startReturned)} after StartContainer returned ` +
        `(CreateContainer took ${ms(t.createReturned, t.createCalled)}, StartContainer ${ms(t.startReturned, t.startCalled)})`,
    );
    // Queryable no later than its task start is handled (the create event already pushed them).
    expect(t.visible).toBeLessThanOrEqual(t.kubeletAsked);
  });

  it('after StopContainer the tags stay through the grace, then go', async () => {
    if (!containerId) throw new Error('no container: the previous case failed');
    const entity = `${CONTAINER_PREFIX}${containerId}`;
    t.stopCalled = performance.now();
    await cri.stopContainer(containerId, 0); // no grace period: SIGKILL
    t.stopReturned = performance.now();
    const pending = await waitFor(() => tagger.store.getEntity(entity)?.pendingDelete, 'a pending delete');
    expect(pending.sources).toEqual(['containerd']);
    expect(collector.exitOf(entity)?.exitCode).toBe(137);
    // Still queryable during the grace.
    expect(tagger.store.lookup(entity, 'orchestrator')).toContain(`pod_name:${POD.name}`);
    await sleep(GRACE / 2);
    expect(tagger.store.lookup(entity, 'high')).toContain(`container_id:${containerId}`);

    await waitFor(() => tagger.store.lookup(entity, 'high') === undefined, 'tags gone after the grace', GRACE + 3_000);
    const gone = watch.deleted.get(entity) ?? performance.now();
    expect(Date.now()).toBeGreaterThanOrEqual(pending.removeAfter - 50);
    // Gone about one grace after the stop: not before it, and not much later (prune runs every 50 ms).
    expect(gone - t.stopCalled).toBeGreaterThanOrEqual(GRACE - 50);
    expect(gone - t.stopReturned).toBeLessThan(GRACE + 1_000);
    console.info(`CRI pod: StopContainer took ${(t.stopReturned - t.stopCalled).toFixed(1)} ms; tags gone ${(gone - t.stopReturned).toFixed(0)} ms after it returned (grace ${GRACE} ms)`);
  });
});
