/**
 * The Docker collector (a streamer, and a fetcher for cache misses). One session: negotiate the
 * API version, open `/events` (from a second before, in the daemon's clock), and only once its
 * headers are in, list running containers, inspect what is new or changed and delete what
 * vanished; events that arrive meanwhile are held (held-events.ts) and applied once the list is
 * in the store. Subscribing first is what makes the list and the stream overlap: dockerd replays
 * only its last 256 events, so a stream opened after a long resync silently misses what happened
 * during it. When the stream ends or fails, the next session after a backoff does the same.
 * Events of one container are handled in order (a queue per container), so a `die` never
 * overtakes the inspect of the `start` before it. Every inspect, live or resync, takes one of
 * `inspectConcurrency` slots.
 */
import { boundedCache } from '../../bounded-cache.js';
import { CONTAINER_PREFIX } from '../../entity.js';
import type { CompiledRules } from '../../rules.js';
import { causeMessage } from '../../errors.js';
import { BackoffPresets, reconnectForever, type BackoffOptions } from '../../net/backoff.js';
import { Limiter } from '../../net/limiter.js';
import { deletionTagInfo } from '../../taglist.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult, FetchResult } from '../collector.js';
import { isImageId } from '../image-ref.js';
import type { DockerClient } from './client.js';
import { extractContainer, extractFromEvent, isPauseImage } from './extract.js';
import { dockerOrigin } from './origin.js';
import { UNCONFIRMED, fingerprint, primaryName } from './fingerprint.js';
import { HeldEvents } from './held-events.js';
import { watchLiveness } from './liveness.js';
import type { ContainerInspect, ContainerSummary, DockerEvent } from './types.js';

export interface DockerCollectorOptions {
  readonly client: DockerClient;
  /** Source name of the TagInfos. Default `docker`. */
  readonly source?: string;
  readonly labelRules?: CompiledRules;
  readonly envRules?: CompiledRules;
  /** Inspects in flight at once, for resyncs and live events together. Default 8. */
  readonly inspectConcurrency?: number;
  /** Offer detect() (for `docker.enabled: auto`). */
  readonly autodetect?: boolean;
  /** Reconnect delays. Default BackoffPresets.engineReconnect (250 ms doubling to 30 s). */
  readonly backoff?: BackoffOptions;
  /**
   * `/_ping` period while the events stream is open, 0 for none. Default 15 s. The stream carries
   * no heartbeat, so a hung daemon (SIGSTOPped, deadlocked) would otherwise look healthy forever.
   */
  readonly livenessIntervalMs?: number;
  /** Time a liveness ping may take before the daemon is reported unresponsive. Default 5 s. */
  readonly livenessTimeoutMs?: number;
  /** Leave pod sandbox ("pause") containers untagged, as the Agent does. Default true. */
  readonly excludePauseContainers?: boolean;
}

/** Actions after which the container's tags are (re)read. */
const REFRESH_ACTIONS: ReadonlySet<string> = new Set(['start', 'restart', 'rename', 'update']);
/** Actions after which the container is gone: dockerd `die`/`destroy`, Podman `remove`. */
const GONE_ACTIONS: ReadonlySet<string> = new Set(['die', 'destroy', 'remove']);
/** The source name of Docker's (and Podman's, through the same API) tags. */
export const DOCKER_SOURCE = 'docker';
const MAX_IMAGE_CACHE = 1_000;
const MAX_EXIT_CODES = 10_000;

export interface DockerCounters {
  events: number;
  ignoredEvents: number;
  badLines: number;
  inspects: number;
  inspectErrors: number;
  sessions: number;
  resyncDeletes: number;
  pingFailures: number;
}

export class DockerCollector implements Collector {
  readonly name: string;
  readonly fetchPrefixes = [CONTAINER_PREFIX];
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  readonly counters: DockerCounters = { events: 0, ignoredEvents: 0, badLines: 0, inspects: 0, inspectErrors: 0, sessions: 0, resyncDeletes: 0, pingFailures: 0 };
  private readonly client: DockerClient;
  /**
   * Containers we pushed as running, or that an event says may be: ID -> fingerprint (name +
   * labels) to spot changes on resync, UNCONFIRMED until an inspect succeeds.
   */
  private readonly known = new Map<string, string>();
  /** Per-container chain of pending work, so one container's events apply in order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Image ID -> repo:tag; the least recently used go first past the bound. */
  private readonly imageNames = boundedCache<string, { readonly name: string | undefined }>({ max: MAX_IMAGE_CACHE });
  /** Exit codes from `die` events (dockerd `exitCode`, Podman `containerExitCode`), for explain; only recent deaths matter. */
  private readonly exitCodes = boundedCache<string, string>({ max: MAX_EXIT_CODES });
  private readonly inspectSlots: Limiter;
  private healthState: CollectorHealth;

