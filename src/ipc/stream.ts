/**
 * One /v1/stream response: the snapshot in size-capped chunks, `synced`, then live events and
 * heartbeats. The store never waits for a reader: events queue in the subscription (bounded), the
 * writer waits for socket drain before taking more, and a subscriber whose queue overflows is
 * closed by the store and disconnected here (it reconnects and resyncs). Initial syncs are the
 * expensive part, so only a few run at once.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { PodPlacement } from '../collectors/cluster-agent/ports.js';
import type { TaggerPort } from '../tagger/tagger.js';
import type { Cardinality, EntityEvent, EntityId, EventEntity, MergedTags } from '../types.js';
import type { ServerStats } from './metrics.js';
import type { Limiter } from '../net/limiter.js';
import { NodeFilter } from './node-filter.js';
import { HEARTBEAT_LINE, SYNCED_LINE } from './protocol.js';
import type { StreamEncoder } from './stream-encoding.js';

/** Bytes a stream may have buffered before it waits for the reader (see write() below). */
export const WRITE_AHEAD_BYTES = 1024 * 1024;

export interface StreamDeps {
  readonly tagger: TaggerPort;
  /** The server's encoder: its cache spans every stream of the server. */
  readonly encoder: StreamEncoder;
  readonly logger: Logger;
  readonly stats: ServerStats;
  readonly limiter: Limiter;
  readonly heartbeatMs: number;
  readonly maxPendingEvents: number;
  readonly syncWaitMs: number;
  /** A write not drained for this long means the reader is stuck: it is dropped. */
  readonly stallTimeoutMs: number;
  /** Aborted when the server stops: streams end cleanly. */
  readonly closing: AbortSignal;
  /** Where pods run (a cluster instance): needed by a stream with a `node` filter. */
  readonly placement?: PodPlacement;
}

export interface StreamQuery {
  readonly cardinality: Cardinality;
  readonly prefixes: readonly string[];
  /** Only this node's pods and the global entity (see node-filter.ts); needs deps.placement. */
  readonly node?: string;
}

