/**
 * The kubelet collector (a puller). Every `kubelet.poll_interval` it reads `GET /pods`, compares
 * each pod with what the last poll saw, and pushes only what changed: TagInfos for new or changed
 * pods, deletions for pods and containers that are gone and for restarted containers' old IDs.
 *
 * Pods are compared by a fingerprint of the fields tags come from (extract.podFingerprint), not
 * by resourceVersion, which kubelet does not bump reliably for status changes. A failed or
 * malformed poll changes nothing: the last good state stays, the error is counted and reported
 * in health, and the tagger's loop retries sooner (backoff) than the next interval.
 *
 * On a cache miss for a container or pod, fetch() runs one immediate re-poll so a container that
 * started after the last poll gets its pod's tags at once. Re-polls are shared by concurrent
 * misses and rate-limited, so a flood of misses for unknown containers costs little.
 */
import { CONTAINER_PREFIX, POD_PREFIX } from '../../entity.js';
import { causeMessage, isTaggerError } from '../../errors.js';
import { deletionTagInfo } from '../../taglist.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult, FetchResult } from '../collector.js';
import { KubeletTlsError } from './client.js';
import { KUBELET_SOURCE, extractPod, podFingerprint, podUidOf, type KubeletExtractOptions } from './extract.js';
import type { KubePodList } from './types.js';

