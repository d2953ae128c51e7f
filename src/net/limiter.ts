/**
 * A counting semaphore with a bounded wait: at most `limit` holders at once, the others queued
 * in order until a holder releases, their wait times out, or their signal aborts. Used where a
 * burst must not become a stampede (initial stream syncs, ECS lookups against a failing agent).
 */
export class Limiter {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  /** Resolves with a release function, or undefined when the wait times out or the signal aborts. */
  async acquire(timeoutMs: number, signal: AbortSignal): Promise<(() => void) | undefined> {
    if (this.active < this.limit) return this.grant();
    return new Promise((resolve) => {
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
      const timer = setTimeout(giveUp, timeoutMs);
      signal.addEventListener('abort', giveUp, { once: true });
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', giveUp);
      };
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