/** The headers of a /v1/stream response (also HEAD's whole answer). */
export function streamHeaders(heartbeatMs: number): Record<string, string> {
  return { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-tagger-heartbeat-ms': String(heartbeatMs) };
}

/** Serves one stream until the client goes, falls behind, or the server stops. */
export async function serveStream(res: ServerResponse, query: StreamQuery, deps: StreamDeps): Promise<void> {
  const gone = new AbortController();
  const onGone = (): void => gone.abort();
  res.on('close', onGone);
  deps.closing.addEventListener('abort', onGone, { once: true });
  const signal = gone.signal;

  deps.stats.pendingSyncs++;
  const release = await deps.limiter.acquire(deps.syncWaitMs, signal);
  deps.stats.pendingSyncs--;
  if (!release) {
    cleanupListeners();
    if (!res.headersSent && !res.destroyed) {
      const body = JSON.stringify({ error: 'too many streams syncing at once; retry later' });
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'content-length': Buffer.byteLength(body) }).end(body);
    }
    return;
  }

  deps.stats.activeStreams++;
  // Live events queue from here on; the snapshot is read from the store as the socket takes it.
  const nodeFilter = query.node !== undefined && deps.placement ? new NodeFilter(query.node, deps.placement) : undefined;
  const sub = deps.tagger.subscribe({
    cardinality: query.cardinality,
    prefixes: query.prefixes,
    maxPendingEvents: deps.maxPendingEvents,
    name: nodeFilter ? `ipc-stream node=${nodeFilter.node}` : 'ipc-stream',
    snapshot: false,
    ...(nodeFilter ? { filter: nodeFilter.matches } : {}),
  });
  // A pod bound to the node after its tags existed: events queued in order with the store's.
  const unlistenPlacement =
    nodeFilter && deps.placement?.onPlacementChanged?.((uids) => {
      const events = nodeFilter.placementEvents(uids, (id) => currentEntity(deps.tagger, id, query.cardinality));
      if (events.length > 0) sub.deliver(events);
    });
  const view = (batches: Iterable<readonly EntityEvent[]>): Iterable<readonly EntityEvent[]> => (nodeFilter ? translated(nodeFilter, batches) : batches);
  sub.onClose((reason) => {
    if (reason === 'closed') return;
    deps.stats.streamDrops++;
    deps.logger.warn({ reason, cardinality: query.cardinality }, 'stream subscriber fell behind; disconnecting it');
    res.destroy();
  });
  signal.addEventListener('abort', () => sub.close(), { once: true });
  // A reader that takes no bytes at all for stallTimeoutMs is gone (or hostile): without this it
  // would hold its sync slot for ever when it stops mid-snapshot and the store is quiet.
  // Up to WRITE_AHEAD_BYTES may wait in the response's buffer: waiting for 'drain' at every
  // 16 KiB high-water mark would make a snapshot a ping-pong of waits with the reader.
  // Below that, a turn of the event loop per chunk: node:http holds a response's writes until the
  // next tick, so without it the first bytes left only after 1 MiB had been encoded.
  const write = async (chunk: string): Promise<void> => {
    res.write(chunk);
    if (res.writableLength <= WRITE_AHEAD_BYTES) return nextTurn();
    if (await drained(res, signal, deps.stallTimeoutMs)) return;
    deps.stats.streamDrops++;
    deps.logger.warn({ stalledMs: deps.stallTimeoutMs, cardinality: query.cardinality }, 'stream reader took nothing for too long; disconnecting it');
    res.destroy();
    gone.abort();
  };
  let heartbeat: NodeJS.Timeout | undefined;
  let syncReleased = false;
  const releaseSync = (): void => {
    if (!syncReleased) {
      syncReleased = true;
      release();
    }
  };
  try {
    res.writeHead(200, streamHeaders(deps.heartbeatMs));
    res.flushHeaders();
    for (const chunk of deps.encoder.chunks(view(deps.tagger.snapshotBatches(sub)), query.cardinality)) {
      if (signal.aborted) return;
      await write(chunk);
    }
    if (signal.aborted) return;
    res.write(SYNCED_LINE);
    releaseSync();
    heartbeat = setInterval(() => {
      // A reader that has not drained the last write needs no keepalive.
      if (!res.writableNeedDrain && !res.destroyed) res.write(HEARTBEAT_LINE);
    }, deps.heartbeatMs);
    heartbeat.unref();
    while (!signal.aborted) {
      const batch = await sub.next();
      if (!batch) break;
      // Coalesce what queued meanwhile into as few writes as possible.
      const batches = [batch, ...sub.drain()];
      for (const chunk of deps.encoder.chunks(view(batches), query.cardinality)) {
        await write(chunk);
        if (signal.aborted) break;
      }
    }
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    unlistenPlacement?.();
    releaseSync();
    sub.close();
    deps.stats.activeStreams--;
    cleanupListeners();
    if (!res.destroyed && !res.writableEnded) res.end();
  }

  function cleanupListeners(): void {
    res.off('close', onGone);
    deps.closing.removeEventListener('abort', onGone);
  }
}

function* translated(filter: NodeFilter, batches: Iterable<readonly EntityEvent[]>): Generator<readonly EntityEvent[]> {
  for (const batch of batches) {
    const out = filter.translate(batch);
    if (out.length > 0) yield out;
  }
}

/** The entity as a subscriber at `cardinality` would get it in an event, or undefined. */
function currentEntity(tagger: TaggerPort, id: EntityId, cardinality: Cardinality): EventEntity | undefined {
  const tags = tagger.introspect(id).snapshot?.tags;
  return tags && { id, tags: upTo(tags, cardinality) };
}

const NONE: readonly string[] = Object.freeze([]);

function upTo(tags: MergedTags, cardinality: Cardinality): MergedTags {
  if (cardinality === 'high') return tags;
  return { low: tags.low, orchestrator: cardinality === 'orchestrator' ? tags.orchestrator : NONE, high: NONE, standard: tags.standard };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves true on 'drain' (or at once when the stream is gone), false when `stallMs` passes first. */
function drained(res: ServerResponse, signal: AbortSignal, stallMs: number): Promise<boolean> {
  if (signal.aborted || res.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve(ok);
    };
    const done = (): void => finish(true);
    const timer = setTimeout(() => finish(false), stallMs);
    res.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
