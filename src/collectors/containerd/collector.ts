/**
 * The containerd collector (stream mode, plus fetch on a cache miss).
 *
 * One session: subscribe to /containers/* and /tasks/* first, then list namespaces, containers
 * and tasks (events that arrive meanwhile wait in a queue), push the live containers and delete
 * those that vanished, then apply events in order. The session ends when the stream does
 * (containerd restarting ends it with code 14 and does not replay what was missed): back off,
 * and start a new session, whose re-list repairs the gap.
 */
import { stat } from 'node:fs/promises';
import { boundedCache } from '../../bounded-cache.js';
import { CONTAINER_PREFIX, containerEntityId } from '../../entity.js';
import { causeMessage } from '../../errors.js';
import { BackoffPresets, reconnectForever, type BackoffOptions } from '../../net/backoff.js';
import type { CompiledRules } from '../../rules.js';
import { deletionTagInfo } from '../../taglist.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult, FetchResult } from '../collector.js';
import type { ContainerdApi } from './client.js';
import { containerdOrigin } from './origin.js';
import { extractContainer, isSandbox, podEntityOf } from './extract.js';
import type { ContainerRecord, EventEnvelope, TaskRecord } from './types.js';

export const CONTAINERD_SOURCE = 'containerd';
/** containerd filter syntax; filters are ORed. */
const EVENT_FILTERS: readonly string[] = ['topic~="^/containers/"', 'topic~="^/tasks/"'];
const MAX_QUEUE = 10_000;
const MAX_EXITS = 4_096;
/** Image names whose config digest is remembered, and for how long (a re-pull may move a tag). */
const MAX_IMAGE_IDS = 1_024;
const IMAGE_ID_TTL_MS = 5 * 60_000;

export interface ContainerdCollectorOptions {
  readonly api: ContainerdApi;
  /** The socket path, for detect() (enabled: auto) and messages. */
  readonly socket: string;
  /** Only these namespaces; when empty, every namespace but `excludeNamespaces`. */
  readonly namespaces?: readonly string[];
  readonly excludeNamespaces?: readonly string[];
  readonly labelRules?: CompiledRules;
  readonly envRules?: CompiledRules;
  /** Offer detect() (a socket must exist); off for `enabled: true`, where run() retries alone. */
  readonly autodetect?: boolean;
  readonly backoff?: BackoffOptions;
}

/** How a container's init process ended, kept for `explain` after its tags are gone. */
export interface ExitRecord {
  readonly namespace: string;
  readonly exitCode: number;
  /** Epoch ms, when containerd said. */
  readonly exitedAt?: number | undefined;
}

export class ContainerdCollector implements Collector {
  readonly name = CONTAINERD_SOURCE;
  readonly fetchPrefixes = [CONTAINER_PREFIX];
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  private readonly api: ContainerdApi;
  private readonly options: ContainerdCollectorOptions;
  private readonly only: ReadonlySet<string>;
  private readonly excluded: ReadonlySet<string>;
  /** Container ID -> namespace, for every container whose tags this collector currently gives. */
  private live = new Map<string, string>();
  /** Container ID -> pid of its init process, to tell its exit from an exec's. */
  private readonly initPids = new Map<string, number>();
  /** Exit codes of init processes seen, by entity, for explain (only recent deaths matter). */
  private readonly exitRecords = boundedCache<EntityId, ExitRecord>({ max: MAX_EXITS });
  /** `namespace/image name` -> its config digest (image_id), or the lookup in flight; shared by the containers of one image. */
  private readonly imageIds = boundedCache<string, Promise<string | undefined>>({ max: MAX_IMAGE_IDS, ttlMs: IMAGE_ID_TTL_MS });
  private healthState: CollectorHealth;
  private closed = false;
  /** Counts for metrics and tests. */
  readonly counters = { sessions: 0, events: 0, pushes: 0, deletes: 0, streamErrors: 0, kubeletRequests: 0, specsSkipped: 0, imageLookups: 0, imageLookupErrors: 0 };

  constructor(options: ContainerdCollectorOptions) {
    this.options = options;
    this.api = options.api;
    this.only = new Set(options.namespaces ?? []);
    this.excluded = new Set(options.excludeNamespaces ?? []);
    this.healthState = { healthy: false, message: `connecting to ${this.api.target}` };
    if (options.autodetect) this.detect = (signal) => detectSocket(options.socket, signal);
  }

  /** How the container's init process last ended, if this collector saw it. */
  exitOf(entity: EntityId): ExitRecord | undefined {
    return this.exitRecords.get(entity);
  }

  health(): CollectorHealth {
    return this.healthState;
  }

  explain(entity: EntityId): readonly string[] {
    const exit = this.exitOf(entity);
    if (!exit) return [];
    const when = exit.exitedAt === undefined ? '' : ` at ${new Date(exit.exitedAt).toISOString()}`;
    return [`its task exited with code ${exit.exitCode}${when} (namespace ${exit.namespace})`];
  }

