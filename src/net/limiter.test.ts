import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.js';

describe('Limiter', () => {
  it('grants up to the limit, queues the rest in order, and wakes the next on release', async () => {
    const limiter = new Limiter(2);
    const signal = new AbortController().signal;
    const a = await limiter.acquire(1_000, signal);
    const b = await limiter.acquire(1_000, signal);
    const order: string[] = [];
    const c = limiter.acquire(1_000, signal).then((r) => (order.push('c'), r));
    const d = limiter.acquire(1_000, signal).then((r) => (order.push('d'), r));
    a?.();
    a?.(); // a second release of the same grant frees nothing more
    expect(await c).toBeTypeOf('function');
    expect(order).toEqual(['c']);
    b?.();
    expect(await d).toBeTypeOf('function');
    expect(order).toEqual(['c', 'd']);
  });

  it('an already-aborted signal gives up at once, even with a timeout far away', async () => {
    const limiter = new Limiter(1);
    const held = await limiter.acquire(60_000, new AbortController().signal);
    const aborted = AbortSignal.abort();
    const started = Date.now();
    expect(await limiter.acquire(60_000, aborted)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    // A free slot is not taken by a caller that has already given up.
    held?.();
    expect(await limiter.acquire(60_000, aborted)).toBeUndefined();
    const next = await limiter.acquire(10, new AbortController().signal);
    expect(next).toBeTypeOf('function');
  });

  it('an abort while queued gives up at once; a timeout gives up after it; Infinity waits for a release', async () => {
    const limiter = new Limiter(1);
    const held = await limiter.acquire(1_000, new AbortController().signal);
    const controller = new AbortController();
    const waiting = limiter.acquire(60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
    const started = Date.now();
    expect(await limiter.acquire(30, new AbortController().signal)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const forever = limiter.acquire(Number.POSITIVE_INFINITY);
    await new Promise((r) => setTimeout(r, 30));
    held?.();
    expect(await forever).toBeTypeOf('function');
  });
});

describe('Limiter under a burst of waiters sharing one signal', () => {
  it('hangs one abort listener on the signal, not one per waiter, and its abort gives them all up', async () => {
    const limiter = new Limiter(1);
    const controller = new AbortController();
    const held = await limiter.acquire(60_000, controller.signal);
    const waiting = Array.from({ length: 30 }, () => limiter.acquire(60_000, controller.signal));
    expect(limiter.queued).toBe(30);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await Promise.all(waiting)).toEqual(waiting.map(() => undefined));
    expect(limiter.queued).toBe(0);
    held?.();
    expect(limiter.inUse).toBe(0);
  });
});
