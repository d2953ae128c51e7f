import { describe, expect, it } from 'vitest';
import { GLOBAL_ENTITY_ID } from '../entity.js';
import { TagStore } from '../store/tag-store.js';
import type { EntityEvent, EventEntity, TagInfo } from '../types.js';
import type { PodPlacement } from '../collectors/cluster-agent/ports.js';
import { NodeFilter } from './node-filter.js';

const pod = (uid: string): string => `kubernetes_pod_uid://${uid}`;
const info = (entity: string, ...low: string[]): TagInfo => ({ source: 'cluster', entity, low, orchestrator: [], high: [], standard: [] });

class Placement implements PodPlacement {
  readonly nodes = new Map<string, string>();
  nodeOf(uid: string): string | undefined {
    return this.nodes.get(uid);
  }
}

function summary(events: readonly EntityEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.entity.id}${e.type === 'deleted' ? '' : ` ${e.entity.tags.low.join(',')}`}`);
}

function setup(): { store: TagStore; placement: Placement; filter: NodeFilter; next: () => string[] } {
  const store = new TagStore();
  const placement = new Placement();
  const filter = new NodeFilter('node-a', placement);
  const sub = store.subscribe({ cardinality: 'high', filter: filter.matches, snapshot: false });
  const next = (): string[] => summary(filter.translate(sub.drain().flat()));
  return { store, placement, filter, next };
}

describe('NodeFilter', () => {
  it('lets through only its node’s pods and the global entity; the store builds no event for the rest', () => {
    const { store, placement, filter, next } = setup();
    placement.nodes.set('a1', 'node-a');
    placement.nodes.set('b1', 'node-b');
    store.processTagInfo([info(pod('a1'), 'kube_service:web'), info(pod('b1'), 'kube_service:db'), info(GLOBAL_ENTITY_ID, 'kube_cluster_name:prod')]);
    expect(next()).toEqual([`added ${pod('a1')} kube_service:web`, `added ${GLOBAL_ENTITY_ID} kube_cluster_name:prod`]);
    store.processTagInfo([info(pod('a1'), 'kube_service:api'), info(pod('b1'), 'kube_service:x')]);
    expect(next()).toEqual([`modified ${pod('a1')} kube_service:api`]);
    expect(filter.sentCount).toBe(2);
  });

  it('a pod that leaves the node is deleted, one that comes is added; a deleted pod is deleted once', () => {
    const { store, placement, next } = setup();
    placement.nodes.set('p', 'node-a');
    store.processTagInfo([info(pod('p'), 'kube_service:web')]);
    expect(next()).toEqual([`added ${pod('p')} kube_service:web`]);
    placement.nodes.set('p', 'node-b');
    store.processTagInfo([info(pod('p'), 'kube_service:api')]);
    expect(next()).toEqual([`deleted ${pod('p')}`]);
    placement.nodes.set('p', 'node-a');
    store.processTagInfo([info(pod('p'), 'kube_service:web')]);
    expect(next()).toEqual([`added ${pod('p')} kube_service:web`]);
    store.remove(pod('p'));
    expect(next()).toEqual([`deleted ${pod('p')}`]);
    store.remove(pod('other'));
    expect(next()).toEqual([]);
  });

  it('placementEvents(): a pod bound to the node with unchanged tags is sent whole; one that left is deleted', () => {
    const { store, placement, filter, next } = setup();
    store.processTagInfo([info(pod('p'), 'kube_namespace_team:shop')]);
    expect(next()).toEqual([]);
    const current = (id: string): EventEntity | undefined => {
      const e = store.getEntity(id);
      return e && { id, tags: e.tags };
    };
    const moved = (uid: string): string[] => summary(filter.translate(filter.placementEvents([uid], current)));
    // Told of a pod that is not (and was not) on the node: nothing.
    expect(filter.placementEvents(['p'], current)).toEqual([]);
    placement.nodes.set('p', 'node-a');
    expect(moved('p')).toEqual([`added ${pod('p')} kube_namespace_team:shop`]);
    placement.nodes.delete('p');
    expect(moved('p')).toEqual([`deleted ${pod('p')}`]);
    placement.nodes.set('gone', 'node-a');
    expect(moved('gone')).toEqual([]);
  });

  it('filters the snapshot the same way', () => {
    const store = new TagStore();
    const placement = new Placement();
    placement.nodes.set('a1', 'node-a');
    store.processTagInfo([info(pod('a1'), 'x:1'), info(pod('b1'), 'x:2'), info(`container_id://${'c'.repeat(64)}`, 'x:3')]);
    const filter = new NodeFilter('node-a', placement);
    const sub = store.subscribe({ cardinality: 'low', filter: filter.matches, snapshot: false });
    const snapshot = [...store.snapshotBatches(sub)].flatMap((b) => filter.translate(b));
    expect(summary(snapshot)).toEqual([`added ${pod('a1')} x:1`]);
  });
});
