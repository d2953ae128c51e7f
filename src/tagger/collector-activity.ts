/**
 * What `tagger status` shows of a collector beyond its health: when it last synced in full, when it
 * last pushed anything, and its recent errors. Errors are what the collector itself logs at warn or
 * error (every collector already logs each failure it survives: a dropped stream, a failed poll, a
 * malformed payload), so nothing has to be reported twice. Kept small: the last RECENT_ERRORS
 * distinct messages, a repeat counted on its entry instead of pushing the others out.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export const RECENT_ERRORS = 5;

export interface RecentError {
  /** Epoch ms of the latest occurrence. */
  readonly at: number;
  readonly message: string;
  /** Occurrences in a row since the first (1 for a one-off). */
  readonly count: number;
}

export interface CollectorActivityView {
  /** Epoch ms of the latest full sync (a stream's initial list, a successful poll); undefined before one. */
  readonly lastSyncAt: number | undefined;
  /** Epoch ms of the latest batch pushed to the store; undefined before one. */
  readonly lastUpdateAt: number | undefined;
  /** Newest last. */
  readonly recentErrors: readonly RecentError[];
}

export class CollectorActivity {
  private syncAt: number | undefined;
  private updateAt: number | undefined;
  private readonly errors: RecentError[] = [];

  constructor(private readonly clock: Clock) {}

  synced(): void {
    this.syncAt = this.clock.now();
  }

  updated(): void {
    this.updateAt = this.clock.now();
  }

  error(message: string): void {
    const at = this.clock.now();
    const last = this.errors[this.errors.length - 1];
    if (last?.message === message) {
      this.errors[this.errors.length - 1] = { at, message, count: last.count + 1 };
      return;
    }
    this.errors.push({ at, message, count: 1 });
    if (this.errors.length > RECENT_ERRORS) this.errors.shift();
  }

  view(): CollectorActivityView {
    return { lastSyncAt: this.syncAt, lastUpdateAt: this.updateAt, recentErrors: [...this.errors] };
  }
}

/**
 * `inner`, with every warn and error line also recorded in `activity` as `message: error`. Children
 * record into the same activity, so a collector's sub-components count too.
 */
export function recordingLogger(inner: Logger, activity: CollectorActivity): Logger {
  // Arguments are passed on as given (pino reads their number).
  const record =
    (level: 'warn' | 'error') =>
    (...args: Parameters<Logger['warn']>): void => {
      activity.error(describe(args[0], args[1]));
      inner[level](...args);
    };
  return {
    trace: (...args) => inner.trace(...args),
    debug: (...args) => inner.debug(...args),
    info: (...args) => inner.info(...args),
    warn: record('warn'),
    error: record('error'),
    child: (bindings) => recordingLogger(inner.child(bindings), activity),
  };
}

function describe(obj: Record<string, unknown> | string, msg: string | undefined): string {
  if (typeof obj === 'string') return obj;
  const reason = obj.error ?? obj.reason;
  const text = msg ?? '';
  if (typeof reason !== 'string' || reason === '') return text;
  return text === '' ? reason : `${text}: ${reason}`;
}
