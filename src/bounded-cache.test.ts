import { describe, expect, it } from 'vitest';
import { boundedCache } from './bounded-cache.js';
import { ManualClock } from './clock.js';

describe('boundedCache', () => {
  it('drops only the least recently used key past its bound, never everything at once', () => {
    const cache = boundedCache<string, number>({ max: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the newest
    cache.set('d', 4); // b was the oldest
    expect(cache.size).toBe(3);
    expect(cache.has('b')).toBe(false);
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
    cache.set('c', 30); // an overwrite keeps the size
    expect(cache.size).toBe(3);
    expect(cache.get('c')).toBe(30);
  });

  it('keeps a wrapped "none" as an entry (a lookup that found nothing is remembered too)', () => {
    const cache = boundedCache<string, { name: string | undefined }>({ max: 2 });
    cache.set('x', { name: undefined });
    expect(cache.has('x')).toBe(true);
    expect(cache.get('x')).toEqual({ name: undefined });
  });

  it('makes an entry stale ttlMs after it was set, on the injected clock, from epoch 0 too', () => {
    const clock = new ManualClock(0);
    const cache = boundedCache<string, string>({ max: 10, ttlMs: 1_000, clock });
    cache.set('a', 'A');
    clock.advance(1_000);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
  });

  it('is bounded with a TTL as without', () => {
    const clock = new ManualClock(5_000);
    const cache = boundedCache<number, number>({ max: 100, ttlMs: 60_000, clock });
    for (let i = 0; i < 1_000; i++) cache.set(i, i);
    expect(cache.size).toBe(100);
    expect(cache.get(999)).toBe(999);
    expect(cache.get(0)).toBeUndefined();
  });
});
