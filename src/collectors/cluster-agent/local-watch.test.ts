import { afterEach, describe, expect, it } from 'vitest';
import { GLOBAL_ENTITY_ID } from '../../entity.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { until } from '../../test-support/wait.js';
import type { EntityId, TagInfo } from '../../types.js';
import { LocalClusterWatch } from './local-watch.js';
import type { PodContainerIndex } from './ports.js';
import { FakeClusterCollector } from './test-support/fake-cluster-collector.js';

const C1 = `container_id://${'1'.repeat(64)}`;
const info = (entity: string, low: string[]): TagInfo => ({ source: 'kubelet', entity, low, orchestrator: [], high: [], standard: [] });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('LocalClusterWatch (kubernetes.enabled on a node)', () => {
  it('keeps this node’s pods, tags their containers, and follows a pod bound to the node later', async () => {
    const inner = new FakeClusterCollector();
    const index: PodContainerIndex = { containersOf: (uid) => (uid === 'mine' ? [C1] : []), onPodsChanged: () => () => undefined };
    inner.setPod('mine', ['kube_service:web'], 'node-a');
    inner.setPod('theirs', ['kube_service:db'], 'node-b');
    inner.setPod('later', ['kube_namespace_team:shop']);
    inner.setGlobal(['kube_cluster_name:prod']);
    const node = new LocalTagger({ collectors: [new LocalClusterWatch({ inner, index, node: 'node-a' })] });
    node.store.processTagInfo([info(C1, ['kube_namespace:shop'])]);
    await node.start();
    cleanups.push(() => node.stop());
    await node.ready();
    const low = (id: EntityId): string[] => [...node.tagSync(id, 'low')].sort();
    await until(() => low(C1).includes('kube_service:web'), 5_000, 'container tagged');
    expect(low('kubernetes_pod_uid://mine')).toEqual(['kube_service:web']);
    expect(node.store.has('kubernetes_pod_uid://theirs')).toBe(false);
    expect(node.store.has('kubernetes_pod_uid://later')).toBe(false);
    expect(low(GLOBAL_ENTITY_ID)).toEqual(['kube_cluster_name:prod']);

    inner.bind('later', 'node-a');
    await until(() => low('kubernetes_pod_uid://later').length > 0, 5_000, 'bound pod');
    expect(low('kubernetes_pod_uid://later')).toEqual(['kube_namespace_team:shop']);

    inner.setPod('mine', ['kube_service:api'], 'node-a');
    await until(() => low(C1).includes('kube_service:api'), 5_000, 'change');
    // Deleted upstream: cleared on the node, not deleted (the kubelet owns the entity).
    inner.deletePod('mine');
    await until(() => !low(C1).includes('kube_service:api'), 5_000, 'cleared');
    expect(low(C1)).toEqual(['kube_namespace:shop']);
    expect(node.store.pendingDeleteCount).toBe(0);
    expect(node.health().collectors.cluster?.message).toMatch(/node node-a: cluster tags for 1 pods/);
  });
});
