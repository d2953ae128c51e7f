import { describe, expect, it } from 'vitest';
import { RecentMap } from './recent-map.js';

describe('RecentMap', () => {
  it('drops only the least recently used key past its bound, never everything at once', () => {
    const map = new RecentMap<string, number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    expect(map.get('a')).toBe(1); // a is now the newest
    map.set('d', 4); // b was the oldest
    expect(map.size).toBe(3);
    expect(map.has('b')).toBe(false);
    expect([map.get('a'), map.get('c'), map.get('d')]).toEqual([1, 3, 4]);
    map.set('c', 30); // an overwrite keeps the size
    expect(map.size).toBe(3);
    expect(map.get('c')).toBe(30);
  });

  it('keeps undefined values as entries (a lookup that found nothing is remembered too)', () => {
    const map = new RecentMap<string, string | undefined>(2);
    map.set('x', undefined);
    expect(map.has('x')).toBe(true);
    expect(map.get('x')).toBeUndefined();
  });
});
