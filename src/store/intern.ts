/**
 * A string pool. Tags such as `kube_namespace:default` are shared by thousands of entities; each
 * collector builds its own copy of the string per entity, so without a pool the heap grows with
 * entities x tags. With it, one copy per distinct tag is kept.
 *
 * The pool is swept rather than reference-counted: a count per string costs an object per
 * distinct tag and two map operations per tag on every update, while a sweep (the store marks
 * what its entities still use) runs only when the pool has doubled since the last one. The pool
 * therefore stays within about twice the live distinct tags, and never grows without bound.
 */
export class InternPool {
  private entries = new Map<string, string>();
  private sizeAfterSweep = 0;

  /** Returns the pooled copy of `s`. */
  intern(s: string): string {
    const pooled = this.entries.get(s);
    if (pooled !== undefined) return pooled;
    this.entries.set(s, s);
    return s;
  }

  /** True when enough may be dead that a sweep is worth its cost. */
  wantsSweep(minSize = 1_024): boolean {
    return this.entries.size >= minSize && this.entries.size >= 2 * this.sizeAfterSweep;
  }

  /** Keeps only the strings `markLive` reports (it calls `keep` for each one still in use). */
  sweep(markLive: (keep: (s: string) => void) => void): void {
    const live = new Map<string, string>();
    markLive((s) => {
      if (this.entries.get(s) === s) live.set(s, s);
    });
    this.entries = live;
    this.sizeAfterSweep = live.size;
  }

  get size(): number {
    return this.entries.size;
  }
}

export const EMPTY: readonly string[] = Object.freeze([]);
