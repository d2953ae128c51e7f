/**
 * `/events` carries no heartbeat, so a hung daemon (SIGSTOPped, deadlocked) would look healthy
 * forever: while the stream is open, `/_ping` it every `intervalMs` and report each answer.
 */
import { sleep } from '../../net/backoff.js';
import type { DockerClient } from './client.js';

export type PingResult = { ok: true } | { ok: false; reason: string };

/** Runs until `signal` aborts; `intervalMs` 0 or less: no pings. */
export async function watchLiveness(client: DockerClient, options: { intervalMs: number; timeoutMs: number }, signal: AbortSignal, onPing: (ping: PingResult) => void): Promise<void> {
  if (options.intervalMs <= 0) return;
  while (!signal.aborted) {
    try {
      await sleep(options.intervalMs, signal);
    } catch {
      return;
    }
    const ping = await client.ping(signal, options.timeoutMs);
    if (signal.aborted) return;
    onPing(ping);
  }
}
