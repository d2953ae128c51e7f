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
import { causeMessage, isAccessDenied, isTaggerError } from '../../errors.js';
import { deletionTagInfo } from '../../taglist.js';
import type { OriginFacts } from '../../origin/types.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult, FetchResult } from '../collector.js';
import type { PodContainerIndex } from '../cluster-agent/ports.js';
import { createHash } from 'node:crypto';
import { KubeletTlsError, parseJsonBytes, parsePodList } from './client.js';
import { KUBELET_SOURCE, extractPod, podFingerprint, podUidOf, type KubeletExtractOptions } from './extract.js';
import { containerCgroupPaths, podOrigin, podOriginFingerprint } from './origin.js';
import { scanPodList } from './pod-list-scan.js';

/** What the collector needs of a client (KubeletClient; a fake in tests). */
export interface KubeletSource {
  readonly url: string;
  /** The raw `/pods` body: the collector parses only the pods whose bytes it has not seen. */
  getPodsBody(signal?: AbortSignal): Promise<Uint8Array>;
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

export interface KubeletCounters {
  polls: number;
  failedPolls: number;
  /** Polls whose body was not a PodList (part of failedPolls). */
  malformedPolls: number;
  /** Items skipped because they were not pods with a UID. */
  malformedPods: number;
  /** Pods whose fingerprint changed (or were new) and so were extracted. */
  podsExtracted: number;
  /** Pods whose bytes matched the last good poll's, so were neither parsed nor compared. */
  podsUnchangedBytes: number;
  deletionsPushed: number;
  repolls: number;
  repollsSkipped: number;
}

interface PodState {
  readonly uid: string;
  readonly fingerprint: string;
  readonly entities: readonly EntityId[];
  /** Digest of the pod's bytes in the poll that saw it; undefined after a whole-body parse. */
  readonly digest?: string;
}

/** One item of a poll: parsed, or the state of a byte-identical item of the last good poll. */
type PollItem = { readonly raw: unknown; readonly digest?: string } | { readonly same: PodState };

export class KubeletCollector implements Collector, PodContainerIndex {
  readonly name = KUBELET_SOURCE;
  readonly fetchPrefixes: readonly string[] = [CONTAINER_PREFIX, POD_PREFIX];
  readonly pullIntervalMs: number;
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  readonly counters: KubeletCounters = { polls: 0, failedPolls: 0, malformedPolls: 0, malformedPods: 0, podsExtracted: 0, podsUnchangedBytes: 0, deletionsPushed: 0, repolls: 0, repollsSkipped: 0 };
  private readonly client: KubeletSource;
  private readonly extractOptions: KubeletExtractOptions;
  private readonly minRepollMs: number;
  private readonly source: string;
  private pods = new Map<string, PodState>();
  /** The last good poll's pods by the digest of their bytes. */
  private byDigest = new Map<string, PodState>();
  /** Every entity of the last good poll, for fetch(). */
  private known = new Set<EntityId>();
  private inflight: Promise<void> | undefined;
  private lastPollStart = Number.NEGATIVE_INFINITY;
  private healthState: CollectorHealth = { healthy: true, message: 'no poll yet' };
  private readonly podListeners = new Set<(podUids: readonly string[]) => void>();
  /** Pods extracted by the poll in progress (new or changed), for podListeners. */
  private changedPods: string[] = [];

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
    return this.healthState;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** The container entities of a pod in the last good poll (the cluster tags go on them). */
  containersOf(podUid: string): readonly EntityId[] {
    return this.pods.get(podUid)?.entities.filter((id) => id.startsWith(CONTAINER_PREFIX)) ?? [];
  }

  /** Called after each poll that pushed changes, with the pods that were new or changed. */
  onPodsChanged(listener: (podUids: readonly string[]) => void): () => void {
    this.podListeners.add(listener);
    return () => this.podListeners.delete(listener);
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
      // A token file we may not read is a permission to fix, not an absent kubelet.
      const reason = `kubelet ${this.client.url}: ${causeMessage(error)}`;
      return isAccessDenied(error) ? { available: false, reason, denied: true } : { available: false, reason };
    }
  }