  /** Follows containerd until the signal aborts; never throws except on abort. */
  async run(ctx: CollectorContext): Promise<void> {
    // A tagger restarted after stop() runs us again: close() ended the last run, not this one.
    this.closed = false;
    let synced = false;
    await reconnectForever(
      (onOpen) => {
        synced = false;
        return this.session(ctx, () => {
          synced = true;
          onOpen();
        });
      },
      {
        ...(this.options.backoff ?? BackoffPresets.engineReconnect),
        signal: ctx.signal,
        onEnd: (error, delay) => {
          if (this.closed) return false;
          this.counters.streamErrors++;
          this.healthState = { healthy: false, message: `containerd at ${this.api.target}: ${causeMessage(error)}; retrying in ${delay} ms` };
          ctx.logger.warn({ error: causeMessage(error), delayMs: delay, wasSynced: synced }, 'containerd session ended; resubscribing');
          // Readiness must not wait on an engine that is not there.
          ctx.markSynced();
          return true;
        },
      },
    );
  }

  /** A cache miss: the container looked up in every watched namespace. */
  async fetch(entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult> {
    if (!entity.startsWith(CONTAINER_PREFIX)) return { found: false };
    const id = entity.slice(CONTAINER_PREFIX.length);
    for (const namespace of await this.watchedNamespaces(signal)) {
      const container = await this.api.getContainer(namespace, id, signal);
      if (!container) continue;
      if (isSandbox(container)) return { found: false };
      const task = await this.api.getTask(namespace, id, signal);
      const running = task !== undefined && task.status !== 'STOPPED';
      if (running) this.initPids.set(id, task.pid);
      const infos = [this.extract(container, await this.imageIdOf(container, ctx, signal))];
      if (running) {
        this.live.set(id, namespace);
      } else {
        // Not running: its tags serve for the deletion grace, then go.
        if (task) this.rememberExit(id, namespace, task.exitStatus, task.exitedAt);
        infos.push(deletionTagInfo(CONTAINERD_SOURCE, entity));
      }
      ctx.logger.debug({ entity, namespace }, 'fetched container on a cache miss');
      return { found: true, infos };
    }
    return { found: false };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.api.close();
  }

  // ---- one subscription ----

  private async session(ctx: CollectorContext, onSynced: () => void): Promise<void> {
    this.counters.sessions++;
    const queue: EventEnvelope[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let overflow = false;
    let failure: unknown;
    const sub = this.api.subscribe(EVENT_FILTERS, (event) => {
      if (!this.watches(event.namespace)) return;
      queue.push(event);
      if (queue.length > MAX_QUEUE && !overflow) {
        // Too far behind to catch up event by event: start over with a fresh list.
        overflow = ended = true;
        failure = new Error(`more than ${MAX_QUEUE} events waiting; re-listing`);
        sub.cancel();
      }
      wake?.();
    });
    sub.done.then(
      () => undefined,
      (error: unknown) => {
        if (!ended) failure = error;
      },
    ).finally(() => {
      ended = true;
      wake?.();
    });
    const onAbort = (): void => sub.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const count = await this.resync(ctx);
      this.healthState = { healthy: true, message: `connected to ${this.api.target}; ${count} containers` };
      onSynced();
      ctx.markSynced();
      for (;;) {
        let event: EventEnvelope | undefined;
        while (!overflow && !ctx.signal.aborted && (event = queue.shift()) !== undefined) await this.handle(event, ctx);
        if (ended || ctx.signal.aborted) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (ctx.signal.aborted) return;
      throw failure ?? new Error('event stream ended');
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      sub.cancel();
    }
  }

  /** Lists everything, pushes the live containers, deletes what vanished. Returns the live count. */
  private async resync(ctx: CollectorContext): Promise<number> {
    const live = new Map<string, string>();
    const infos: TagInfo[] = [];
    for (const namespace of await this.watchedNamespaces(ctx.signal)) {
      const [containers, tasks] = await Promise.all([this.api.listContainers(namespace, ctx.signal), this.api.listTasks(namespace, ctx.signal)]);
      const taskOf = new Map<string, TaskRecord>(tasks.map((t) => [t.containerId, t]));
      for (const container of containers) {
        if (isSandbox(container)) continue;
        const task = taskOf.get(container.id);
        if (task?.status === 'STOPPED') {
          this.rememberExit(container.id, namespace, task.exitStatus, task.exitedAt);
          continue;
        }
        // No task: created and not started yet (kept only if this collector already gave it
        // tags), or finished and its task removed (CRI does that at once): not live.
        if (!task && this.live.get(container.id) !== namespace) continue;
        if (task) this.initPids.set(container.id, task.pid);
        live.set(container.id, namespace);
        infos.push(this.extract(container, await this.imageIdOf(container, ctx, ctx.signal)));
      }
    }
    for (const id of this.live.keys()) {
      if (!live.has(id)) infos.push(this.deletion(id));
    }
    this.live = live;
    this.counters.pushes += infos.filter((i) => !i.deleteEntity).length;
    if (infos.length > 0) ctx.sink.push(infos);
    return live.size;
  }

  private async handle(envelope: EventEnvelope, ctx: CollectorContext): Promise<void> {
    this.counters.events++;
    const { namespace, event } = envelope;
    switch (event.kind) {
      case 'container-create':
        await this.refresh(namespace, event.id, ctx, false);
        return;
      case 'container-update':
        // A label change on a container that is not running must not revive its tags.
        if (this.live.has(event.id)) await this.refresh(namespace, event.id, ctx, false);
        return;
      case 'task-start':
        this.initPids.set(event.containerId, event.pid);
        this.exitRecords.delete(containerEntityId(event.containerId));
        await this.refresh(namespace, event.containerId, ctx, true);
        return;
      case 'task-exit':
      case 'task-delete': {
        const initPid = this.initPids.get(event.containerId);
        const isInit = event.processId === '' || event.processId === event.containerId || (initPid !== undefined && event.pid === initPid);
        if (!isInit) return; // an exec ended; the container lives on
        if (event.kind === 'task-exit' || !this.exitRecords.has(containerEntityId(event.containerId))) {
          this.rememberExit(event.containerId, namespace, event.exitStatus, event.exitedAt);
        }
        this.stop(event.containerId, ctx);
        return;
      }
      case 'container-delete':
        this.stop(event.id, ctx);
        return;
      default:
        return; // task create, oom, paused, resumed: tags do not change
    }
  }

  /** Reads the container and pushes its tags; a container gone meanwhile is left to its delete event. */
  private async refresh(namespace: string, id: string, ctx: CollectorContext, started: boolean): Promise<void> {
    const container = await this.api.getContainer(namespace, id, ctx.signal);
    if (!container || isSandbox(container)) return;
    const imageId = await this.imageIdOf(container, ctx, ctx.signal);
    this.live.set(id, namespace);
    this.counters.pushes++;
    ctx.sink.push([this.extract(container, imageId)]);
    const pod = started ? podEntityOf(container.labels) : undefined;
    if (pod && !ctx.knows(pod)) {
      // A pod's container started before the kubelet collector's next poll: ask it now.
      this.counters.kubeletRequests++;
      ctx.requestFetch(containerEntityId(id));
    }
  }

  private stop(id: string, ctx: CollectorContext): void {
    this.initPids.delete(id);
    if (!this.live.delete(id)) return;
    ctx.sink.push([this.deletion(id)]);
  }

  private deletion(id: string): TagInfo {
    this.counters.deletes++;
    return deletionTagInfo(CONTAINERD_SOURCE, containerEntityId(id));
  }

  /**
   * The image's config digest, looked up once per image name (and namespace) for all its
   * containers. A failed lookup only leaves image_id out: it is not kept, the next container asks again.
   */
  private imageIdOf(container: ContainerRecord, ctx: CollectorContext, signal: AbortSignal): Promise<string | undefined> {
    if (!container.image) return Promise.resolve(undefined);
    const key = `${container.namespace}/${container.image}`;
    const cached = this.imageIds.get(key);
    if (cached) return cached;
    this.counters.imageLookups++;
    const lookup = this.api.imageConfigDigest(container.namespace, container.image, signal).catch((error: unknown) => {
      this.counters.imageLookupErrors++;
      if (this.imageIds.peek(key) === lookup) this.imageIds.delete(key);
      ctx.logger.debug({ image: container.image, namespace: container.namespace, error: causeMessage(error) }, 'containerd image lookup failed; image_id left out');
      return undefined;
    });
    this.imageIds.set(key, lookup);
    return lookup;
  }

  private extract(container: ContainerRecord, imageId: string | undefined): TagInfo {
    if (container.specSkipped) this.counters.specsSkipped++;
    const info = extractContainer(imageId ? { ...container, imageId } : container, { source: CONTAINERD_SOURCE, labelRules: this.options.labelRules, envRules: this.options.envRules });
    const origin = containerdOrigin(this.initPids.get(container.id));
    return origin ? { ...info, origin } : info;
  }

  private rememberExit(id: string, namespace: string, exitCode: number, exitedAt: number | undefined): void {
    this.exitRecords.set(containerEntityId(id), { namespace, exitCode, exitedAt });
  }

  private watches(namespace: string): boolean {
    return this.only.size > 0 ? this.only.has(namespace) : !this.excluded.has(namespace);
  }

  private async watchedNamespaces(signal: AbortSignal): Promise<string[]> {
    if (this.only.size > 0) return [...this.only];
    return (await this.api.listNamespaces(signal)).filter((n) => !this.excluded.has(n));
  }
}

/** `enabled: auto`: containerd is there when its socket is. */
async function detectSocket(socket: string, _signal: AbortSignal): Promise<DetectResult> {
  try {
    const s = await stat(socket);
    return s.isSocket() ? { available: true } : { available: false, reason: `${socket} is not a socket` };
  } catch (error) {
    return { available: false, reason: `no socket at ${socket}: ${causeMessage(error)}` };
  }
}
