/**
 * The /v1/stream encoder of one server: events to NDJSON chunks of about a size, with a cache of
 * recent encodings keyed on each event's tags version (see TagsVersion). A change is encoded once
 * for all its subscribers, and a snapshot sent soon after another reuses the first one's work
 * (figures in docs/http-api.md and bench/README.md). The wire layout itself is protocol.ts's.
 */
import type { Clock } from '../clock.js';
import type { Cardinality, EntityEvent, TagsVersion } from '../types.js';
import { LINE_TAIL, entityJson, lineHead } from './protocol.js';

/** A snapshot goes out in writes of about this size, so one write never holds the whole store. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/**
 * Encodings by version, kept for one to two periods after their last use: kept for ever, they
 * would add their wire size to every entity of a daemon that once served a stream. Weak: an entry
 * also goes with its version.
 */
export class RecentEncodings {
  private current = new WeakMap<TagsVersion, string>();
  private previous = new WeakMap<TagsVersion, string>();
  private turnedAt: number;

  constructor(
    private readonly periodMs: number,
    private readonly clock: Clock,
  ) {
    this.turnedAt = clock.now();
  }

  get(version: TagsVersion): string | undefined {
    let json = this.current.get(version);
    if (json === undefined) {
      json = this.previous.get(version);
      if (json !== undefined) this.current.set(version, json);
    }
    return json;
  }

  set(version: TagsVersion, json: string): void {
    this.current.set(version, json);
  }

  /** Forgets everything. */
  clear(): void {
    this.current = new WeakMap();
    this.previous = new WeakMap();
  }

  /** Forgets what was not used for a whole period; call before a round of encoding. */
  turn(): void {
    const now = this.clock.now();
    if (now - this.turnedAt < this.periodMs) return;
    this.previous = now - this.turnedAt < 2 * this.periodMs ? this.current : new WeakMap();
    this.current = new WeakMap();
    this.turnedAt = now;
  }
}

export interface StreamEncoderOptions {
  readonly clock: Clock;
  /** How long an unused encoding is kept: one to two of these. Default 60 s. */
  readonly periodMs?: number;
}

export class StreamEncoder {
  /** One cache per cardinality: an event's tags depend on its subscriber's. */
  private readonly caches: Readonly<Record<Cardinality, RecentEncodings>>;

  constructor(options: StreamEncoderOptions) {
    const periodMs = options.periodMs ?? 60_000;
    this.caches = { low: new RecentEncodings(periodMs, options.clock), orchestrator: new RecentEncodings(periodMs, options.clock), high: new RecentEncodings(periodMs, options.clock) };
  }

  /**
   * Events made for a subscription at `cardinality`, as NDJSON text in chunks of about `maxBytes`
   * (a single larger line is its own chunk), lazily: a writer waiting on backpressure holds one
   * chunk, not the whole store.
   */
  *chunks(batches: Iterable<readonly EntityEvent[]>, cardinality: Cardinality, maxBytes = SNAPSHOT_CHUNK_BYTES): Generator<string> {
    const cache = this.caches[cardinality];
    cache.turn();
    let parts: string[] = [];
    let size = 0;
    for (const batch of batches) {
      for (const event of batch) {
        const before = parts.length;
        const lineSize = pushEvent(parts, event, cache);
        if (size > 0 && size + lineSize > maxBytes) {
          const line = parts.splice(before);
          yield parts.join('');
          parts = line;
          size = 0;
        }
        size += lineSize;
      }
    }
    if (size > 0) yield parts.join('');
  }

  /** Forgets every cached encoding: the next snapshot encodes from scratch (benchmarks measure it). */
  clear(): void {
    for (const cache of Object.values(this.caches)) cache.clear();
  }
}

/**
 * Appends an event's line to `parts` (for one join() per chunk) and returns its length. Strings
 * built with `+` are trees of cons cells that V8 flattens only when they are written: for a
 * snapshot of many lines the cells cost more (GC, then flattening) than the encoding itself.
 * join() and JSON.stringify give flat strings, which is also what the cache keeps.
 */
function pushEvent(parts: string[], event: EntityEvent, cache: RecentEncodings): number {
  const version = event.type === 'deleted' ? undefined : event.version;
  let json = version && cache.get(version);
  if (json === undefined) {
    json = entityJson(event);
    if (version) cache.set(version, json);
  }
  const head = lineHead(event.type);
  parts.push(head, json, LINE_TAIL);
  return head.length + json.length + LINE_TAIL.length;
}
