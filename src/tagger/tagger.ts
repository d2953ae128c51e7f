/**
 * What a tagger is, apart from how one is made (the Datadog Agent's comp/core/tagger `def/`): the
 * library's `Tagger` interface, and `TaggerPort`, the narrow view the serving side (ipc/) works
 * through. Both implementations, the local tagger and the remote replica, import them from here,
 * and the server never reaches into either one's store.
 */
import type { CollectorHealth } from '../collectors/collector.js';
import type { CollectorActivityView } from './collector-activity.js';
import type { Origin, OriginResolution, ParsedOrigin } from '../origin/types.js';
import type { OriginIndexSizes } from '../origin/telemetry.js';
import type { StoreStats } from '../store/telemetry.js';
import type { SubscribeOptions, Subscription } from '../store/subscriptions.js';
import type { Cardinality, EntityEvent, EntityId, EntitySnapshot } from '../types.js';

/**
 * What a query's cardinality may be: the three levels, `orch`, or `none` (as the Datadog Agent's
 * NoneCardinality: a valid level that holds no tags, so the answer is always empty).
 */
export type CardinalityInput = Cardinality | 'orch' | 'none';

export interface QueryOptions {
  /** Also return the global entity's tags. */
  readonly includeGlobal?: boolean;
}

export type QueryResult = 'hit' | 'miss' | 'fetched' | 'empty';

export interface TaggerCounters {
  /** `${cardinality}:${result}` -> count */
  readonly queries: Map<string, number>;
  /** `${collector}:${outcome}` (found, not_found, error, skipped_cached) -> count */
  readonly fetches: Map<string, number>;
  /** collector -> count of errors its loop caught */
  readonly collectorErrors: Map<string, number>;
}

export type CollectorState = 'detecting' | 'running' | 'stopped';

/** One collector as health and `tagger status` see it. */
export interface CollectorStatus extends CollectorHealth, CollectorActivityView {
  readonly state: CollectorState;
}

export interface TaggerHealth {
  readonly healthy: boolean;
  readonly collectors: Readonly<Record<string, CollectorStatus>>;
}

/** The API both the local tagger and the remote replica offer (the contract's Library section). */
export interface Tagger {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): Promise<void>;
  tag(entity: string, cardinality?: CardinalityInput, options?: QueryOptions): Promise<readonly string[]>;
  tagSync(entity: string, cardinality?: CardinalityInput, options?: QueryOptions): readonly string[];
  standard(entity: string): readonly string[];
  subscribe(options: SubscribeOptions): Subscription;
  list(): EntitySnapshot[];
  getEntity(entity: string): EntitySnapshot | undefined;
  health(): TaggerHealth;
  /**
   * The entity an origin names (a PID, a cgroup inode, a container ID, external data, a pod UID and
   * container name, an IP: exactly one), from memory, at once; undefined when unknown. As with
   * tagSync, a container the tagger has not seen yet is fetched in the background. Throws
   * InvalidOriginError naming the key for a malformed origin. See docs/origin-detection.md.
   */
  resolveOrigin(origin: Origin): OriginResolution | undefined;
  readonly counters: TaggerCounters;
  /** The counters with every query counted so far (hits are kept apart on the hot path). */
  flushCounters(): TaggerCounters;
}

/** Why the last fetch of (collector, entity) found nothing, for `explain`. */
export interface FetchMemo {
  readonly until: number;
  readonly outcome: 'not_found' | 'error';
  readonly reason: string;
}

/** What one source of a tagger (a collector; a replica's daemon) can say about an entity. */
export interface SourceIntrospection {
  readonly name: string;
  /** It would be asked for the entity on a miss. */
  readonly canFetch: boolean;
  /** What it knows of the entity beyond tags (an exit code). */
  readonly notes: readonly string[];
  /** The remembered outcome of its last fetch, while that found nothing. */
  readonly lastFetch: FetchMemo | undefined;
}

/** Everything a tagger knows about one entity, for `explain`. */
export interface EntityIntrospection {
  readonly snapshot: EntitySnapshot | undefined;
  /** Set while a removed entity still blocks other sources. */
  readonly tombstone: { readonly sources: readonly string[]; readonly removedAt: number; readonly expiresAt: number } | undefined;
  /** Every source of the tagger, in its order. */
  readonly sources: readonly SourceIntrospection[];
}

/**
 * What the serving side needs of a tagger, local or remote: answers, IDs resolved as the tagger
 * resolves them, a snapshot it can send at its own pace, and read-only views for explain and
 * metrics.
 */
export interface TaggerPort {
  tag(entity: string, cardinality?: CardinalityInput, options?: QueryOptions): Promise<readonly string[]>;
  list(): EntitySnapshot[];
  health(): TaggerHealth;
  flushCounters(): TaggerCounters;
  /**
   * The canonical ID of any accepted spelling (prefixed IDs, a 12-hex short container ID resolved
   * when exactly one known container has it); a short ID nobody knows comes back in canonical form.
   * Throws InvalidEntityError.
   */
  resolve(entity: string): EntityId;
  /** Live events from now on; with `snapshot: false`, the current state comes from snapshotBatches. */
  subscribe(options: SubscribeOptions): Subscription;
  /** The entities `sub` matches as `added` events, in batches taken from the store as it is then. */
  snapshotBatches(sub: Subscription): Iterable<readonly EntityEvent[]>;
  introspect(id: EntityId): EntityIntrospection;
  storeStats(): StoreStats;
  /** As Tagger.resolveOrigin, waiting for a fetch on a miss (a replica: for its daemon's answer). */
  lookupOrigin(origin: ParsedOrigin): Promise<OriginResolution | undefined>;
  /** The origin index's sizes, for /metrics (a replica holds no index: zeros). */
  originStats(): OriginIndexSizes;
}
