/**
 * The contract between the tagger and its collectors. A collector watches one source and
 * pushes TagInfo batches; it works in one or more of three modes:
 * - streamer: `run()` follows the source until the signal aborts (Docker, containerd events);
 * - puller: `pull()` is called every `pullIntervalMs` and pushes only what changed (kubelet);
 * - fetcher: `fetch()` is asked on a cache miss for entities of `fetchPrefixes` (ECS; Docker and
 *   kubelet also answer misses).
 * Collectors never throw into the store: they log, count, retry, and report health.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { EntityId, TagInfo } from '../types.js';

export interface TagSink {
  push(infos: readonly TagInfo[]): void;
}

export interface CollectorContext {
  readonly sink: TagSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted when the tagger stops. */
  readonly signal: AbortSignal;
  /** Read access to the store, e.g. to learn which pods are known (containerd asks the kubelet). */
  readonly knows: (entity: EntityId, source?: string) => boolean;
  /** Asks another collector for an immediate fetch of an entity (containerd -> kubelet). */
  readonly requestFetch: (entity: EntityId) => void;
  /** Tells the tagger the first full sync is done (initial list, first poll): `ready()` waits for it. */
  readonly markSynced: () => void;
}

/**
 * `available`: start it; unavailable: not there yet, ask again later (with backoff). `denied`: it
 * is there but refuses us (EACCES on its socket, HTTP 401/403): still retried, but unhealthy with
 * the reason, since a permission to fix is not an absent source.
 */
export type DetectResult = { readonly available: true } | { readonly available: false; readonly reason: string; readonly denied?: boolean };

export interface CollectorHealth {
  readonly healthy: boolean;
  /** Why it is unhealthy, or what it is doing (`connected to unix:///var/run/docker.sock`). */
  readonly message: string;
}

/** What a fetch found: the TagInfos to store (the entity's and any siblings'), or nothing. */
export type FetchResult = { readonly found: true; readonly infos: readonly TagInfo[] } | { readonly found: false };

export interface Collector {
  /** The source name its TagInfos carry (`docker`, `kubelet`, `ecs`...). */
  readonly name: string;
  /** Entity prefixes (`container_id://`) this collector can fetch on a miss; none if no fetch(). */
  readonly fetchPrefixes?: readonly string[];
  /** Whether the source is present (a socket, a reachable URL). Absent: retried with backoff. */
  detect?(signal: AbortSignal): Promise<DetectResult>;
  /** Streamer: follows the source until ctx.signal aborts. Must handle its own reconnects. */
  run?(ctx: CollectorContext): Promise<void>;
  /** Puller: one poll; pushes only what changed since the last one. */
  pull?(ctx: CollectorContext): Promise<void>;
  readonly pullIntervalMs?: number;
  /** Fetcher: the tags of one entity, asked on a cache miss. */
  fetch?(entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult>;
  health(): CollectorHealth;
  /** What this collector knows of an entity beyond its tags, for `tagger explain` (an exit code). */
  explain?(entity: EntityId): readonly string[];
  /** Releases clients and sockets; called once after the tagger stops. */
  close?(): Promise<void>;
}