  constructor(private readonly options: DockerCollectorOptions) {
    this.client = options.client;
    this.name = options.source ?? DOCKER_SOURCE;
    this.inspectSlots = new Limiter(options.inspectConcurrency ?? 8);
    this.healthState = { healthy: false, message: `connecting to ${this.client.display}` };
    if (options.autodetect) {
      this.detect = async (signal) => {
        const ping = await this.client.ping(signal);
        if (ping.ok) return { available: true };
        return ping.denied ? { available: false, reason: ping.reason, denied: true } : { available: false, reason: ping.reason };
      };
    }
  }

  health(): CollectorHealth {
    return this.healthState;
  }

  /** Follows the daemon until ctx.signal aborts; reconnects and resyncs on its own. */
  async run(ctx: CollectorContext): Promise<void> {
    let opened = false;
    await reconnectForever(
      (onOpen) => {
        opened = false;
        return this.session(ctx, () => {
          opened = true;
          onOpen();
        });
      },
      {
        ...(this.options.backoff ?? BackoffPresets.engineReconnect),
        signal: ctx.signal,
        onEnd: (error) => {
          if (error === undefined) {
            this.healthState = { healthy: false, message: `event stream from ${this.client.display} ended; reconnecting` };
            ctx.logger.warn({ daemon: this.client.display }, 'docker event stream ended; reconnecting');
            return;
          }
          const reason = causeMessage(error);
          this.healthState = { healthy: false, message: `${opened ? 'lost' : 'cannot reach'} ${this.client.display}: ${reason}` };
          ctx.logger.warn({ daemon: this.client.display, error: reason }, 'docker session failed; will reconnect');
          // Readiness does not wait for a daemon that may never come (health reports it instead).
          ctx.markSynced();
        },
      },
    );
  }

