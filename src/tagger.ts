/**
 * The local tagger: runs the collectors, feeds the store, answers queries, and on a cache miss
 * asks the collectors able to fetch the entity (concurrent misses share one fetch; results are
 * cached, not-found and errors for a while, so a flood of misses makes a bounded number of
 * requests).
 */
import { systemClock, type Clock } from './clock.js';
import type { Collector, CollectorContext, CollectorHealth, TagSink } from './collectors/collector.js';
import { GLOBAL_ENTITY_ID, entityKindOf } from './entity.js';
import { AbortedError, TimeoutError, causeMessage } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { Backoff, BackoffPresets, reconnectForever, sleep } from './net/backoff.js';
import type { SubscribeOptions, Subscription } from './store/subscriptions.js';
import { TagStore } from './store/tag-store.js';
import { StoreBackedTagger, bump, toCardinality, type CardinalityInput, type QueryOptions, type QueryResult, type TaggerCounters } from './store-tagger.js';
import type { Cardinality, EntityId, EntitySnapshot, TagInfo } from './types.js';

export type { CardinalityInput, QueryOptions, QueryResult, TaggerCounters } from './store-tagger.js';

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

export interface TaggerHealth {
  readonly healthy: boolean;
  readonly collectors: Readonly<Record<string, CollectorHealth & { readonly state: CollectorState }>>;
}

export type CollectorState = 'detecting' | 'running' | 'stopped';
/** Why the last fetch of (collector, entity) found nothing, for `explain`. */
export interface FetchMemo {
  readonly until: number;
  readonly outcome: 'not_found' | 'error';
  readonly reason: string;
}

const MAX_MISS_CACHE = 50_000;

interface CollectorRun {
  readonly collector: Collector;
  state: CollectorState;
  detectMessage: string;
  synced: boolean;
  /** Made once the collector runs; its loops and every fetch share it (no logger child per fetch). */
  ctx?: CollectorContext;
}

