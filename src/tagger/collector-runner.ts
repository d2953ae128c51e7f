/**
 * One collector under the local tagger's supervision: detection until its source is there (with
 * backoff), then its stream, restarted with backoff when run() gives up or throws, and its pull
 * loop, which keeps the last good state when a poll fails. Readiness never waits for a source that
 * is absent or failing: health reports it instead.
 */
import type { Clock } from '../clock.js';
import type { Collector, CollectorContext, CollectorHealth, FetchResult, TagSink } from '../collectors/collector.js';
import { causeMessage, isAccessDenied } from '../errors.js';
import type { Logger } from '../logger.js';
import { Backoff, BackoffPresets, reconnectForever, sleep } from '../net/backoff.js';
import type { EntityId } from '../types.js';
import { CollectorActivity, recordingLogger } from './collector-activity.js';
import type { CollectorState, CollectorStatus } from './tagger.js';

/** What a runner needs from its tagger. */
export interface RunnerHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sink: TagSink;
  knows(entity: EntityId, source?: string): boolean;
  requestFetch(entity: EntityId): void;
  /** The collector's first full sync is done (or it is absent, or failing). */
  onSynced(): void;
  /** The collector's loop caught an error. */
  onError(): void;
}

export class CollectorRunner {
  readonly collector: Collector;
  private stateNow: CollectorState = 'stopped';
  private detectMessage = 'not started';
  /** The last detection found the source but was refused (see DetectResult.denied). */
  private detectDenied = false;
  private syncedNow = false;
  /** Made once the collector runs; its loops and every fetch share it (no logger child per fetch). */
  private ctx: CollectorContext | undefined;
  private readonly log: Logger;
  private readonly activity: CollectorActivity;
  /** The sink the collector pushes to: the tagger's, noting when it last did. */
  private readonly sink: TagSink;

  constructor(
    collector: Collector,
    private readonly host: RunnerHost,
  ) {
    this.collector = collector;
    this.activity = new CollectorActivity(host.clock);
    // What the collector logs at warn or error is what `tagger status` lists as its recent errors.
    this.log = recordingLogger(host.logger.child({ collector: collector.name }), this.activity);
    this.sink = {
      push: (infos) => {
        this.activity.updated();
        host.sink.push(infos);
      },
    };
  }

  get name(): string {
    return this.collector.name;
  }

  get state(): CollectorState {
    return this.stateNow;
  }

  get synced(): boolean {
    return this.syncedNow;
  }

  get isFetcher(): boolean {
    return this.collector.fetch !== undefined;
  }

  /** Running, with a fetch() for IDs of this kind. */
  canFetch(id: EntityId): boolean {
    const c = this.collector;
    if (this.stateNow !== 'running' || c.fetch === undefined || c.fetchPrefixes === undefined) return false;
    for (const prefix of c.fetchPrefixes) if (id.startsWith(prefix)) return true;
    return false;
  }

  /** Asks the collector for one entity (the caller checked canFetch). */
  fetch(id: EntityId, signal: AbortSignal): Promise<FetchResult> {
    const { collector } = this;
    if (!collector.fetch || !this.ctx) return Promise.resolve({ found: false });
    return collector.fetch.call(collector, id, this.ctx, signal);
  }

  /** `started`: whether the tagger is; a stopped collector of a stopped tagger is not unhealthy. */
  health(started: boolean): CollectorStatus {
    const h: CollectorHealth = this.stateNow === 'running' ? this.collector.health() : { healthy: !this.detectDenied && (this.stateNow !== 'stopped' || !started), message: this.detectMessage };
    return { healthy: h.healthy, message: h.message, state: this.stateNow, ...this.activity.view() };
  }

  /** The collector's own notes on an entity (see Collector.explain). */
  notes(entity: EntityId): readonly string[] {
    return this.collector.explain?.(entity) ?? [];
  }

  markStopped(): void {
    this.stateNow = 'stopped';
  }

  /** Detects, then runs the collector's loops until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { collector, log } = this;
    this.stateNow = 'detecting';
    this.detectMessage = 'detecting';
    const detectBackoff = new Backoff(BackoffPresets.detect);
    while (collector.detect && !signal.aborted) {
      let reason: string;
      let denied: boolean;
      try {
        const result = await collector.detect(signal);
        if (result.available) break;
        reason = result.reason;
        denied = result.denied === true;
      } catch (error) {
        reason = causeMessage(error);
        denied = isAccessDenied(error);
      }
      this.detectDenied = denied;
      this.detectMessage = denied ? `access denied: ${reason}` : `not detected: ${reason}`;
      // A source that refuses us is an error to fix; one that is absent is not.
      if (denied) this.activity.error(this.detectMessage);
      // Not there yet: readiness does not wait for a source that may never come.
      this.markSynced();
      log.debug({ reason }, 'collector not available, will retry');
      if (!(await sleepUnlessAborted(detectBackoff.next(), signal))) return;
    }
    if (signal.aborted) return;
    this.detectDenied = false;
    this.syncedNow = false;
    this.stateNow = 'running';
    log.info({}, 'collector started');
    const ctx = (this.ctx = this.context(signal));
    const tasks: Array<Promise<void>> = [];
    if (collector.run) tasks.push(this.superviseStream(ctx));
    if (collector.pull) tasks.push(this.pullLoop(ctx));
    if (!collector.run && !collector.pull) ctx.markSynced();
    await Promise.all(tasks);
  }

  private markSynced(): void {
    if (this.syncedNow) return;
    this.syncedNow = true;
    this.host.onSynced();
  }

  private context(signal: AbortSignal): CollectorContext {
    const { host } = this;
    return {
      sink: this.sink,
      clock: host.clock,
      logger: this.log,
      signal,
      knows: (entity, source) => host.knows(entity, source),
      requestFetch: (entity) => host.requestFetch(entity),
      markSynced: () => {
        this.activity.synced();
        this.markSynced();
      },
    };
  }

  private async superviseStream(ctx: CollectorContext): Promise<void> {
    const { collector, log } = this;
    // A streamer handles its own reconnects; this only restarts one whose run() gave up or threw.
    // The backoff starts over only after a run that synced: one that returns at once backs off.
    let synced = false;
    const runCtx: CollectorContext = {
      ...ctx,
      markSynced: () => {
        synced = true;
        ctx.markSynced();
      },
    };
    await reconnectForever(
      async (opened) => {
        synced = false;
        await collector.run?.(runCtx);
        if (synced) opened();
      },
      {
        ...BackoffPresets.engineReconnect,
        signal: ctx.signal,
        onEnd: (error, delayMs) => {
          this.host.onError();
          const reason = error === undefined ? `run() returned${synced ? '' : ' before it synced'}` : causeMessage(error);
          log.error({ error: reason, delayMs }, 'collector stream ended; restarting');
        },
      },
    );
  }

  private async pullLoop(ctx: CollectorContext): Promise<void> {
    const { collector, log } = this;
    const backoff = new Backoff(BackoffPresets.poll);
    const interval = collector.pullIntervalMs ?? 5_000;
    while (!ctx.signal.aborted) {
      let delay = interval;
      try {
        await collector.pull?.(ctx);
        ctx.markSynced();
        backoff.reset();
      } catch (error) {
        if (ctx.signal.aborted) return;
        this.host.onError();
        log.warn({ error: causeMessage(error) }, 'poll failed; keeping the last good state');
        delay = Math.min(interval, backoff.next());
        // A source that fails (a kubelet refusing our token) must not hold readiness forever:
        // health reports it instead.
        ctx.markSynced();
      }
      if (!(await sleepUnlessAborted(delay, ctx.signal))) return;
    }
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}
