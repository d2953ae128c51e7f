/**
 * A reference-counted string pool. Tags such as `kube_namespace:default` are shared by
 * thousands of entities; each collector builds its own copy of the string per entity, so without
 * a pool the heap grows with entities x tags. With it, one copy per distinct tag is kept, and a
 * tag no entity uses any more leaves the pool, so the pool never grows without bound.
 */
interface PoolEntry {
  readonly value: string;
  refs: number;
}

export class InternPool {
  private readonly entries = new Map<string, PoolEntry>();

  /** Returns the pooled copy of `s`, adding a reference. */
  intern(s: string): string {
    const entry = this.entries.get(s);
    if (entry) {
      entry.refs++;
      return entry.value;
    }
    this.entries.set(s, { value: s, refs: 1 });
    return s;
  }

  /** Interns every element, returning a frozen array of pooled strings. */
  internAll(list: readonly string[]): readonly string[] {
    if (list.length === 0) return EMPTY;
    const out = new Array<string>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = this.intern(list[i] as string);
    return Object.freeze(out);
  }

  release(s: string): void {
    const entry = this.entries.get(s);
    if (entry && --entry.refs <= 0) this.entries.delete(s);
  }

  releaseAll(list: readonly string[]): void {
    for (const s of list) this.release(s);
  }

  get size(): number {
    return this.entries.size;
  }
}

export const EMPTY: readonly string[] = Object.freeze([]);

