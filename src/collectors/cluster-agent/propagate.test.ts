import { describe, expect, it } from 'vitest';
import { GLOBAL_ENTITY_ID } from '../../entity.js';
import { SourcePriority, type EntityId, type MergedTags } from '../../types.js';
import type { PodContainerIndex } from './ports.js';
import { ClusterTagPropagator } from './propagate.js';

const POD = 'kubernetes_pod_uid://p1';
const C1 = `container_id://${'a'.repeat(64)}`;
const C2 = `container_id://${'b'.repeat(64)}`;

function tags(...low: string[]): MergedTags {
  return { low, orchestrator: [], high: [], standard: [] };
}

class Index implements PodContainerIndex {
  readonly containers = new Map<string, EntityId[]>();
  containersOf(uid: string): readonly EntityId[] {
    return this.containers.get(uid) ?? [];
  }
  onPodsChanged(): () => void {
    return () => undefined;
  }
}

describe('ClusterTagPropagator', () => {
  it('puts a pod’s cluster tags on the pod and each of its containers, at the cluster priority', () => {
    const index = new Index();
    index.containers.set('p1', [C1, C2]);
    const p = new ClusterTagPropagator(index, () => true);
    const infos = p.setPod('p1', tags('kube_service:web'));
    expect(infos.map((i) => i.entity)).toEqual([POD, C1, C2]);
    for (const info of infos) {
      expect(info).toMatchObject({ source: 'cluster', low: ['kube_service:web'], priority: SourcePriority.ClusterOrchestrator });
      expect(info.deleteEntity).toBeUndefined();
    }
  });

  it('tags a container that starts after its pod’s cluster tags arrived, and only the new one', () => {
    const index = new Index();
    index.containers.set('p1', [C1]);
    const p = new ClusterTagPropagator(index, () => true);
    p.setPod('p1', tags('kube_service:web'));
    index.containers.set('p1', [C1, C2]);
    const infos = p.containersChanged(['p1', 'unknown-pod']);
    expect(infos.map((i) => [i.entity, i.low])).toEqual([[C2, ['kube_service:web']]]);
  });

  it('clears (never deletes) the tags of a pod that leaves, only on entities the store knows', () => {
    const index = new Index();
    index.containers.set('p1', [C1, C2]);
    const known = new Set<string>([POD, C1]);
    const p = new ClusterTagPropagator(index, (id) => known.has(id));
    p.setPod('p1', tags('kube_service:web'));
    const infos = p.removePod('p1');
    expect(infos.map((i) => i.entity)).toEqual([POD, C1]);
    for (const info of infos) expect(info).toMatchObject({ low: [], orchestrator: [], high: [], standard: [] });
    expect(infos.some((i) => i.deleteEntity)).toBe(false);
    expect(p.removePod('p1')).toEqual([]);
  });

  it('clears a container the pod no longer has when the pod’s tags change', () => {
    const index = new Index();
    index.containers.set('p1', [C1, C2]);
    const p = new ClusterTagPropagator(index, () => true);
    p.setPod('p1', tags('kube_service:web'));
    index.containers.set('p1', [C2]);
    const infos = p.setPod('p1', tags('kube_service:api'));
    expect(infos.map((i) => [i.entity, i.low])).toEqual([
      [POD, ['kube_service:api']],
      [C2, ['kube_service:api']],
      [C1, []],
    ]);
  });

  it('retainOnly clears the pods a resync no longer lists', () => {
    const p = new ClusterTagPropagator(new Index(), () => true);
    p.setPod('p1', tags('a:1'));
    p.setPod('p2', tags('a:2'));
    expect(p.retainOnly(new Set(['p2'])).map((i) => i.entity)).toEqual([POD]);
    expect(p.podCount).toBe(1);
  });

  it('sets and clears the global entity', () => {
    const p = new ClusterTagPropagator(new Index(), () => true);
    expect(p.removeGlobal()).toEqual([]);
    expect(p.setGlobal(tags('kube_cluster_name:prod'))[0]).toMatchObject({ entity: GLOBAL_ENTITY_ID, low: ['kube_cluster_name:prod'] });
    expect(p.removeGlobal()[0]).toMatchObject({ entity: GLOBAL_ENTITY_ID, low: [] });
  });
});
