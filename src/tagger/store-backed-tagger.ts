/**
 * What every tagger answering from a TagStore shares, local or remote: entity IDs in any accepted
 * spelling, the global entity, dumps and subscriptions. LocalTagger adds collectors and fetch on
 * miss; RemoteTagger adds the stream that keeps its store a replica of a daemon's.
 */
import { GLOBAL_ENTITY_ID, parseCardinality, parseEntityId } from '../entity.js';
import type { SubscribeOptions, Subscription } from '../store/subscriptions.js';
import type { TagStore } from '../store/tag-store.js';
import type { StoreStats } from '../store/telemetry.js';
import type { Cardinality, EntityEvent, EntityId, EntitySnapshot } from '../types.js';
import type { CardinalityInput, EntityIntrospection, QueryOptions, QueryResult, SourceIntrospection, TaggerCounters } from './tagger.js';

const EMPTY_TAGS: readonly string[] = Object.freeze([]);

export abstract class StoreBackedTagger {
  abstract readonly store: TagStore;
  readonly counters: TaggerCounters = { queries: new Map(), fetches: new Map(), collectorErrors: new Map() };
  // Hits are counted in plain fields: the query hot path only increments (no key string, no Map).
  private hitsLow = 0;
  private hitsOrchestrator = 0;
  private hitsHigh = 0;

  /** The counters, with the hit fields folded into `queries` (for scrapes). */
  flushCounters(): TaggerCounters {
    bump(this.counters.queries, 'low:hit', this.hitsLow);
    bump(this.counters.queries, 'orchestrator:hit', this.hitsOrchestrator);
    bump(this.counters.queries, 'high:hit', this.hitsHigh);
    this.hitsLow = this.hitsOrchestrator = this.hitsHigh = 0;
    return this.counters;
  }

  protected countQuery(card: Cardinality, result: QueryResult): void {
    if (result !== 'hit') bump(this.counters.queries, `${card}:${result}`);
    else if (card === 'low') this.hitsLow++;
    else if (card === 'orchestrator') this.hitsOrchestrator++;
    else this.hitsHigh++;
  }

  standard(entity: string): readonly string[] {
    const id = this.canonical(entity);
    return (id && this.store.standard(id)) || EMPTY_TAGS;
  }

  subscribe(options: SubscribeOptions): Subscription {
    return this.store.subscribe(options);
  }

  list(): EntitySnapshot[] {
    return this.store.list();
  }

  getEntity(entity: string): EntitySnapshot | undefined {
    const id = this.canonical(entity);
    return id === undefined ? undefined : this.store.getEntity(id);
  }

  // ---- the serving port (TaggerPort) ----

  resolve(entity: string): EntityId {
    return this.canonicalOrGiven(entity);
  }

  snapshotBatches(sub: Subscription): Iterable<readonly EntityEvent[]> {
    return this.store.snapshotBatches(sub);
  }

  introspect(id: EntityId): EntityIntrospection {
    const tomb = this.store.tombstone(id);
    return {
      snapshot: this.store.getEntity(id),
      tombstone: tomb && { sources: [...tomb.sources], removedAt: tomb.removedAt, expiresAt: tomb.expiresAt },
      sources: this.sourcesOf(id),
    };
  }

  storeStats(): StoreStats {
    return this.store;
  }

  /** What each of the tagger's sources can say about `id`, for introspect(). */
  protected abstract sourcesOf(id: EntityId): SourceIntrospection[];

  /**
   * Canonical ID for any accepted spelling (throws InvalidEntityError). A 12-hex ID is first a
   * container's own (containerd names one as the user likes), then the short form of the one known
   * container with that prefix; undefined when it is neither.
   */
  protected canonical(entity: string): EntityId | undefined {
    const parsed = parseEntityId(entity);
    if (!parsed.short) return parsed.id;
    return this.store.has(parsed.id) ? parsed.id : this.store.resolveShortId(parsed.value);
  }

  /** canonical(), or for a short ID nobody knows, the ID as given (a fetcher may still know it). */
  protected canonicalOrGiven(entity: string): EntityId {
    return this.canonical(entity) ?? parseEntityId(entity).id;
  }

  /** A query at cardinality `none`: the entity is still validated, the answer is empty. */
  protected noneCardinality(entity: string): readonly string[] {
    this.canonical(entity);
    return EMPTY_TAGS;
  }

  /** `tags`, plus the global entity's when asked (a new frozen array then). */
  protected withGlobal(tags: readonly string[] | undefined, card: Cardinality, options: QueryOptions | undefined): readonly string[] {
    const own = tags ?? EMPTY_TAGS;
    if (!options?.includeGlobal) return own;
    const global = this.store.lookup(GLOBAL_ENTITY_ID, card);
    return global && global.length > 0 ? Object.freeze([...new Set([...own, ...global])]) : own;
  }
}

/** The cardinality of a query, fast for the three canonical strings; undefined for `none`. */
export function toCardinality(c: CardinalityInput): Cardinality | undefined {
  if (c === 'low' || c === 'orchestrator' || c === 'high') return c;
  return typeof c === 'string' && c.trim().toLowerCase() === 'none' ? undefined : parseCardinality(c);
}

export function bump(map: Map<string, number>, key: string, by = 1): void {
  if (by !== 0) map.set(key, (map.get(key) ?? 0) + by);
}
