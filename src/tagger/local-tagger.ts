/**
 * The local tagger: runs the collectors (collector-runner.ts), feeds its store, answers queries,
 * and on a cache miss asks the collectors able to fetch the entity (fetch-on-miss.ts).
 */
import { systemClock, type Clock } from '../clock.js';
import type { Collector, TagSink } from '../collectors/collector.js';
import { GLOBAL_ENTITY_ID } from '../entity.js';
import { causeMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { TagStore } from '../store/tag-store.js';
import type { Cardinality, EntityId, TagInfo } from '../types.js';
import { parseOrigin } from '../origin/parse.js';
import { OriginResolver, type OriginResolverOptions } from '../origin/resolver.js';
import type { Origin, OriginResolution, ParsedOrigin } from '../origin/types.js';
import { CollectorRunner } from './collector-runner.js';
import { FetchOnMiss } from './fetch-on-miss.js';
import { StoreBackedTagger, bump, toCardinality } from './store-backed-tagger.js';
import type { CardinalityInput, CollectorStatus, FetchMemo, QueryOptions, QueryResult, SourceIntrospection, Tagger, TaggerHealth, TaggerPort } from './tagger.js';

export interface LocalTaggerOptions {
  readonly collectors?: readonly Collector[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly deletionGraceMs?: number;
  readonly pruneIntervalMs?: number;
  readonly tombstoneTtlMs?: number;
  readonly fetchTimeoutMs?: number;
  readonly notFoundTtlMs?: number;
  readonly errorTtlMs?: number;
  /** Tags of the global entity (host-wide tags), added to queries that ask for them. */
  readonly globalTags?: { low?: readonly string[]; orchestrator?: readonly string[]; high?: readonly string[] };
  /** Where origin detection finds /proc and the cgroup tree (tests point them at fake trees). */
  readonly origin?: Pick<OriginResolverOptions, 'procRoot' | 'cgroupRoot'>;
}

export class LocalTagger extends StoreBackedTagger implements Tagger, TaggerPort {
  readonly store: TagStore;
  /** The origin index beside the store, and resolution of every origin form. */
  readonly origins: OriginResolver;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runners: CollectorRunner[];
  private readonly fetching: FetchOnMiss;
  private readonly options: LocalTaggerOptions;
  private controller = new AbortController();
  private readonly tasks = new Set<Promise<unknown>>();
  private pruneTimer: NodeJS.Timeout | undefined;
  private started = false;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;
  /** Collectors with a fetch(): when none, the hot path skips the fetch check entirely. */
  private readonly fetcherCount: number;

  constructor(options: LocalTaggerOptions = {}) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.store = new TagStore({ clock: this.clock, deletionGraceMs: options.deletionGraceMs, tombstoneTtlMs: options.tombstoneTtlMs });
    this.store.onMalformed = (info, reason) => this.logger.warn({ reason, source: sourceOf(info) }, 'dropped malformed tag update');
    this.origins = new OriginResolver(this.store, { ...options.origin, logger: this.logger });
    // Every update reaches the origin index on the same push as the store, right after it.
    const ingest = (infos: readonly TagInfo[]): void => {
      this.store.processTagInfo(infos);
      this.origins.ingest(infos);
    };
    const sink: TagSink = { push: ingest };
    this.runners = (options.collectors ?? []).map(
      (collector) =>
        new CollectorRunner(collector, {
          clock: this.clock,
          logger: this.logger,
          sink,
          knows: (entity, source) => (source ? this.store.hasSource(entity, source) : this.store.has(entity)),
          requestFetch: (entity) => this.fetching.inBackground(entity),
          onSynced: () => this.checkReady(),
          onError: () => bump(this.counters.collectorErrors, collector.name),
        }),
    );
    this.fetching = new FetchOnMiss({
      fetchers: this.runners,
      store: { hasSource: (id, source) => this.store.hasSource(id, source), processTagInfo: ingest },
      clock: this.clock,
      logger: this.logger,
      counts: this.counters.fetches,
      track: (pending) => this.track(pending),
      timeoutMs: options.fetchTimeoutMs,
      notFoundTtlMs: options.notFoundTtlMs,
      errorTtlMs: options.errorTtlMs,
    });
    this.fetcherCount = this.fetching.fetcherCount;
    this.readyPromise = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    if (options.globalTags) this.setGlobalTags(options.globalTags);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.controller = new AbortController();
    this.fetching.start(this.controller.signal);
    for (const runner of this.runners) this.track(runner.run(this.controller.signal));
    const interval = this.options.pruneIntervalMs ?? 10_000;
    this.pruneTimer = setInterval(() => this.prune(), interval);
    this.pruneTimer.unref();
    this.checkReady();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.controller.abort();
    this.fetching.abortAll();
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await Promise.allSettled([...this.tasks]);
    await Promise.allSettled(this.runners.map((r) => r.collector.close?.()));
    for (const runner of this.runners) runner.markStopped();
  }

  /** Removes entities past their grace, and forgets fetch outcomes past their TTL. */
  prune(now = this.clock.now()): void {
    this.store.prune(now);
    this.origins.sweep();
    this.fetching.prune(now);
  }

  /** Fetch outcomes remembered (not found, errors), for metrics and tests. */
  get fetchMemoCount(): number {
    return this.fetching.memoCount;
  }

  /** Resolves once every collector present has done its first full sync. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  async tag(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): Promise<readonly string[]> {
    const card = toCardinality(cardinality);
    if (card === undefined) return this.noneCardinality(entity);
    const fast = this.store.lookup(entity, card);
    if (fast !== undefined && !this.fetching.needsFetch(entity)) return this.answer(fast, card, 'hit', options);
    // An unknown short ID is still asked of the fetchers (Docker's inspect takes one).
    const id = this.canonicalOrGiven(entity);
    const before = this.store.lookup(id, card);
    if (this.fetching.needsFetch(id)) await this.fetching.fetchMissing(id);
    // What the fetch found is stored under the full ID: resolve the short one again.
    const after = this.store.lookup(before === undefined ? this.canonicalOrGiven(entity) : id, card);
    return this.answer(after, card, after === undefined ? 'empty' : after === before ? 'hit' : 'fetched', options);
  }

  tagSync(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): readonly string[] {
    const card = toCardinality(cardinality);
    if (card === undefined) return this.noneCardinality(entity);
    const fast = this.store.lookup(entity, card);
    // The hot path: a hit on a canonical ID with no fetcher pending returns the cached array.
    if (fast !== undefined && options === undefined && this.fetcherCount === 0) {
      this.countQuery(card, 'hit');
      return fast;
    }
    if (fast !== undefined) {
      if (this.fetching.needsFetch(entity)) this.fetching.inBackground(entity);
      return this.answer(fast, card, 'hit', options);
    }
    const id = this.canonicalOrGiven(entity);
    const found = this.store.lookup(id, card);
    if (this.fetching.needsFetch(id)) this.fetching.inBackground(id);
    return this.answer(found, card, found === undefined ? 'miss' : 'hit', options);
  }

  resolveOrigin(origin: Origin): OriginResolution | undefined {
    const lookup = this.origins.lookup(parseOrigin(origin));
    if (lookup.found === undefined && lookup.candidate !== undefined && this.fetching.needsFetch(lookup.candidate)) this.fetching.inBackground(lookup.candidate);
    return lookup.found;
  }

  async lookupOrigin(origin: ParsedOrigin): Promise<OriginResolution | undefined> {
    const first = this.origins.lookup(origin);
    if (first.found !== undefined || first.candidate === undefined || !this.fetching.needsFetch(first.candidate)) return first.found;
    await this.fetching.fetchMissing(first.candidate);
    return this.origins.resolve(origin);
  }

  originStats(): { entities: number; ips: number; inodes: number } {
    return this.origins.index.sizes;
  }

  /** Replaces the global entity's tags. */
  setGlobalTags(tags: { low?: readonly string[]; orchestrator?: readonly string[]; high?: readonly string[] }): void {
    const low = tags.low ?? [];
    this.store.processTagInfo([
      { source: 'config', entity: GLOBAL_ENTITY_ID, low, orchestrator: tags.orchestrator ?? [], high: tags.high ?? [], standard: low.filter((t) => /^(env|service|version):/.test(t)) },
    ]);
  }

  /** The cached outcome of the last fetch of `entity` from `collector`, if it found nothing. */
  fetchMemo(collector: string, entity: EntityId): FetchMemo | undefined {
    return this.fetching.memo(collector, entity);
  }

  collectorNames(): string[] {
    return this.runners.map((r) => r.name);
  }

  health(): TaggerHealth {
    const collectors: Record<string, CollectorStatus> = {};
    let healthy = true;
    for (const runner of this.runners) {
      const h = runner.health(this.started);
      collectors[runner.name] = h;
      if (!h.healthy) healthy = false;
    }
    return { healthy, collectors };
  }

  // ---- internals ----

  protected sourcesOf(id: EntityId): SourceIntrospection[] {
    return this.runners.map((r) => ({ name: r.name, canFetch: r.canFetch(id), notes: r.notes(id), lastFetch: this.fetching.memo(r.name, id) }));
  }

  private answer(tags: readonly string[] | undefined, card: Cardinality, result: QueryResult, options: QueryOptions | undefined): readonly string[] {
    this.countQuery(card, result);
    return this.withGlobal(tags, card, options);
  }

  private checkReady(): void {
    if (this.started && this.runners.every((r) => r.synced)) this.readyResolve?.();
  }

  private track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error: unknown) => this.logger.error({ error: causeMessage(error) }, 'internal task failed'));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }
}

function sourceOf(info: unknown): string | undefined {
  return info !== null && typeof info === 'object' && typeof (info as TagInfo).source === 'string' ? (info as TagInfo).source : undefined;
}