export class LocalTagger extends StoreBackedTagger implements Tagger {
  readonly store: TagStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runs: CollectorRun[];
  private readonly options: LocalTaggerOptions;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly missCache = new Map<string, FetchMemo>();
  private readonly fetchDeadlines = new Set<AbortController>();
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
    this.runs = (options.collectors ?? []).map((collector) => ({ collector, state: 'stopped', detectMessage: 'not started', synced: false }));
    this.fetcherCount = this.runs.filter((r) => r.collector.fetch !== undefined).length;
    this.readyPromise = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    if (options.globalTags) this.setGlobalTags(options.globalTags);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.controller = new AbortController();
    for (const run of this.runs) this.track(this.runCollector(run));
    const interval = this.options.pruneIntervalMs ?? 10_000;
    this.pruneTimer = setInterval(() => this.prune(), interval);
    this.pruneTimer.unref();
    this.checkReady();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.controller.abort();
    for (const deadline of this.fetchDeadlines) deadline.abort(new AbortedError('tagger stopped'));
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await Promise.allSettled([...this.tasks]);
    await Promise.allSettled(this.runs.map((r) => r.collector.close?.()));
    for (const run of this.runs) run.state = 'stopped';
  }

  /** Removes entities past their grace, and forgets fetch outcomes past their TTL. */
  prune(now = this.clock.now()): void {
    this.store.prune(now);
    // Expired memos are harmless but would otherwise stay until the cache's size bound evicts
    // them: after churn, memory must come back, not plateau at the bound.
    for (const [key, memo] of this.missCache) if (memo.until <= now) this.missCache.delete(key);
  }

  /** Fetch outcomes remembered (not found, errors), for metrics and tests. */
  get fetchMemoCount(): number {
    return this.missCache.size;
  }

  /** Resolves once every collector present has done its first full sync. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  async tag(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): Promise<readonly string[]> {
    const card = toCardinality(cardinality);
    if (card === undefined) return this.noneCardinality(entity);
    const fast = this.store.lookup(entity, card);
    if (fast !== undefined && !this.needsFetch(entity)) return this.answer(fast, card, 'hit', options);
    // An unknown short ID is still asked of the fetchers (Docker's inspect takes one).
    const id = this.canonicalOrGiven(entity);
    const before = this.store.lookup(id, card);
    if (this.needsFetch(id)) await this.fetchMissing(id);
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
      if (this.needsFetch(entity)) this.fetchInBackground(entity);
      return this.answer(fast, card, 'hit', options);
    }
    const id = this.canonicalOrGiven(entity);
    const found = this.store.lookup(id, card);
    if (this.needsFetch(id)) this.fetchInBackground(id);
    return this.answer(found, card, found === undefined ? 'miss' : 'hit', options);
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
    return this.missCache.get(`${collector}|${entity}`);
  }

  /** Collector names that could fetch this entity. */
  fetchersOf(entity: EntityId): string[] {
    return this.runs.filter((r) => this.canFetch(r, entity)).map((r) => r.collector.name);
  }

  /** Each collector's own notes on an entity (see Collector.explain), by collector name. */
  collectorNotes(entity: EntityId): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const run of this.runs) {
      const notes = run.collector.explain?.(entity) ?? [];
      if (notes.length > 0) out[run.collector.name] = notes;
    }
    return out;
  }

  collectorNames(): string[] {
    return this.runs.map((r) => r.collector.name);
  }

  health(): TaggerHealth {
    const collectors: Record<string, CollectorHealth & { state: CollectorState }> = {};
    let healthy = true;
    for (const run of this.runs) {
      const h = run.state === 'running' ? run.collector.health() : { healthy: run.state !== 'stopped' || !this.started, message: run.detectMessage };
      collectors[run.collector.name] = { ...h, state: run.state };
      if (!h.healthy) healthy = false;
    }
    return { healthy, collectors };
  }

  // ---- internals ----

  private answer(tags: readonly string[] | undefined, card: Cardinality, result: QueryResult, options: QueryOptions | undefined): readonly string[] {
    this.countQuery(card, result);
    return this.withGlobal(tags, card, options);
  }

  private canFetch(run: CollectorRun, id: EntityId): boolean {
    const c = run.collector;
    if (run.state !== 'running' || c.fetch === undefined || c.fetchPrefixes === undefined) return false;
    for (const prefix of c.fetchPrefixes) if (id.startsWith(prefix)) return true;
    return false;
  }

  /** True when some running fetcher for this entity has neither reported it nor a fresh miss. */
  private needsFetch(id: EntityId): boolean {
    if (!this.started || this.fetcherCount === 0) return false;
    for (const run of this.runs) {
      if (!this.canFetch(run, id) || this.store.hasSource(id, run.collector.name)) continue;
      const memo = this.missCache.get(`${run.collector.name}|${id}`);
      if (!memo || memo.until <= this.clock.now()) return true;
    }
    return false;
  }

  private fetchInBackground(id: EntityId): void {
    this.fetchMissing(id).catch((error: unknown) => this.logger.debug({ entity: id, error: causeMessage(error) }, 'background fetch failed'));
  }

  private async fetchMissing(id: EntityId): Promise<void> {
    if (!entityKindOf(id)) return;
    const waits: Array<Promise<void>> = [];
    for (const run of this.runs) {
      if (!this.canFetch(run, id) || this.store.hasSource(id, run.collector.name)) continue;
      const key = `${run.collector.name}|${id}`;
      const memo = this.missCache.get(key);
      if (memo && memo.until > this.clock.now()) {
        bump(this.counters.fetches, `${run.collector.name}:skipped_cached`);
        continue;
      }
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.fetchOne(run, id, key).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
        this.track(pending);
      }
      waits.push(pending);
    }
    await Promise.all(waits);
  }

  private async fetchOne(run: CollectorRun, id: EntityId, key: string): Promise<void> {
    const { collector } = run;
    const timeoutMs = this.options.fetchTimeoutMs ?? 2_000;
    // Not AbortSignal.any([..., AbortSignal.timeout()]): on Node 20 a timeout signal that is only a
    // source of any() is weakly held, so after a GC it never fires and the fetch outlives its
    // deadline (seen with a hung dockerd). A controller kept alive by its own timer always fires.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new TimeoutError(`fetch of ${id} from ${collector.name}`, timeoutMs)), timeoutMs);
    // stop() aborts every fetch in flight through this set; a listener per fetch on the shared stop
    // signal would trip Node's MaxListeners warning under a flood of misses.
    if (this.controller.signal.aborted) deadline.abort(this.controller.signal.reason);
    this.fetchDeadlines.add(deadline);
    const signal = deadline.signal;
    try {
      const fetch = collector.fetch;
      if (!fetch) return;
      const result = await withDeadline(fetch.call(collector, id, run.ctx ?? this.context(run), signal), timeoutMs, signal);
      if (result.found) {
        // A miss result never overwrites what a source already reported.
        this.store.processTagInfo(result.infos.filter((info) => info.deleteEntity || !this.store.hasSource(info.entity, info.source)));
      }
      if (result.found && this.store.hasSource(id, collector.name)) {
        this.missCache.delete(key);
        bump(this.counters.fetches, `${collector.name}:found`);
      } else {
        this.remember(key, { until: this.clock.now() + (this.options.notFoundTtlMs ?? 60_000), outcome: 'not_found', reason: `${collector.name} does not know this entity` });
        bump(this.counters.fetches, `${collector.name}:not_found`);
      }
    } catch (error) {
      this.remember(key, { until: this.clock.now() + (this.options.errorTtlMs ?? 5_000), outcome: 'error', reason: causeMessage(error) });
      bump(this.counters.fetches, `${collector.name}:error`);
      this.logger.debug({ collector: collector.name, entity: id, error: causeMessage(error) }, 'fetch failed');
    } finally {
      clearTimeout(timer);
      this.fetchDeadlines.delete(deadline);
    }
  }

  private remember(key: string, memo: FetchMemo): void {
    this.missCache.delete(key);
    this.missCache.set(key, memo);
    // Bounded: the oldest entries go first (a Map iterates in insertion order).
    while (this.missCache.size > MAX_MISS_CACHE) {
      const oldest = this.missCache.keys().next().value;
      if (oldest === undefined) break;
      this.missCache.delete(oldest);
    }
  }

  private context(run: CollectorRun): CollectorContext {
    const { collector } = run;
    const sink: TagSink = { push: (infos) => this.store.processTagInfo(infos) };
    return {
      sink,
      clock: this.clock,
      logger: this.logger.child({ collector: collector.name }),
      signal: this.controller.signal,
      knows: (entity, source) => (source ? this.store.hasSource(entity, source) : this.store.has(entity)),
      requestFetch: (entity) => this.fetchInBackground(entity),
      markSynced: () => {
        if (!run.synced) {
          run.synced = true;
          this.checkReady();
        }
      },
    };
  }

  private async runCollector(run: CollectorRun): Promise<void> {
    const { collector } = run;
    const signal = this.controller.signal;
    const log = this.logger.child({ collector: collector.name });
    run.state = 'detecting';
    run.detectMessage = 'detecting';
    const detectBackoff = new Backoff(BackoffPresets.detect);
    while (collector.detect && !signal.aborted) {
      let reason: string;
      try {
        const result = await collector.detect(signal);
        if (result.available) break;
        reason = result.reason;
      } catch (error) {
        reason = causeMessage(error);
      }
      run.detectMessage = `not detected: ${reason}`;
      // Not there yet: readiness does not wait for a source that may never come.
      if (!run.synced) {
        run.synced = true;
        this.checkReady();
      }
      log.debug({ reason }, 'collector not available, will retry');
      if (!(await sleepUnlessAborted(detectBackoff.next(), signal))) return;
    }
    if (signal.aborted) return;
    run.synced = false;
    run.state = 'running';
    log.info({}, 'collector started');
    const ctx = (run.ctx = this.context(run));
    const tasks: Array<Promise<void>> = [];
    if (collector.run) tasks.push(this.superviseStream(collector, ctx, log));
    if (collector.pull) tasks.push(this.pullLoop(collector, ctx, log));
    if (!collector.run && !collector.pull) ctx.markSynced();
    await Promise.all(tasks);
  }

  private async superviseStream(collector: Collector, ctx: CollectorContext, log: Logger): Promise<void> {
    // A streamer handles its own reconnects; this only restarts one whose run() gave up or threw.
    // The backoff starts over only after a run that synced: one that returns at once backs off.
    let synced = false;
    const runCtx: CollectorContext = {
      ...ctx,
      markSynced: () => {
        synced = true;
        ctx.markSynced();
      },
    };
    await reconnectForever(
      async (opened) => {
        synced = false;
        await collector.run?.(runCtx);
        if (synced) opened();
      },
      {
        ...BackoffPresets.engineReconnect,
        signal: ctx.signal,
        onEnd: (error, delayMs) => {
          bump(this.counters.collectorErrors, collector.name);
          const reason = error === undefined ? `run() returned${synced ? '' : ' before it synced'}` : causeMessage(error);
          log.error({ error: reason, delayMs }, 'collector stream ended; restarting');
        },
      },
    );
  }

  private async pullLoop(collector: Collector, ctx: CollectorContext, log: Logger): Promise<void> {
    const backoff = new Backoff(BackoffPresets.poll);
    const interval = collector.pullIntervalMs ?? 5_000;
    while (!ctx.signal.aborted) {
      let delay = interval;
      try {
        await collector.pull?.(ctx);
        ctx.markSynced();
        backoff.reset();
      } catch (error) {
        if (ctx.signal.aborted) return;
        bump(this.counters.collectorErrors, collector.name);
        log.warn({ error: causeMessage(error) }, 'poll failed; keeping the last good state');
        delay = Math.min(interval, backoff.next());
        // A source that fails (a kubelet refusing our token) must not hold readiness forever:
        // health reports it instead.
        ctx.markSynced();
      }
      if (!(await sleepUnlessAborted(delay, ctx.signal))) return;
    }
  }

  private checkReady(): void {
    if (this.started && this.runs.every((r) => r.synced)) this.readyResolve?.();
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

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}

/** Rejects when the collector ignores its signal past the deadline. */
function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error(`fetch timed out after ${ms} ms`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
