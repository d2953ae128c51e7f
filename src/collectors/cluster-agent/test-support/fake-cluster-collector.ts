/**
 * A stand-in for the API-server collector in tests of what is built around it: pods with a node
 * and cluster tags, set by hand, pushed as the real collector pushes them (one TagInfo per pod,
 * source `cluster`; the global entity's tags), with nodeOf() and placement notifications.
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../../entity.js';
import { deletionTagInfo } from '../../../taglist.js';
import { SourcePriority, type TagInfo } from '../../../types.js';
import type { CollectorContext, CollectorHealth } from '../../collector.js';
import type { ClusterMetadataCollector } from '../ports.js';
import { CLUSTER_SOURCE } from '../../kubernetes/extract.js';

export class FakeClusterCollector implements ClusterMetadataCollector {
  readonly name = CLUSTER_SOURCE;
  private readonly nodes = new Map<string, string>();
  private readonly current = new Map<string, TagInfo>();
  private readonly placementListeners = new Set<(uids: readonly string[]) => void>();
  private ctx: CollectorContext | undefined;

  nodeOf(uid: string): string | undefined {
    return this.nodes.get(uid);
  }

  onPlacementChanged(listener: (uids: readonly string[]) => void): () => void {
    this.placementListeners.add(listener);
    return () => this.placementListeners.delete(listener);
  }

  async run(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    if (this.current.size > 0) ctx.sink.push([...this.current.values()]);
    ctx.markSynced();
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    this.ctx = undefined;
  }

  health(): CollectorHealth {
    return { healthy: true, message: `fake API server: ${this.current.size} entities` };
  }

  /** A pod's tags (and, when given, its node; undefined: not scheduled). */
  setPod(uid: string, low: string[], node?: string): void {
    const before = this.nodes.get(uid);
    if (node === undefined) this.nodes.delete(uid);
    else this.nodes.set(uid, node);
    this.push(tagInfo(POD_PREFIX + uid, low));
    if (before !== undefined && before !== node) for (const listener of this.placementListeners) listener([uid]);
  }

  /** Binds a pod to a node without changing its tags (as the scheduler does). */
  bind(uid: string, node: string): void {
    this.nodes.set(uid, node);
    for (const listener of this.placementListeners) listener([uid]);
  }

  deletePod(uid: string): void {
    this.nodes.delete(uid);
    this.current.delete(POD_PREFIX + uid);
    this.ctx?.sink.push([deletionTagInfo(CLUSTER_SOURCE, POD_PREFIX + uid)]);
  }

  setGlobal(low: string[]): void {
    this.push(tagInfo(GLOBAL_ENTITY_ID, low));
  }

  private push(info: TagInfo): void {
    this.current.set(info.entity, info);
    this.ctx?.sink.push([info]);
  }
}

function tagInfo(entity: string, low: string[]): TagInfo {
  return { source: CLUSTER_SOURCE, entity, low, orchestrator: [], high: [], standard: [], priority: SourcePriority.ClusterOrchestrator };
}
