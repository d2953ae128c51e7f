import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { PermanentError, isTaggerError } from '../errors.js';
import { Backoff, reconnectForever, retry, sleep } from './backoff.js';

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

describe('retry', () => {
  const noSleep = async (): Promise<void> => undefined;

  it('retries until success, reporting each failure', async () => {
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { initialMs: 10, maxMs: 100, jitter: 0, sleep: noSleep, onRetry: (_e, delay) => seen.push(delay) },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([10, 20]);
  });

  it('stops at once on a PermanentError', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new PermanentError('API version too old');
        },
        { initialMs: 1, maxMs: 1, sleep: noSleep },
      ),
    ).rejects.toThrow('API version too old');
    expect(calls).toBe(1);
  });

  it('gives up after maxElapsedMs with the last error', async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          clock.advance(400);
          throw new Error(`try ${calls}`);
        },
        { initialMs: 100, maxMs: 100, jitter: 0, maxElapsedMs: 1_000, clock, sleep: async (ms) => clock.advance(ms) },
      ),
    ).rejects.toThrow('try 3'); // 400+100, 900+100 fit in 1,000 ms; 1,400+100 does not
  });

  it('ends with an AbortedError when aborted while waiting', async () => {
    const controller = new AbortController();
    const p = retry(async () => Promise.reject(new Error('down')), { initialMs: 60_000, maxMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    const error = await p.catch((e: unknown) => e);
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
