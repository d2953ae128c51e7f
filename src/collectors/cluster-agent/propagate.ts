/**
 * Puts a pod's cluster tags (kube_service, namespace tags) on the pod and on each of its
 * containers, as source `cluster` at the cluster-orchestrator priority. Pure bookkeeping: it
 * returns the TagInfos to push and does no I/O.
 *
 * Where the tags come from (a cluster instance's stream, or this node's own API-server watch)
 * and where pod -> containers comes from (the kubelet collector's last good poll) are the
 * caller's. A container that starts after its pod's cluster tags arrived gets them when the
 * index reports its pod changed; a pod whose cluster tags change re-tags all its containers.
 *
 * Clearing never deletes: cluster tags that go away are replaced by an empty entry, so the
 * entity the node's own collectors report stays (a delete here would make the store remove it
 * after its grace, whatever the kubelet says). An entity the store does not know is never
 * created just to be cleared.
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../entity.js';
import { SourcePriority, type EntityId, type MergedTags, type TagInfo } from '../../types.js';
import { CLUSTER_SOURCE } from '../kubernetes/extract.js';
import type { PodContainerIndex } from './ports.js';

const EMPTY: MergedTags = Object.freeze({ low: [], orchestrator: [], high: [], standard: [] });

interface PodState {
  tags: MergedTags;
  /** Containers this pod's tags were last put on. */
  containers: readonly EntityId[];
}

export class ClusterTagPropagator {
  private readonly pods = new Map<string, PodState>();
  private global: MergedTags | undefined;

  constructor(
    private readonly index: PodContainerIndex,
    /** Whether the store holds an entity (clears are only sent for those). */
    private readonly knows: (entity: EntityId) => boolean,
  ) {}

  /** Pods with cluster tags. */
  get podCount(): number {
    return this.pods.size;
  }

  /** The cluster tags of a pod arrived or changed. */
  setPod(podUid: string, tags: MergedTags): TagInfo[] {
    const containers = this.index.containersOf(podUid);
    const previous = this.pods.get(podUid);
    this.pods.set(podUid, { tags, containers });
    const out = [info(POD_PREFIX + podUid, tags), ...containers.map((id) => info(id, tags))];
    if (previous) out.push(...this.clearDropped(previous.containers, containers));
    return out;
  }

  /** The pod has no cluster tags any more (gone, or no longer this node's). */
  removePod(podUid: string): TagInfo[] {
    const previous = this.pods.get(podUid);
    if (!previous) return [];
    this.pods.delete(podUid);
    return [POD_PREFIX + podUid, ...previous.containers].filter(this.knows).map((id) => info(id, EMPTY));
  }

  /** The global entity's cluster tags (kube_cluster_name, orch_cluster_id). */
  setGlobal(tags: MergedTags): TagInfo[] {
    this.global = tags;
    return [info(GLOBAL_ENTITY_ID, tags)];
  }

  removeGlobal(): TagInfo[] {
    if (!this.global) return [];
    this.global = undefined;
    return [info(GLOBAL_ENTITY_ID, EMPTY)];
  }

  /** The kubelet saw these pods' containers change: tag the new ones. */
  containersChanged(podUids: readonly string[]): TagInfo[] {
    const out: TagInfo[] = [];
    for (const uid of podUids) {
      const state = this.pods.get(uid);
      if (!state) continue;
      const containers = this.index.containersOf(uid);
      const before = new Set(state.containers);
      for (const id of containers) if (!before.has(id)) out.push(info(id, state.tags));
      state.containers = containers;
    }
    return out;
  }

  /** After a full resync of the source: pods it no longer lists lose their tags. */
  retainOnly(podUids: ReadonlySet<string>): TagInfo[] {
    const out: TagInfo[] = [];
    for (const uid of [...this.pods.keys()]) if (!podUids.has(uid)) out.push(...this.removePod(uid));
    return out;
  }

  /** Containers the pod had and no longer has keep no stale cluster tags (a clear, if still known). */
  private clearDropped(before: readonly EntityId[], after: readonly EntityId[]): TagInfo[] {
    const kept = new Set(after);
    return before.filter((id) => !kept.has(id) && this.knows(id)).map((id) => info(id, EMPTY));
  }
}

function info(entity: EntityId, tags: MergedTags): TagInfo {
  return { source: CLUSTER_SOURCE, entity, low: tags.low, orchestrator: tags.orchestrator, high: tags.high, standard: tags.standard, priority: SourcePriority.ClusterOrchestrator };
}
