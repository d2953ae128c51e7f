/**
 * A Map bounded to its `max` most recently used keys: reading or writing a key makes it the
 * newest, and a write past the bound drops the oldest. Map keeps insertion order, so "oldest" is
 * simply the first key. (Kept tiny on purpose: the project's bounded maps are to move to one
 * library later.)
 */
export class RecentMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key) as V;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}
