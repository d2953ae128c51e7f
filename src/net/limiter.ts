import { subscribeAbort } from './abort-fanout.js';

/**
 * A counting semaphore with a bounded wait: at most `limit` holders at once, the others queued
 * in order until a holder releases, their wait times out, or their signal aborts. Used where a
 * burst must not become a stampede (initial stream syncs, ECS lookups against a failing agent,
 * Docker inspects, requests waiting for one of the HTTP client's connections).
 */
export class Limiter {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  /** Holders now. */
  get inUse(): number {
    return this.active;
  }

  /** Callers waiting for a release. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Resolves with a release function, or undefined when the wait times out or the signal aborts
   * (at once when it already has: a caller that gave up never takes a slot). `timeoutMs` may be
   * Infinity to wait for a release however long it takes.
   */
  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return undefined;
    if (this.active < this.limit) return this.grant();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe: (() => void) | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        unsubscribe?.();
      };
      const wake = (): void => {
        cleanup();
        resolve(this.grant());
      };
      const giveUp = (): void => {
        cleanup();
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      };
      // setTimeout would fire at once for Infinity (and overflow above 2^31 - 1 ms).
      if (Number.isFinite(timeoutMs)) timer = setTimeout(giveUp, Math.min(Math.max(0, timeoutMs), 2 ** 31 - 1));
      // Through subscribeAbort: a burst queues many waiters on one caller's signal.
      if (signal) unsubscribe = subscribeAbort(signal, giveUp);
      this.waiters.push(wake);
    });
  }

  private grant(): () => void {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiters.shift()?.();
    };
  }
}