  /** Inspects one container on a cache miss. A stopped container's tags come with their delete. */
  async fetch(entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult> {
    if (!entity.startsWith(CONTAINER_PREFIX)) return { found: false };
    await this.client.ensureNegotiated(signal);
    const inspect = await this.client.inspect(entity.slice(CONTAINER_PREFIX.length), signal);
    this.counters.inspects++;
    if (!inspect) return { found: false };
    return { found: true, infos: await this.toInfos(inspect, ctx, signal) };
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Resolves once every queued container update has been applied (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  // ---- one session: negotiate, list, resync, follow events ----

  private async session(ctx: CollectorContext, onOpen: () => void): Promise<void> {
    const { signal } = ctx;
    this.counters.sessions++;
    const version = await this.client.negotiate(signal);
    // One second early, in the daemon's clock (whole seconds in the Date header): headers may
    // reach us a moment before the daemon has subscribed us, and the replayed second covers that.
    // Events it repeats are harmless: held ones are re-checked, live handling is idempotent.
    const sinceMs = (this.client.versionTimeMs ?? ctx.clock.now()) - 1_000;
    const engine = this.client.daemon?.Version ? `, engine ${this.client.daemon.Version}` : '';
    const connected = `connected to ${this.client.display} (API ${version}${engine})`;
    const sessionEnd = new AbortController();
    const endSession = (): void => sessionEnd.abort();
    signal.addEventListener('abort', endSession, { once: true });
    let held: HeldEvents | undefined = new HeldEvents();
    let opened: () => void = () => undefined;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const stream = this.client.streamEvents(formatSince(sinceMs), (event) => (held ? this.hold(event, held, ctx) : this.onEvent(event, ctx)), {
      signal: sessionEnd.signal,
      onOpen: () => opened(),
      onBadLine: () => {
        this.counters.badLines++;
      },
    });
    // Until the list is applied, the stream ending or failing ends the session (and the resync wait).
    const lost = stream.then(() => Promise.reject(new Error('event stream ended during the resync')));
    lost.catch(() => undefined);
    let liveness: Promise<void> = Promise.resolve();
    try {
      await Promise.race([open, lost]);
      const list = await Promise.race([this.client.listContainers(sessionEnd.signal), lost]);
      await Promise.race([this.resync(list.containers, held, ctx), lost]);
      this.release(held, ctx);
      held = undefined;
      ctx.markSynced();
      this.healthState = { healthy: true, message: connected };
      onOpen();
      liveness = watchLiveness(this.client, { intervalMs: this.options.livenessIntervalMs ?? 15_000, timeoutMs: this.options.livenessTimeoutMs ?? 5_000 }, sessionEnd.signal, (ping) => {
        if (ping.ok) this.healthState = { healthy: true, message: connected };
        else {
          this.counters.pingFailures++;
          this.healthState = { healthy: false, message: `${this.client.display} is not answering (/_ping: ${ping.reason}); events may be delayed` };
        }
      });
      await stream;
    } finally {
      signal.removeEventListener('abort', endSession);
      sessionEnd.abort();
      await stream.catch(() => undefined);
      await liveness;
    }
  }

  /**
   * Makes the store match a fresh list: inspect new or changed containers, delete vanished ones.
   * A container with held events is left to them: it may have started after the list was made.
   */
  private async resync(containers: readonly ContainerSummary[], held: HeldEvents, ctx: CollectorContext): Promise<void> {
    const listed = new Set<string>();
    const changed: string[] = [];
    for (const c of containers) {
      if (this.excluded(c.Image)) continue;
      listed.add(c.Id);
      if (this.known.get(c.Id) !== fingerprint(primaryName(c.Names), c.Labels)) changed.push(c.Id);
    }
    const vanished = [...this.known.keys()].filter((id) => !listed.has(id) && !held.has(id));
    for (const id of vanished) this.known.delete(id);
    if (vanished.length > 0) {
      this.counters.resyncDeletes += vanished.length;
      ctx.sink.push(vanished.map((id) => deletionTagInfo(this.name, CONTAINER_PREFIX + id)));
    }
    await Promise.all(changed.map((id) => this.enqueue(id, () => this.refresh(id, ctx), ctx)));
  }

  /** An event during the resync: tags a new container at once, and keeps the rest for release(). */
  private hold(event: DockerEvent, held: HeldEvents, ctx: CollectorContext): void {
    const action = this.classify(event, ctx);
    if (action === undefined) return;
    held.add(event.id, action === 'gone' ? (event.action === 'die' ? 'died' : 'removed') : 'refresh');
  }

  /** Applies the held events, each container's last one, as held-events.ts describes. */
  private release(held: HeldEvents, ctx: CollectorContext): void {
    for (const [id, action] of held.drain()) {
      const task = action === 'refresh' ? this.refresh : action === 'died' && this.known.has(id) ? this.confirmDeath : this.gone;
      void this.enqueue(id, () => task.call(this, id, ctx), ctx);
    }
  }

  /** A held death is checked by an inspect; when that fails, the event is believed after all. */
  private async confirmDeath(id: string, ctx: CollectorContext): Promise<void> {
    try {
      await this.refresh(id, ctx);
    } catch (error) {
      await this.gone(id, ctx);
      throw error;
    }
  }

  private onEvent(event: DockerEvent, ctx: CollectorContext): void {
    const action = this.classify(event, ctx);
    const id = event.id;
    if (action === 'refresh') void this.enqueue(id, () => this.refresh(id, ctx), ctx);
    else if (action === 'gone') void this.enqueue(id, () => this.gone(id, ctx), ctx);
  }

  /**
   * What an event asks for, with the bookkeeping that must happen as it arrives: counters, exit
   * codes, the at-once tags of a new container, and marking a possibly running container known
   * (so a resync deletes it if its inspect fails and it dies while the stream is down).
   */
  private classify(event: DockerEvent, ctx: CollectorContext): 'refresh' | 'gone' | undefined {
    this.counters.events++;
    if (event.type !== 'container' || event.id === '') {
      this.counters.ignoredEvents++;
      return undefined;
    }
    const id = event.id;
    if (REFRESH_ACTIONS.has(event.action)) {
      if (!this.known.has(id)) {
        if (event.action === 'start') this.pushFromEvent(event, ctx);
        this.known.set(id, UNCONFIRMED);
      }
      return 'refresh';
    }
    if (GONE_ACTIONS.has(event.action)) {
      const code = event.attributes.exitCode ?? event.attributes.containerExitCode;
      if (event.action === 'die' && code !== undefined) this.exitCodes.set(id, code);
      return 'gone';
    }
    // create, attach, kill, stop, pause, exec_*, health_status, Podman's init and cleanup: no tag changes.
    this.counters.ignoredEvents++;
    return undefined;
  }

  /**
   * A new container is tagged from its `start` event's labels, image and name at once; the inspect
   * queued behind adds the env-based tags a few milliseconds later (an inspect right after a start
   * waits on the daemon's container lock, up to tens of milliseconds under load).
   */
  private pushFromEvent(event: DockerEvent, ctx: CollectorContext): void {
    if (ctx.knows(CONTAINER_PREFIX + event.id, this.name) || this.excluded(event.attributes.image)) return;
    const info = extractFromEvent(event.id, event.attributes, {
      source: this.name,
      ...(this.options.labelRules ? { labelRules: this.options.labelRules } : {}),
    });
    if (info) ctx.sink.push([info]);
  }

  /** A pause container, left untagged as the Agent leaves it (`docker.exclude_pause_container`). */
  private excluded(image: string | undefined): boolean {
    return this.options.excludePauseContainers !== false && isPauseImage(image);
  }

  explain(entity: EntityId): readonly string[] {
    const code = entity.startsWith(CONTAINER_PREFIX) ? this.exitCodes.get(entity.slice(CONTAINER_PREFIX.length)) : undefined;
    return code === undefined ? [] : [`the container died with exit code ${code}`];
  }

  /** Runs `task` after the container's earlier work; never rejects. */
  private enqueue(id: string, task: () => Promise<void>, ctx: CollectorContext): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      this.counters.inspectErrors++;
      if (!ctx.signal.aborted) ctx.logger.warn({ container: id, error: causeMessage(error) }, 'docker container update failed');
    });
    this.queues.set(id, next);
    void next.finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
    return next;
  }

