/**
 * What the fan-out bench's parent (fanout.bench.ts) and its subscriber child process
 * (fanout-subscribers.ts) share: the marker tag, the messages on the fork channel, the clock.
 */
import { performance } from 'node:perf_hooks';

/** The marker tag's prefix; the update's sequence number follows it. */
export const MARKER = 'bench_seq:';

/** Bare stream readers (decode only) or RemoteTagger replicas (decode and ingest). */
export type ClientKind = 'reader' | 'replica';

export type ToChild =
  | { readonly type: 'ping'; readonly t: number }
  | { readonly type: 'connect'; readonly socket: string; readonly token: string; readonly subscribers: number; readonly total: number; readonly client: ClientKind }
  | { readonly type: 'start' }
  | { readonly type: 'report' }
  | { readonly type: 'exit' };

export type FromChild =
  | { readonly type: 'pong'; readonly t: number; readonly childT: number }
  | { readonly type: 'synced'; readonly sizes: number[] }
  | { readonly type: 'complete' }
  | {
      readonly type: 'report';
      /** Per subscriber, per sequence number: when it was seen (epoch ms, sub-ms), 0 if never. */
      readonly seen: Float64Array[];
      readonly cpuMicros: number;
      readonly wallMs: number;
      /** Stream errors and reconnects across replicas (anything but 0 is a drop). */
      readonly errors: number;
      readonly disconnected: number;
    }
  | { readonly type: 'failed'; readonly message: string };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The sequence number of the marker among `low` tags, or -1. */
export function markerOf(low: readonly string[]): number {
  for (const tag of low) if (tag.startsWith(MARKER)) return Number(tag.slice(MARKER.length));
  return -1;
}
