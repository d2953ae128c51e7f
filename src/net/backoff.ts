/**
 * The one backoff helper: exponential delays with jitter and a cap (Backoff), the reconnect loop
 * every long-lived session runs in (reconnectForever: delays start over once a session opened),
 * and an abortable sleep. Named presets keep the numbers in one place instead of copies at each
 * call site.
 */
import { AbortedError } from '../errors.js';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Fraction of each delay that is randomised (0 to 1). Default 0.2. */
  readonly jitter?: number;
  readonly multiplier?: number;
}

export const BackoffPresets = {
  /** Docker, containerd: reconnect to a local engine. */
  engineReconnect: { initialMs: 250, maxMs: 30_000 },
  /** A collector whose source is not there yet (Docker not started): keep looking, slowly. */
  detect: { initialMs: 1_000, maxMs: 60_000 },
  /** A remote replica following its daemon's stream. */
  remoteStream: { initialMs: 500, maxMs: 5 * 60_000 },
  /** A failed poll (kubelet): retry sooner than the next interval, up to a minute. */
  poll: { initialMs: 1_000, maxMs: 60_000 },
  /** A Kubernetes list or watch that failed (client-go's reflector: 800 ms doubling to 30 s). */
  apiServer: { initialMs: 800, maxMs: 30_000 },
  /**
   * A node daemon following a cluster instance: the instance is one Service for every node, so a
   * redeploy must not leave nodes minutes behind it (a local sidecar's 5 min cap), and the jitter
   * spreads the nodes' reconnects.
   */
  clusterAgent: { initialMs: 500, maxMs: 30_000, jitter: 0.5 },
} as const satisfies Record<string, BackoffOptions>;

/** Delay sequence for one series of attempts; reset() after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt. */
  next(): number {
    const { initialMs, maxMs, jitter = 0.2, multiplier = 2 } = this.options;
    const base = Math.min(maxMs, initialMs * multiplier ** this.attempt);
    this.attempt++;
    const spread = base * jitter;
    return Math.max(0, Math.round(base - spread + this.random() * 2 * spread));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

export interface ReconnectOptions extends BackoffOptions {
  readonly signal: AbortSignal;
  /**
   * Called when a session ends, with its error (undefined when it returned) and the delay before
   * the next one. Returning false stops the loop.
   */
  readonly onEnd?: (error: unknown, delayMs: number) => boolean | void;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `session` until the signal aborts, starting it again after each end (a return or a throw)
 * once a backoff delay has passed. A session calls `opened()` when it is established (a stream's
 * headers came): the delays then start again from the first, so a long-lived connection that drops
 * is retried at once, and a source that keeps refusing is asked less and less often.
 */
export async function reconnectForever(session: (opened: () => void) => Promise<void>, options: ReconnectOptions): Promise<void> {
  const backoff = new Backoff(options);
  const wait = options.sleep ?? sleep;
  while (!options.signal.aborted) {
    let error: unknown;
    try {
      await session(() => backoff.reset());
    } catch (caught) {
      error = caught;
    }
    if (options.signal.aborted) return;
    const delay = backoff.next();
    if (options.onEnd?.(error, delay) === false) return;
    try {
      await wait(delay, options.signal);
    } catch {
      return;
    }
  }
}

/** Resolves after `ms`, or rejects with AbortedError when the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortedError('sleep'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError('sleep'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