/** What the collector needs of a client (KubeletClient; a fake in tests). */
export interface KubeletSource {
  readonly url: string;
  getPods(signal?: AbortSignal): Promise<KubePodList>;
  probe(signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export interface KubeletCollectorOptions {
  readonly client: KubeletSource;
  readonly extract: KubeletExtractOptions;
  readonly pollIntervalMs: number;
  /** `enabled: auto`: offer detect(), which probes the kubelet. */
  readonly autodetect: boolean;
  /** Shortest time between two polls started by fetch(). Default 1 s. */
  readonly minRepollIntervalMs?: number;
}

export interface KubeletStats {
  polls: number;
  failedPolls: number;
  /** Polls whose body was not a PodList (part of failedPolls). */
  malformedPolls: number;
  /** Items skipped because they were not pods with a UID. */
  malformedPods: number;
  /** Pods whose fingerprint changed (or were new) and so were extracted. */
  podsExtracted: number;
  deletionsPushed: number;
  repolls: number;
  repollsSkipped: number;
}

interface PodState {
  readonly fingerprint: string;
  readonly entities: readonly EntityId[];
}

export class KubeletCollector implements Collector {
  readonly name = KUBELET_SOURCE;
  readonly fetchPrefixes: readonly string[] = [CONTAINER_PREFIX, POD_PREFIX];
  readonly pullIntervalMs: number;
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  readonly stats: KubeletStats = { polls: 0, failedPolls: 0, malformedPolls: 0, malformedPods: 0, podsExtracted: 0, deletionsPushed: 0, repolls: 0, repollsSkipped: 0 };
  private readonly client: KubeletSource;
  private readonly extractOptions: KubeletExtractOptions;
  private readonly minRepollMs: number;
  private readonly source: string;
  private pods = new Map<string, PodState>();
  /** Every entity of the last good poll, for fetch(). */
  private known = new Set<EntityId>();
  private inflight: Promise<void> | undefined;
  private lastPollStart = Number.NEGATIVE_INFINITY;
  private state: CollectorHealth = { healthy: true, message: 'no poll yet' };

  constructor(options: KubeletCollectorOptions) {
    this.client = options.client;
    this.extractOptions = options.extract;
    this.pullIntervalMs = options.pollIntervalMs;
    this.minRepollMs = options.minRepollIntervalMs ?? 1_000;
    this.source = options.extract.source ?? KUBELET_SOURCE;
    if (options.autodetect) this.detect = (signal) => this.probe(signal);
  }

  /** One scheduled poll. Throws on failure so the tagger's loop logs, counts and backs off. */
  pull(ctx: CollectorContext): Promise<void> {
    return this.poll(ctx);
  }

  async fetch(entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult> {
    if (!this.known.has(entity)) await untilAborted(this.repoll(ctx), signal);
    return this.known.has(entity) ? { found: true, infos: [] } : { found: false };
  }

  health(): CollectorHealth {
    return this.state;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Tracked entities (pods and containers) from the last good poll. */
  get entityCount(): number {
    return this.known.size;
  }

  private async probe(signal: AbortSignal): Promise<DetectResult> {
    try {
      await this.client.probe(signal);
      return { available: true };
    } catch (error) {
      // Something speaks TLS there but we cannot verify it: a kubelet, misconfigured. Start, so
      // health says what to fix instead of "not detected".
      if (error instanceof KubeletTlsError) return { available: true };
      return { available: false, reason: `kubelet ${this.client.url}: ${causeMessage(error)}` };
    }
  }

  /** A poll asked by a miss: joins one in flight, else runs one unless one started too recently. */
  private async repoll(ctx: CollectorContext): Promise<void> {
    if (this.inflight) return this.inflight.catch(() => undefined);
    if (ctx.clock.now() - this.lastPollStart < this.minRepollMs) {
      this.stats.repollsSkipped++;
      return;
    }
    this.stats.repolls++;
    await this.poll(ctx).catch((error: unknown) => ctx.logger.warn({ error: causeMessage(error) }, 'kubelet re-poll on a cache miss failed; keeping the last good state'));
  }

  private poll(ctx: CollectorContext): Promise<void> {
    this.inflight ??= this.pollOnce(ctx).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async pollOnce(ctx: CollectorContext): Promise<void> {
    this.lastPollStart = ctx.clock.now();
    this.stats.polls++;
    let list: KubePodList;
    try {
      list = await this.client.getPods(ctx.signal);
    } catch (error) {
      this.stats.failedPolls++;
      if (isTaggerError(error, 'TAGGER_DECODE')) this.stats.malformedPolls++;
      const kept = this.pods.size > 0 ? ` (keeping the last good state: ${this.pods.size} pods)` : '';
      this.state = { healthy: false, message: `${causeMessage(error)}${kept}` };
      throw error;
    }
    const infos = this.apply(list.items, ctx);
    if (infos.length > 0) ctx.sink.push(infos);
    this.state = { healthy: true, message: `polling ${this.client.url}: ${this.pods.size} pods` };
    ctx.markSynced();
  }

  /** Diffs one poll's items against the last state; returns what to push and updates the state. */
  private apply(items: readonly unknown[], ctx: CollectorContext): TagInfo[] {
    const out: TagInfo[] = [];
    const next = new Map<string, PodState>();
    for (const item of items) {
      const uid = podUidOf(item);
      if (uid === undefined) {
        this.stats.malformedPods++;
        continue;
      }
      if (next.has(uid)) continue;
      const fingerprint = podFingerprint(item);
      const previous = this.pods.get(uid);
      if (previous !== undefined && previous.fingerprint === fingerprint) {
        next.set(uid, previous);
        continue;
      }
      const extracted = extractPod(item, this.extractOptions);
      if (extracted === undefined) continue;
      this.stats.podsExtracted++;
      if (extracted.problems.length > 0) ctx.logger.debug({ pod: uid, problems: extracted.problems }, 'pod metadata partly unusable');
      out.push(...extracted.infos);
      const gone = new Set<EntityId>(extracted.staleContainers);
      if (previous) for (const id of previous.entities) gone.add(id);
      for (const id of extracted.entities) gone.delete(id);
      for (const id of gone) out.push(deletionTagInfo(this.source, id));
      this.stats.deletionsPushed += gone.size;
      next.set(uid, { fingerprint, entities: extracted.entities });
    }
    for (const [uid, state] of this.pods) {
      if (next.has(uid)) continue;
      for (const id of state.entities) out.push(deletionTagInfo(this.source, id));
      this.stats.deletionsPushed += state.entities.length;
    }
    this.pods = next;
    if (out.length > 0) {
      const known = new Set<EntityId>();
      for (const state of next.values()) for (const id of state.entities) known.add(id);
      this.known = known;
    }
    return out;
  }
}

/** Waits for `work` unless the signal aborts first; the work itself goes on (others share it). */
function untilAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    work.then(done, done);
  });
}
