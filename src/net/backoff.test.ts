import { describe, expect, it } from 'vitest';
import { isTaggerError } from '../errors.js';
import { Backoff, reconnectForever, sleep } from './backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, with bounded jitter', () => {
    const exact = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => exact.next())).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    exact.reset();
    expect(exact.next()).toBe(100);
    const low = new Backoff({ initialMs: 1_000, maxMs: 1_000, jitter: 0.2 }, () => 0);
    const high = new Backoff({ initialMs: 1_000, maxMs: 1_000, jitter: 0.2 }, () => 1);
    expect([low.next(), high.next()]).toEqual([800, 1_200]);
  });
});

describe('sleep', () => {
  it('resolves after the delay, and rejects with an AbortedError once the signal aborts', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    const error = await waiting.catch((e: unknown) => e);
    expect(isTaggerError(error, 'TAGGER_ABORTED')).toBe(true);
    await expect(sleep(1, controller.signal)).rejects.toThrow('aborted');
  });
});

describe('reconnectForever', () => {
  it('restarts ended sessions after growing delays, from the first again once one opened', async () => {
    const ends: Array<[string, number]> = [];
    let n = 0;
    await reconnectForever(
      async (opened) => {
        n++;
        if (n === 3) opened();
        if (n === 4) return; // a clean end
        throw new Error(`session ${n}`);
      },
      {
        initialMs: 10,
        maxMs: 100,
        jitter: 0,
        signal: new AbortController().signal,
        sleep: async () => undefined,
        onEnd: (error, delay) => {
          ends.push([error === undefined ? 'ended' : (error as Error).message, delay]);
          return n < 5;
        },
      },
    );
    expect(ends).toEqual([
      ['session 1', 10],
      ['session 2', 20],
      ['session 3', 10],
      ['ended', 20],
      ['session 5', 40],
    ]);
  });

  it('stops when the signal aborts, without reporting that end', async () => {
    const controller = new AbortController();
    let ends = 0;
    await reconnectForever(
      async () => {
        controller.abort();
        throw new Error('down');
      },
      { initialMs: 10, maxMs: 10, signal: controller.signal, onEnd: () => void ends++ },
    );
    expect(ends).toBe(0);
  });
});
