/**
 * The tagger's data model: cardinalities, entity IDs, and the TagInfo a collector pushes.
 * Everything here is plain data so that collectors, the store and IPC share one vocabulary.
 */
import type { OriginFacts } from './origin/types.js';

/** How many distinct values a tag may take across a fleet; a query at a level includes all below. */
export type Cardinality = 'low' | 'orchestrator' | 'high';

/** Cardinalities in ascending order; the index of each is its level. */
export const CARDINALITIES: readonly Cardinality[] = Object.freeze(['low', 'orchestrator', 'high']);

/** The kinds of entity the tagger knows. `internal` holds the global entity. */
export type EntityKind = 'container_id' | 'kubernetes_pod_uid' | 'ecs_task' | 'internal';

/** A canonical entity ID such as `container_id://<64 hex>`. Plain string for cheap map keys. */
export type EntityId = string;

/**
 * Who resolves a conflict when two sources give one tag name different values. Higher wins;
 * the same priority keeps both values (as the Datadog Agent does).
 */
export enum SourcePriority {
  NodeRuntime = 0,
  NodeOrchestrator = 1,
  ClusterOrchestrator = 2,
}

/**
 * One source's complete view of one entity. A TagInfo replaces everything that source said
 * about the entity before; `deleteEntity` asks the store to remove the entity after its grace.
 */
export interface TagInfo {
  readonly source: string;
  readonly entity: EntityId;
  readonly low: readonly string[];
  readonly orchestrator: readonly string[];
  readonly high: readonly string[];
  /** env / service / version tags; they are also in `low`. */
  readonly standard: readonly string[];
  readonly deleteEntity?: boolean;
  /** Defaults to the priority registered for `source` (see sourcePriority). */
  readonly priority?: SourcePriority;
  /** What lets origin detection find the entity (its PID, IPs, a pod's containers); the store ignores it. */
  readonly origin?: OriginFacts;
}

/** The tags one source gave an entity, as the dump and explain commands show them. */
export interface SourceTags {
  readonly low: readonly string[];
  readonly orchestrator: readonly string[];
  readonly high: readonly string[];
  readonly standard: readonly string[];
}

/** An entity's merged tags: each level holds only that level's tags (not those below). */
export interface MergedTags {
  readonly low: readonly string[];
  readonly orchestrator: readonly string[];
  readonly high: readonly string[];
  readonly standard: readonly string[];
}

/** What `list()` and `getEntity()` expose of one entity. */
export interface EntitySnapshot {
  readonly id: EntityId;
  readonly sources: Readonly<Record<string, SourceTags>>;
  readonly tags: MergedTags;
  /** Set while a delete is pending: which source asked, and when the entity goes. */
  readonly pendingDelete?: { readonly sources: readonly string[]; readonly removeAfter: number };
}

/**
 * One state of an entity's tags: the same object while they do not change, a new one on each
 * change. It holds nothing to read; compare it with `===` or key a WeakMap on it (the IPC stream
 * encodes an entity once per change this way, not once per subscriber and sync).
 */
export type TagsVersion = object;

/** One change as a subscriber sees it, filtered to its cardinality. */
export type EntityEvent =
  | {
      readonly type: 'added' | 'modified';
      readonly entity: EventEntity;
      /** Set by the store (absent on events decoded from the wire, and for an entity without tags). */
      readonly version?: TagsVersion;
    }
  | { readonly type: 'deleted'; readonly entity: { readonly id: EntityId } };

/** The entity carried by an event: tags above the subscriber's cardinality are left empty. */
export interface EventEntity {
  readonly id: EntityId;
  readonly tags: MergedTags;
}

/** Known sources and their default priorities (Docker and containerd are the node runtime). */
const DEFAULT_PRIORITIES: ReadonlyMap<string, SourcePriority> = new Map([
  ['docker', SourcePriority.NodeRuntime],
  ['containerd', SourcePriority.NodeRuntime],
  ['podman', SourcePriority.NodeRuntime],
  ['kubelet', SourcePriority.NodeOrchestrator],
  ['ecs', SourcePriority.NodeOrchestrator],
  // The Kubernetes API collector, local (kubernetes.enabled) or followed from a cluster instance.
  ['cluster', SourcePriority.ClusterOrchestrator],
]);

/** The priority of a TagInfo: its own if set, else its source's default, else node runtime. */
export function priorityOf(info: Pick<TagInfo, 'source' | 'priority'>): SourcePriority {
  return info.priority ?? DEFAULT_PRIORITIES.get(info.source) ?? SourcePriority.NodeRuntime;
}
