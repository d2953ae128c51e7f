/**
 * What a tagger is, apart from how one is made (the Datadog Agent's comp/core/tagger `def/`): the
 * library's `Tagger` interface and the types around it. Both implementations, the local tagger
 * and the remote replica, import them from here.
 */
import type { CollectorHealth } from '../collectors/collector.js';
import type { TagStore } from '../store/tag-store.js';
import type { SubscribeOptions, Subscription } from '../store/subscriptions.js';
import type { Cardinality, EntitySnapshot } from '../types.js';

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

export interface TaggerHealth {
  readonly healthy: boolean;
  readonly collectors: Readonly<Record<string, CollectorHealth & { readonly state: CollectorState }>>;
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
  readonly store: TagStore;
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
