/**
 * A small cluster's node daemon with `kubernetes.enabled: true`: it runs the API-server collector
 * itself, the same one a cluster instance runs, instead of following an instance. This wrapper
 * keeps what that collector pushes for the pods of this node (`kubelet.node_name`) and the global
 * entity, and puts each pod's cluster tags on its containers too, as the follower does.
 *
 * The collector lists and watches only this node's pods (a `spec.nodeName` field selector; a pod
 * bound here later arrives then, as the API server adds it to the selection), so what it pushes
 * is this node's already. The placement check stays for an inner collector that watches every
 * pod (one built without the node): the last tags of each pod are kept here, and a pod bound to
 * this node after its tags came gets them. A pod's delete is not passed on: the kubelet deletes
 * the node's entities, the cluster tags are cleared (see propagate.ts).
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../entity.js';
import type { MergedTags, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult } from '../collector.js';
import type { ClusterMetadataCollector, PodContainerIndex } from './ports.js';
import { ClusterTagPropagator } from './propagate.js';

export interface LocalClusterWatchOptions {
  readonly inner: ClusterMetadataCollector;
  readonly index: PodContainerIndex;
  /** This node's name (`kubelet.node_name`). */
  readonly node: string;
}

export class LocalClusterWatch implements Collector {
  readonly name: string;
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  private readonly options: LocalClusterWatchOptions;
  /** The last tags the collector gave each pod it holds, by UID. */
  private readonly podTags = new Map<string, MergedTags>();
  private propagator: ClusterTagPropagator | undefined;

  constructor(options: LocalClusterWatchOptions) {
    this.options = options;
    this.name = options.inner.name;
    const inner = options.inner;
    if (inner.detect) this.detect = (signal) => (inner.detect as (s: AbortSignal) => Promise<DetectResult>).call(inner, signal);
  }

  async run(ctx: CollectorContext): Promise<void> {
    const { inner, index } = this.options;
    const propagator = (this.propagator ??= new ClusterTagPropagator(index, (id) => ctx.knows(id)));
    const push = (infos: readonly TagInfo[]): void => {
      if (infos.length > 0) ctx.sink.push(infos);
    };
    const unlistenPods = index.onPodsChanged((uids) => push(propagator.containersChanged(uids)));
    const unlistenPlacement = inner.onPlacementChanged?.((uids) => push(uids.flatMap((uid) => this.place(propagator, uid))));
    try {
      await inner.run?.({ ...ctx, sink: { push: (infos) => push(this.filter(propagator, infos)) } });
    } finally {
      unlistenPods();
      unlistenPlacement?.();
    }
  }

  health(): CollectorHealth {
    const h = this.options.inner.health();
    return { healthy: h.healthy, message: `${h.message}; node ${this.options.node}: cluster tags for ${this.propagator?.podCount ?? 0} pods` };
  }

  close(): Promise<void> {
    return this.options.inner.close?.() ?? Promise.resolve();
  }

  /** The collector's batch, kept to this node's pods (and their containers) and the global entity. */
  private filter(propagator: ClusterTagPropagator, infos: readonly TagInfo[]): TagInfo[] {
    const out: TagInfo[] = [];
    for (const info of infos) {
      if (info.entity === GLOBAL_ENTITY_ID) {
        out.push(...(info.deleteEntity ? propagator.removeGlobal() : propagator.setGlobal(info)));
        continue;
      }
      if (!info.entity.startsWith(POD_PREFIX)) continue;
      const uid = info.entity.slice(POD_PREFIX.length);
      if (info.deleteEntity) this.podTags.delete(uid);
      else this.podTags.set(uid, { low: info.low, orchestrator: info.orchestrator, high: info.high, standard: info.standard });
      out.push(...this.place(propagator, uid));
    }
    return out;
  }

  /** The pod's cluster tags on this node if it runs here (and has tags), else none. */
  private place(propagator: ClusterTagPropagator, uid: string): TagInfo[] {
    const tags = this.podTags.get(uid);
    if (tags && this.options.inner.nodeOf(uid) === this.options.node) return propagator.setPod(uid, tags);
    return propagator.removePod(uid);
  }
}
