/**
 * The per-node filter of a cluster instance's `/v1/stream?node=NAME`: a node daemon gets the pods
 * scheduled on its node and the global entity, never the rest of the cluster.
 *
 * It is a filter over the one store, not a copy per node: the subscription only builds events for
 * entities that pass `matches()` (this node's pods, and the pods this stream has sent, so that one
 * leaving is seen), and `translate()` turns them into what the node must see. A pod that comes to
 * the node arrives as `added`, its changes as `modified`, and one that leaves (deleted, or no
 * longer on this node) as `deleted`. The only state per stream is the set of IDs it has sent.
 *
 * Where a pod runs comes from the API-server watch (PodPlacement). A pod's node changes without
 * its tags changing (a pod is bound to a node after it was created): placementEvents() makes the
 * events that send the pod's current tags or its deletion.
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../entity.js';
import type { PodPlacement } from '../collectors/cluster-agent/ports.js';
import type { EntityEvent, EntityId, EventEntity } from '../types.js';

export class NodeFilter {
  private readonly sent = new Set<EntityId>();

  constructor(
    readonly node: string,
    private readonly placement: PodPlacement,
  ) {}

  /** Entities this stream should hear about (the subscription's filter). */
  readonly matches = (id: EntityId): boolean => this.belongs(id) || this.sent.has(id);

  /** Entities sent so far and not deleted since. */
  get sentCount(): number {
    return this.sent.size;
  }

  /** The node's view of a batch of store events (snapshot or live). */
  translate(batch: readonly EntityEvent[]): EntityEvent[] {
    const out: EntityEvent[] = [];
    for (const event of batch) {
      const id = event.entity.id;
      if (event.type === 'deleted') {
        if (this.sent.delete(id)) out.push(event);
        continue;
      }
      const next = this.next(id, event.entity);
      if (next) out.push(next);
    }
    return out;
  }

  /**
   * Pods whose node changed, as store-like events for the subscription's queue (so they keep
   * their order with the store's own events, and translate() decides what the node sees):
   * `current(id)` gives the store's entity now, undefined when the store has none.
   */
  placementEvents(podUids: readonly string[], current: (id: EntityId) => EventEntity | undefined): EntityEvent[] {
    const out: EntityEvent[] = [];
    for (const uid of podUids) {
      const id = POD_PREFIX + uid;
      if (!this.matches(id)) continue;
      const entity = current(id);
      out.push(entity ? { type: 'modified', entity } : { type: 'deleted', entity: { id } });
    }
    return out;
  }

  private next(id: EntityId, entity: EventEntity): EntityEvent | undefined {
    if (this.belongs(id)) {
      if (this.sent.has(id)) return { type: 'modified', entity };
      this.sent.add(id);
      return { type: 'added', entity };
    }
    if (this.sent.delete(id)) return { type: 'deleted', entity: { id } };
    return undefined;
  }

  private belongs(id: EntityId): boolean {
    if (id === GLOBAL_ENTITY_ID) return true;
    return id.startsWith(POD_PREFIX) && this.placement.nodeOf(id.slice(POD_PREFIX.length)) === this.node;
  }
}
