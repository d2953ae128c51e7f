/**
 * GET /v1/status: what `agent status` shows of its tagger, as one JSON document for `tagger status`
 * and scripts. Counters are cumulative since the daemon started (the same numbers /metrics has);
 * entity counts are read from the store at request time (O(entities): a status call is rare).
 */
import type { CollectorState, TaggerPort } from '../tagger/tagger.js';
import type { ServerStats } from './metrics.js';

/** Who is answering, given by the daemon (the server itself knows neither). */
export interface StatusInfo {
  readonly version: string;
  readonly mode: string;
  /** Epoch ms the daemon started. */
  readonly startedAt: number;
}

export interface CollectorStatusBody {
  readonly state: CollectorState;
  readonly healthy: boolean;
  readonly message: string;
  /** Errors its loops survived since the daemon started (tagger_collector_errors_total). */
  readonly errors: number;
  /** ISO time of its latest full sync (initial list, successful poll), null before one. */
  readonly last_sync: string | null;
  /** ISO time it last pushed tags, null before it did. */
  readonly last_update: string | null;
  /** Its latest distinct warnings and errors, newest last; `count` repeats in a row. */
  readonly recent_errors: ReadonlyArray<{ readonly time: string; readonly message: string; readonly count: number }>;
}

export interface StatusBody {
  readonly version: string;
  readonly mode: string;
  readonly pid: number;
  readonly started_at: string;
  readonly uptime_seconds: number;
  readonly healthy: boolean;
  readonly collectors: Record<string, CollectorStatusBody>;
  readonly entities: {
    readonly total: number;
    readonly by_kind: Record<string, number>;
    readonly by_source: Record<string, Record<string, number>>;
    readonly pending_deletes: number;
    readonly tombstones: number;
  };
  readonly queries: Record<string, number>;
  readonly fetches: Record<string, number>;
  readonly ipc: {
    readonly requests: Record<string, number>;
    readonly auth_failures: number;
    readonly active_streams: number;
    readonly stream_drops: number;
    readonly stream_subscribers: number;
  };
}

export function statusBody(tagger: TaggerPort, stats: ServerStats, info: StatusInfo, now: number): StatusBody {
  const health = tagger.health();
  const counters = tagger.flushCounters();
  const store = tagger.storeStats();
  const collectors: Record<string, StatusBody['collectors'][string]> = {};
  for (const [name, h] of Object.entries(health.collectors)) {
    collectors[name] = {
      state: h.state,
      healthy: h.healthy,
      message: h.message,
      errors: counters.collectorErrors.get(name) ?? 0,
      last_sync: isoOrNull(h.lastSyncAt),
      last_update: isoOrNull(h.lastUpdateAt),
      recent_errors: h.recentErrors.map((e) => ({ time: new Date(e.at).toISOString(), message: e.message, count: e.count })),
    };
  }
  const byKind: Record<string, number> = {};
  for (const entity of tagger.list()) {
    const kind = entity.id.slice(0, Math.max(0, entity.id.indexOf('://')));
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  const bySource: Record<string, Record<string, number>> = {};
  for (const [key, n] of store.countBySourceAndKind()) {
    const [source = '', kind = ''] = key.split('\u0000');
    (bySource[source] ??= {})[kind] = n;
  }
  return {
    version: info.version,
    mode: info.mode,
    pid: process.pid,
    started_at: new Date(info.startedAt).toISOString(),
    uptime_seconds: Math.max(0, Math.round((now - info.startedAt) / 1000)),
    healthy: health.healthy,
    collectors,
    entities: { total: store.size, by_kind: byKind, by_source: bySource, pending_deletes: store.pendingDeleteCount, tombstones: store.tombstoneCount },
    queries: Object.fromEntries(counters.queries),
    fetches: Object.fromEntries(counters.fetches),
    ipc: {
      requests: Object.fromEntries(stats.requests),
      auth_failures: stats.authFailures,
      active_streams: stats.activeStreams,
      stream_drops: stats.streamDrops,
      stream_subscribers: store.subscriberCount,
    },
  };
}

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}
