import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GLOBAL_ENTITY_ID } from '../../entity.js';
import { RemoteTagger } from '../../tagger/remote-tagger.js';
import { IpcServer } from '../../ipc/server.js';
import { TOKEN, info, startHarness, tempDir, type Harness } from '../../ipc/test-support/harness.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { until } from '../../test-support/wait.js';
import type { EntityId } from '../../types.js';
import { ClusterAgentCollector } from './collector.js';
import type { PodContainerIndex } from './ports.js';

const UID = '0e2b4a1c-6b6f-4c4a-9d1e-1f2a3b4c5d6e';
const POD = `kubernetes_pod_uid://${UID}`;
const C1 = `container_id://${'1'.repeat(64)}`;
const C2 = `container_id://${'2'.repeat(64)}`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Pod -> containers as a kubelet collector would report it, changed by hand. */
class FakeIndex implements PodContainerIndex {
  readonly containers = new Map<string, EntityId[]>();
  private readonly listeners = new Set<(uids: readonly string[]) => void>();
  containersOf(uid: string): readonly EntityId[] {
    return this.containers.get(uid) ?? [];
  }
  onPodsChanged(listener: (uids: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(uid: string, ids: EntityId[]): void {
    this.containers.set(uid, ids);
    for (const l of this.listeners) l([uid]);
  }
}

interface Setup {
  cluster: Harness;
  node: LocalTagger;
  index: FakeIndex;
  collector: ClusterAgentCollector;
}

async function setup(): Promise<Setup> {
  const temp = tempDir();
  cleanups.push(() => temp.cleanup());
  const cluster = await startHarness({ dir: temp.dir, heartbeatMs: 200 });
  cleanups.push(() => cluster.close());
  const index = new FakeIndex();
  const feed = new RemoteTagger({ socket: cluster.socket, token: TOKEN, backoff: { initialMs: 20, maxMs: 100 }, readTimeoutMs: 1_000 });
  const collector = new ClusterAgentCollector({ feed, index, target: cluster.socket, readyWaitMs: 200 });
  const node = new LocalTagger({ collectors: [collector] });
  // The node's own collector (the kubelet) knows the pod and its containers.
  node.store.processTagInfo([info(POD, 'kubelet', ['kube_namespace:shop']), info(C1, 'kubelet', ['kube_namespace:shop'])]);
  index.containers.set(UID, [C1]);
  await node.start();
  cleanups.push(() => node.stop());
  return { cluster, node, index, collector };
}

const low = (t: LocalTagger, id: EntityId): string[] => [...t.tagSync(id, 'low')].sort();

describe('ClusterAgentCollector', () => {
  it('puts the instance’s pod tags on the pod and its containers, and follows changes', async () => {
    const { cluster, node, index } = await setup();
    cluster.tagger.store.processTagInfo([info(POD, 'cluster', ['kube_service:web']), info(GLOBAL_ENTITY_ID, 'cluster', ['kube_cluster_name:prod'])]);
    await node.ready();
    await until(() => low(node, C1).includes('kube_service:web'), 5_000, 'container tagged');
    expect(low(node, POD)).toEqual(['kube_namespace:shop', 'kube_service:web']);
    expect(node.tagSync(C1, 'low', { includeGlobal: true })).toContain('kube_cluster_name:prod');
    expect(node.getEntity(C1)?.sources.cluster?.low).toEqual(['kube_service:web']);

    // A container that starts after the pod's tags arrived.
    node.store.processTagInfo([info(C2, 'kubelet', ['kube_namespace:shop'])]);
    index.set(UID, [C1, C2]);
    await until(() => low(node, C2).includes('kube_service:web'), 5_000, 'late container tagged');

    cluster.tagger.store.processTagInfo([info(POD, 'cluster', ['kube_service:api'])]);
    await until(() => low(node, C2).includes('kube_service:api') && low(node, C1).includes('kube_service:api'), 5_000, 'change followed');
    expect(low(node, C1)).not.toContain('kube_service:web');

    // The pod leaves the instance's view: its cluster tags go, the kubelet's stay.
    cluster.tagger.store.remove(POD);
    await until(() => !low(node, C1).includes('kube_service:api'), 5_000, 'cleared');
    expect(low(node, C1)).toEqual(['kube_namespace:shop']);
    expect(node.store.pendingDeleteCount).toBe(0);
  });

  it('keeps the last cluster tags while the instance is away, and gets a change made meanwhile', async () => {
    const { cluster, node, collector } = await setup();
    cluster.tagger.store.processTagInfo([info(POD, 'cluster', ['kube_service:web'])]);
    await until(() => low(node, C1).includes('kube_service:web'), 5_000, 'container tagged');
    expect(collector.health().healthy).toBe(true);

    await cluster.server.stop(50);
    await until(() => !collector.health().healthy, 5_000, 'unhealthy while away');
    expect(collector.health().message).toMatch(/keeping the last cluster tags of 1 pods/);
    expect(low(node, C1)).toContain('kube_service:web');

    cluster.tagger.store.processTagInfo([info(POD, 'cluster', ['kube_service:api'])]);
    const again = new IpcServer({ tagger: cluster.tagger, socketPath: cluster.socket, token: TOKEN, processMetrics: false, heartbeatMs: 200 });
    await again.start();
    cleanups.push(() => again.stop(50));
    await until(() => low(node, C1).includes('kube_service:api'), 10_000, 'change after reconnect');
    expect(low(node, C1)).not.toContain('kube_service:web');
    expect(collector.health().healthy).toBe(true);
  });

  it('does not hold the node’s readiness when the instance is not there', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.cleanup());
    const feed = new RemoteTagger({ socket: join(temp.dir, 'absent.sock'), token: TOKEN, backoff: { initialMs: 20, maxMs: 100 } });
    const collector = new ClusterAgentCollector({ feed, index: new FakeIndex(), target: 'absent', readyWaitMs: 100 });
    const node = new LocalTagger({ collectors: [collector] });
    await node.start();
    cleanups.push(() => node.stop());
    const started = Date.now();
    await node.ready();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(node.health().collectors.cluster?.healthy).toBe(false);
  });
});