  /**
   * Inspects and pushes the container, in one of the shared inspect slots (waits for one, however
   * long). The wait takes no signal: a burst would hang one abort listener per waiter on the
   * collector's signal. After a stop, in-flight inspects abort, and each waiter, once woken,
   * gives its slot straight back.
   */
  private async refresh(id: string, ctx: CollectorContext): Promise<void> {
    const release = (await this.inspectSlots.acquire(Number.POSITIVE_INFINITY)) as () => void;
    try {
      if (ctx.signal.aborted) return;
      this.counters.inspects++;
      const inspect = await this.client.inspect(id, ctx.signal);
      if (!inspect) return await this.gone(id, ctx);
      ctx.sink.push(await this.toInfos(inspect, ctx, ctx.signal));
    } finally {
      release();
    }
  }

  private gone(id: string, ctx: CollectorContext): Promise<void> {
    this.known.delete(id);
    ctx.sink.push([deletionTagInfo(this.name, CONTAINER_PREFIX + id)]);
    return Promise.resolve();
  }

  /**
   * The container's TagInfo; for one that is not running any more, followed by its delete, so it
   * stays queryable through the grace (logs of a short job arrive late) and then goes.
   */
  private async toInfos(inspect: ContainerInspect, ctx: CollectorContext, signal: AbortSignal): Promise<TagInfo[]> {
    if (this.excluded(inspect.Config.Image)) return [];
    const resolvedImage = isImageId(inspect.Config.Image) ? await this.imageName(inspect.Image || inspect.Config.Image, ctx, signal) : undefined;
    const tags = extractContainer(inspect, {
      source: this.name,
      ...(this.options.labelRules ? { labelRules: this.options.labelRules } : {}),
      ...(this.options.envRules ? { envRules: this.options.envRules } : {}),
      ...(resolvedImage ? { resolvedImage } : {}),
    });
    const origin = dockerOrigin(inspect);
    const info: TagInfo = origin ? { ...tags, origin } : tags;
    const alive = inspect.State.Running || inspect.State.Restarting || inspect.State.Paused;
    if (alive) {
      this.known.set(inspect.Id, fingerprint(inspect.Name, inspect.Config.Labels));
      return [info];
    }
    this.known.delete(inspect.Id);
    return [info, deletionTagInfo(this.name, info.entity)];
  }

  /** repo:tag of an image ID, cached (images are immutable; a failed lookup is retried later). */
  private async imageName(imageId: string, ctx: CollectorContext, signal: AbortSignal): Promise<string | undefined> {
    const cached = this.imageNames.get(imageId);
    if (cached) return cached.name;
    try {
      const name = await this.client.imageRepoTag(imageId, signal);
      this.imageNames.set(imageId, { name });
      return name;
    } catch (error) {
      ctx.logger.debug({ image: imageId, error: causeMessage(error) }, 'cannot resolve image name');
      return undefined;
    }
  }
}

/** `since` for /events: `<seconds>.<nanoseconds>`. */
export function formatSince(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  return `${Math.floor(whole / 1000)}.${String((whole % 1000) * 1_000_000).padStart(9, '0')}`;
}
