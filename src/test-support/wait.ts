/**
 * Polling waits for tests: the one helper every test that waits on a collector, a store or an
 * engine uses (left out of the build with the other test-support folders).
 */
import { setTimeout as sleep } from 'node:timers/promises';

type Maybe<T> = T | undefined | null | false;

/** Polls `check` until it returns a value (not undefined, null or false), and returns it. */
export async function waitForValue<T>(check: () => Maybe<T> | Promise<Maybe<T>>, what: string, timeoutMs: number, intervalMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Polls `check` until it is true. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition', intervalMs = 5): Promise<void> {
  await waitForValue(async () => (await check()) || undefined, what, timeoutMs, intervalMs);
}