  /** A poll asked by a miss: joins one in flight, else runs one unless one started too recently. */
  private async repoll(ctx: CollectorContext): Promise<void> {
    if (this.inflight) return this.inflight.catch(() => undefined);
    if (ctx.clock.now() - this.lastPollStart < this.minRepollMs) {
      this.counters.repollsSkipped++;
      return;
    }
    this.counters.repolls++;
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
    this.counters.polls++;
    let items: PollItem[];
    try {
      items = this.readItems(await this.client.getPodsBody(ctx.signal));
    } catch (error) {
      this.counters.failedPolls++;
      if (isTaggerError(error, 'TAGGER_DECODE')) this.counters.malformedPolls++;
      const kept = this.pods.size > 0 ? ` (keeping the last good state: ${this.pods.size} pods)` : '';
      this.healthState = { healthy: false, message: `${causeMessage(error)}${kept}` };
      throw error;
    }
    this.changedPods = [];
    const infos = this.apply(items, ctx);
    if (infos.length > 0) ctx.sink.push(infos);
    // After the push: listeners tag containers the store now knows.
    const changed = this.changedPods;
    if (changed.length > 0) for (const listener of this.podListeners) listener(changed);
    this.healthState = { healthy: true, message: `polling ${this.client.url}: ${this.pods.size} pods` };
    ctx.markSynced();
  }

  /**
   * The poll's items: each pod whose bytes the last good poll had is its state from then, the
   * rest are parsed. Every item is parsed before any state changes, so a malformed one (a
   * DecodeError) leaves the last good state whole.
   */
  private readItems(body: Uint8Array): PollItem[] {
    const cut = scanPodList(body);
    if (cut === undefined) return parsePodList(body, this.client.url).items.map((raw) => ({ raw }));
    const items: PollItem[] = new Array<PollItem>(cut.length);
    let same = 0;
    for (let i = 0; i < cut.length; i++) {
      const bytes = cut[i] as Uint8Array;
      const digest = createHash('sha256').update(bytes).digest('base64');
      const state = this.byDigest.get(digest);
      if (state !== undefined) {
        items[i] = { same: state };
        same++;
        continue;
      }
      items[i] = { raw: parseJsonBytes(bytes, `kubelet ${this.client.url}/pods item ${i}`), digest };
    }
    this.counters.podsUnchangedBytes += same;
    return items;
  }

  /** Diffs one poll's items against the last state; returns what to push and updates the state. */
  private apply(items: readonly PollItem[], ctx: CollectorContext): TagInfo[] {
    const out: TagInfo[] = [];
    const next = new Map<string, PodState>();
    for (const item of items) {
      if ('same' in item) {
        if (!next.has(item.same.uid)) next.set(item.same.uid, item.same);
        continue;
      }
      const uid = podUidOf(item.raw);
      if (uid === undefined) {
        this.counters.malformedPods++;
        continue;
      }
      if (next.has(uid)) continue;
      const fingerprint = `${podFingerprint(item.raw)}\u0000${podOriginFingerprint(item.raw)}`;
      const previous = this.pods.get(uid);
      if (previous !== undefined && previous.fingerprint === fingerprint) {
        next.set(uid, previous.digest === item.digest ? previous : { ...previous, digest: item.digest });
        continue;
      }
      const extracted = extractPod(item.raw, this.extractOptions);
      if (extracted === undefined) continue;
      this.counters.podsExtracted++;
      this.changedPods.push(uid);
      if (extracted.problems.length > 0) ctx.logger.debug({ pod: uid, problems: extracted.problems }, 'pod metadata partly unusable');
      out.push(...withOrigins(extracted.infos, podOrigin(item.raw), containerCgroupPaths(item.raw)));
      const gone = new Set<EntityId>(extracted.staleContainers);
      if (previous) for (const id of previous.entities) gone.add(id);
      for (const id of extracted.entities) gone.delete(id);
      for (const id of gone) out.push(deletionTagInfo(this.source, id));
      this.counters.deletionsPushed += gone.size;
      next.set(uid, { uid, fingerprint, entities: extracted.entities, digest: item.digest });
    }
    for (const [uid, state] of this.pods) {
      if (next.has(uid)) continue;
      for (const id of state.entities) out.push(deletionTagInfo(this.source, id));
      this.counters.deletionsPushed += state.entities.length;
    }
    this.pods = next;
    const byDigest = new Map<string, PodState>();
    for (const state of next.values()) if (state.digest !== undefined) byDigest.set(state.digest, state);
    this.byDigest = byDigest;
    if (out.length > 0) {
      const known = new Set<EntityId>();
      for (const state of next.values()) for (const id of state.entities) known.add(id);
      this.known = known;
    }
    return out;
  }
}

/** The pod's TagInfo (the first) carries its origin facts; each running container its cgroup paths. */
function withOrigins(infos: readonly TagInfo[], origin: OriginFacts | undefined, cgroupPaths: ReadonlyMap<EntityId, readonly string[]>): readonly TagInfo[] {
  const [pod, ...containers] = infos;
  if (!pod) return infos;
  const withPaths = containers.map((info) => {
    const paths = cgroupPaths.get(info.entity);
    return paths ? { ...info, origin: { cgroupPaths: paths } } : info;
  });
  return [origin ? { ...pod, origin } : pod, ...withPaths];
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
