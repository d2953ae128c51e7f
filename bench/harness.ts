/**
 * The benchmark harness: every figure is printed as JSON beside a baseline measured in the same
 * process and run, so the ratio means something on a shared, noisy machine. Goals are reported,
 * not enforced, except where a budget is stable enough to assert (see bench/README.md).
 */

export interface BenchFigure {
  /** e.g. `store.query_hit` */
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The same work done the simplest possible way, measured in the same run. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** value / baseline (for rates: ours over theirs; for times: ours over theirs). */
  readonly ratio?: number;
  /** The goal in words, and whether this run met it. */
  readonly goal?: string;
  readonly met?: boolean;
  readonly details?: Readonly<Record<string, number | string>>;
}

export interface BenchSuite {
  readonly name: string;
  /** Returns its figures; may return [] with a reason in `skipped` (e.g. no engine). */
  run(): Promise<{ figures: BenchFigure[]; skipped?: string }>;
}

/** A time per request beside its baseline's, with the goal `ours / baseline <= limit`. */
export function requestTimeFigure(name: string, oursMs: number, baselineMs: number, baselineName: string, goal: { text: string; limit: number }, details: Readonly<Record<string, number | string>>): BenchFigure {
  return {
    name,
    value: round(oursMs * 1000, 1),
    unit: 'µs/request',
    baseline: { name: baselineName, value: round(baselineMs * 1000, 1) },
    ratio: round(oursMs / baselineMs, 2),
    goal: goal.text,
    met: oursMs / baselineMs <= goal.limit,
    details,
  };
}

/** Operations per second of `fn`, run in batches of `batch` calls for at least `minMs`. */
export function opsPerSecond(fn: (i: number) => void, minMs = 300, batch = 10_000): number {
  for (let i = 0; i < batch; i++) fn(i); // warm up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < batch; i++) fn(ops + i);
    ops += batch;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (ops / elapsed) * 1000;
}

/**
 * Rates of a subject and its baseline, measured in alternating rounds and each kept at its best,
 * so a neighbour's burst on a shared machine penalises neither side more than the other.
 */
export function compareRates(subject: () => number, baseline: () => number, rounds = 5): { subject: number; baseline: number; ratio: number } {
  let s = 0;
  let b = 0;
  for (let i = 0; i < rounds; i++) {
    b = Math.max(b, baseline());
    s = Math.max(s, subject());
  }
  return { subject: s, baseline: b, ratio: s / b };
}

/** Best of `rounds` runs, which filters out a neighbour's burst on a shared machine. */
export function bestOf(rounds: number, measure: () => number): number {
  let best = 0;
  for (let i = 0; i < rounds; i++) best = Math.max(best, measure());
  return best;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Heap in use after a full GC (node --expose-gc). */
export function usedHeapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
