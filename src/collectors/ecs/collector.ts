/**
 * The ECS collector: fetch-only. On a cache miss for a container (or an `ecs_task://` entity) it
 * finds the task, then returns TagInfos for every container of that task and for the task itself,
 * so the siblings need no fetch of their own. No polling of ECS; container deletions are left to
 * the runtime collector (Docker), which sees containers go, and a cheap sweep of the store
 * (`pull`) ends a task entity once its last container is gone (task-tracker.ts).
 *
 * Lookup order: the tagger's own task from metadata v4 / v3 (when the env var is set), the agent
 * introspection API (EC2 daemon mode), then metadata v2 when no v3/v4 is set. A task found
 * through introspection is then read again from its own v4 endpoint when `taskCollection` is on
 * (task-v4.ts): introspection has no service, cluster ARN or resource tags. The tagger's miss
 * cache bounds repeated misses per entity; here, answers are cached so that a flood of misses for
 * many containers costs a bounded number of requests: found tasks for `cacheTtlMs`, the local
 * task and the introspection task list for `localTtlMs`, and an endpoint that cannot be reached is
 * skipped for `unreachableMs`.
 */
import { boundedCache, type BoundedCache } from '../../bounded-cache.js';
import type { Clock } from '../../clock.js';
import { CONTAINER_PREFIX, ECS_TASK_PREFIX, GLOBAL_ENTITY_ID } from '../../entity.js';
import { causeMessage, HttpStatusError, isTaggerError, TaggerError } from '../../errors.js';
import type { OriginFacts } from '../../origin/types.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult, FetchResult } from '../collector.js';
import { Limiter } from '../../net/limiter.js';
import { deletionTagInfo } from '../../taglist.js';
import type { EcsClient } from './client.js';
import { agentHasTaskMetadataV4, ownTaskFromV4, type ContainerEnvSource } from './task-v4.js';
import { TaskTracker } from './task-tracker.js';
import { ecsOrigins } from './origin.js';
import { ECS_SOURCE, clusterFromIntrospection, ecsTagInfos, findIntrospectionTask, taskEntityId, taskFromIntrospection, taskFromMetadata, type EcsTask } from './extract.js';

/** What the collector needs of a client (EcsClient). */
export type EcsSource = Pick<EcsClient, 'agentUrl' | 'v2Url' | 'metadataUriV4' | 'localMetadataVersion' | 'localTask' | 'taskV4' | 'v2Task' | 'introspectionTask' | 'introspectionTasks' | 'introspectionMetadata' | 'close'>;

export interface EcsCollectorOptions {
  readonly client: EcsSource;
  /** `ecs.task_tags`: read `/taskWithTags` and add resource tags. */
  readonly taskTags: boolean;
  /** `:` -> `_` in resource tag keys (`ecs.resource_tags_replace_colon`). */
  readonly replaceColon?: boolean;
  /**
   * `ecs.task_collection`: a task found through introspection is read again from its own v4
   * endpoint, found in a container's env through `containerEnv`. Off without a containerEnv.
   */
  readonly taskCollection?: boolean;
  /** Containers' env (Docker inspect), for their ECS_CONTAINER_METADATA_URI_V4. */
  readonly containerEnv?: ContainerEnvSource;
  readonly autodetect: boolean;
  /** How long a found task answers from memory. Default 60 s. */
  readonly cacheTtlMs?: number;
  /** How long the local task (v4/v3/v2) and the introspection task list are reused. Default 2 s. */
  readonly localTtlMs?: number;
  /** How long an endpoint that refused or timed out is skipped. Default 30 s. */
  readonly unreachableMs?: number;
  /** How often the store is swept for tasks whose containers are all gone. Default 5 s. */
  readonly sweepIntervalMs?: number;
  /** Tasks remembered for that sweep (the oldest is forgotten past it). Default 10,000. */
  readonly maxTasks?: number;
  /** What cacheTtlMs is measured on: the tagger's clock (the factory passes it). Default the system clock. */
  readonly clock?: Clock;
}

export interface EcsCounters {
  lookups: number;
  cacheHits: number;
  found: number;
  notFound: number;
  errors: number;
  requests: number;
  /** Introspection tasks read again from their own v4 endpoint, and those that fell back to introspection. */
  taskV4: number;
  taskV4Fallbacks: number;
}

type Endpoint = 'local' | 'agent' | 'v2';
/** What a limiter bounds: lookups per endpoint, and reads of other tasks' own v4 endpoints. */
type Limited = Endpoint | 'task-v4';

interface Timed<T> {
  readonly value: T;
  readonly until: number;
}

const MAX_CACHE = 10_000;

export class EcsCollector implements Collector {
  readonly name = ECS_SOURCE;
  readonly fetchPrefixes: readonly string[] = [CONTAINER_PREFIX, ECS_TASK_PREFIX];
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
  readonly pullIntervalMs: number;
  readonly counters: EcsCounters = { lookups: 0, cacheHits: 0, found: 0, notFound: 0, errors: 0, requests: 0, taskV4: 0, taskV4Fallbacks: 0 };
  private readonly client: EcsSource;
  private readonly taskTags: boolean;
  private readonly replaceColon: boolean;
  private readonly containerEnv: ContainerEnvSource | undefined;
  /** Hosts a container's v4 URI may name besides link-local and loopback: the configured endpoints'. */
  private readonly trustedHosts: readonly string[];
  private readonly cacheTtlMs: number;
  private readonly localTtlMs: number;
  private readonly unreachableMs: number;
  /** Found tasks' tag infos, by each entity they cover (bounded; stale after cacheTtlMs). */
  private readonly cache: BoundedCache<EntityId, TagInfo[]>;
  /** Shared answers (and requests in flight) for the local task, v2 task and task list. */
  private readonly shared = new Map<string, Timed<Promise<unknown>>>();
  private readonly unreachableUntil = new Map<Endpoint, number>();
  private readonly limiters = new Map<Limited, Limiter>();
  private readonly tasks: TaskTracker;
  /** Origin facts read from a task's metadata payload, beside the task that extract.ts normalises from it. */
  private readonly origins = new WeakMap<EcsTask, Map<EntityId, OriginFacts>>();
  private cluster: string | undefined;
  /** Whether the ECS agent injects metadata v4 (1.39.0 or later), from `/v1/metadata`. */
  private agentHasV4 = false;
  private healthState: CollectorHealth = { healthy: true, message: 'waiting for a cache miss' };

  constructor(options: EcsCollectorOptions) {
    this.client = options.client;
    this.taskTags = options.taskTags;
    this.replaceColon = options.replaceColon === true;
    this.containerEnv = options.taskCollection === false ? undefined : options.containerEnv;
    this.trustedHosts = hostsOf([options.client.metadataUriV4, options.client.agentUrl]);
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.localTtlMs = options.localTtlMs ?? 2_000;
    this.unreachableMs = options.unreachableMs ?? 30_000;
    this.pullIntervalMs = options.sweepIntervalMs ?? 5_000;
    this.tasks = new TaskTracker(options.maxTasks ?? MAX_CACHE);
    this.cache = boundedCache({ max: MAX_CACHE, ttlMs: this.cacheTtlMs, ...(options.clock ? { clock: options.clock } : {}) });
    if (options.autodetect) this.detect = (signal) => this.probe(signal);
  }

  async fetch(entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult> {
    this.counters.lookups++;
    const hit = this.cache.get(entity);
    if (hit) {
      this.counters.cacheHits++;
      return { found: true, infos: hit };
    }
    let answered = false;
    let lastError: unknown;
    for (const endpoint of this.order()) {
      // Few lookups per endpoint at once: when the endpoint fails, the queued ones see the pause
      // below instead of each sending a doomed request.
      const release = await this.limiterOf(endpoint).acquire(LIMITER_WAIT_MS, signal);
      if (!release) {
        lastError ??= new TaggerError('TAGGER_TIMEOUT', `ECS ${endpoint} endpoint busy`);
        continue;
      }
      try {
        if ((this.unreachableUntil.get(endpoint) ?? 0) > ctx.clock.now()) {
          lastError ??= new TaggerError('TAGGER_UNAVAILABLE', `ECS ${endpoint} endpoint unreachable or failing recently; retrying later`);
          continue;
        }
        const task = await this.lookup(endpoint, entity, ctx, signal);
        answered = true;
        this.unreachableUntil.delete(endpoint);
        if (task && contains(task, entity)) return this.found(task);
      } catch (error) {
        lastError = error;
        if (isTaggerError(error, 'TAGGER_SOCKET') || isTaggerError(error, 'TAGGER_TIMEOUT')) this.unreachableUntil.set(endpoint, ctx.clock.now() + this.unreachableMs);
        // A server error or garbage says nothing about this container: without a pause, a flood of
        // misses for distinct containers would cost one failing request each.
        else if (isServerFailure(error)) this.unreachableUntil.set(endpoint, ctx.clock.now() + Math.min(this.unreachableMs, FAILING_PAUSE_MS));
        ctx.logger.debug({ endpoint, entity, error: causeMessage(error) }, 'ECS lookup failed');
      } finally {
        release();
      }
    }
    if (!answered && lastError !== undefined) {
      this.counters.errors++;
      this.healthState = { healthy: false, message: `last lookup failed: ${causeMessage(lastError)}` };
      throw lastError;
    }
    this.counters.notFound++;
    this.healthState = { healthy: true, message: this.describe() };
    return { found: false };
  }

  /**
   * Not a poll of ECS: a look at the store. A task whose containers the runtime collector has all
   * deleted (and the store pruned) gets a delete of its own, with the usual grace.
   */
  async pull(ctx: CollectorContext): Promise<void> {
    const ended = this.tasks.sweep((entity) => ctx.knows(entity));
    if (ended.length === 0) return;
    for (const { task, containers } of ended) for (const id of [task, ...containers]) this.cache.delete(id);
    ctx.sink.push(ended.map(({ task }) => deletionTagInfo(ECS_SOURCE, task)));
    ctx.logger.debug({ tasks: ended.map((e) => e.task) }, 'ECS tasks ended with their last container');
  }

  /** Whether tasks found through introspection are read again from their own v4 endpoint. */
  get collectsOtherTasks(): boolean {
    return this.containerEnv !== undefined;
  }

  /** Tasks remembered for the sweep (tests, bounds). */
  get trackedTasks(): number {
    return this.tasks.size;
  }

  health(): CollectorHealth {
    return this.healthState;
  }

  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.containerEnv?.close()]);
  }

  private order(): Endpoint[] {
    const out: Endpoint[] = [];
    if (this.client.localMetadataVersion()) out.push('local');
    if (this.client.agentUrl) out.push('agent');
    // v2 only serves containers that have no v3/v4 variable, i.e. old agents.
    if (!this.client.localMetadataVersion() && this.client.v2Url) out.push('v2');
    return out;
  }

  private limiterOf(endpoint: Limited): Limiter {
    let limiter = this.limiters.get(endpoint);
    if (!limiter) this.limiters.set(endpoint, (limiter = new Limiter(LOOKUPS_PER_ENDPOINT)));
    return limiter;
  }

  /** The task, with the origin facts of its entities when the payload has addresses (task metadata, not introspection). */
  private async lookup(endpoint: Endpoint, entity: EntityId, ctx: CollectorContext, signal: AbortSignal): Promise<EcsTask | undefined> {
    switch (endpoint) {
      case 'local':
        return this.withOrigins(await this.sharedRequest('local', ctx, () => this.client.localTask(this.taskTags, signal)));
      case 'v2':
        return this.withOrigins(await this.sharedRequest('v2', ctx, () => this.client.v2Task(signal)), 'FARGATE');
      case 'agent': {
        const cluster = await this.clusterName(signal);
        if (entity.startsWith(ECS_TASK_PREFIX)) {
          const list = await this.sharedRequest('agent-tasks', ctx, () => this.client.introspectionTasks(signal));
          return this.detailed(taskFromIntrospection(findIntrospectionTask(list, entity.slice(ECS_TASK_PREFIX.length)), cluster), ctx, signal);
        }
        this.counters.requests++;
        return this.detailed(taskFromIntrospection(await this.client.introspectionTask(entity.slice(CONTAINER_PREFIX.length), signal), cluster), ctx, signal);
      }
    }
  }

  /**
   * An introspection task, read again from its own v4 endpoint when task collection is on and
   * the agent injects v4; the introspection task itself when that is off or fails (as the Agent
   * falls back, `v1TaskToV4Task`).
   */
  private async detailed(task: EcsTask | undefined, ctx: CollectorContext, signal: AbortSignal): Promise<EcsTask | undefined> {
    if (!task || !this.containerEnv || !this.agentHasV4) return task;
    const release = await this.limiterOf('task-v4').acquire(LIMITER_WAIT_MS, signal);
    if (!release) return task;
    try {
      const detailed = await ownTaskFromV4(task, {
        env: this.containerEnv,
        read: (uri) => {
          this.counters.requests++;
          return this.client.taskV4(uri, this.taskTags, signal);
        },
        trustedHosts: this.trustedHosts,
        signal,
        logger: ctx.logger,
      });
      if (!detailed) {
        this.counters.taskV4Fallbacks++;
        return task;
      }
      this.counters.taskV4++;
      return this.withOrigins(detailed.raw, undefined, detailed.task);
    } finally {
      release();
    }
  }

  private withOrigins(raw: unknown, launchType?: string, parsed?: EcsTask): EcsTask | undefined {
    const task = parsed ?? taskFromMetadata(raw, launchType);
    if (task) this.origins.set(task, ecsOrigins(raw, task.id));
    return task;
  }

  /** One request per key per localTtlMs, shared by concurrent callers; failures are not kept. */
  private sharedRequest(key: string, ctx: CollectorContext, request: () => Promise<unknown>): Promise<unknown> {
    const now = ctx.clock.now();
    const cached = this.shared.get(key);
    if (cached && cached.until > now) return cached.value;
    this.counters.requests++;
    const value = request();
    this.shared.set(key, { value, until: now + this.localTtlMs });
    value.catch(() => {
      if (this.shared.get(key)?.value === value) this.shared.delete(key);
    });
    return value;
  }

  /** The cluster name (and whether the agent has v4) from `/v1/metadata`, asked once; a failure only leaves the tag out. */
  private async clusterName(signal: AbortSignal): Promise<string | undefined> {
    if (this.cluster !== undefined) return this.cluster;
    try {
      this.counters.requests++;
      const metadata = await this.client.introspectionMetadata(signal);
      this.cluster = clusterFromIntrospection(metadata);
      this.agentHasV4 = agentHasTaskMetadataV4(metadata, this.client.metadataUriV4 !== '');
    } catch {
      // The task lookup that follows reports the real problem if the agent is down.
    }
    return this.cluster;
  }

  private found(task: EcsTask): FetchResult {
    const origins = this.origins.get(task);
    const infos = ecsTagInfos(task, { taskTags: this.taskTags, replaceColon: this.replaceColon }).map((info) => {
      const origin = origins?.get(info.entity);
      return origin ? { ...info, origin } : info;
    });
    // The global entity is not looked up through ECS: only the task's own entities are cached.
    for (const info of infos) if (info.entity !== GLOBAL_ENTITY_ID) this.cache.set(info.entity, infos);
    this.tasks.record(taskEntityId(task), task.containers.map((c) => c.entity));
    this.counters.found++;
    this.healthState = { healthy: true, message: this.describe() };
    return { found: true, infos };
  }

  /** Which endpoints a miss is asked through, in order (for health and docs). */
  describe(): string {
    const version = this.client.localMetadataVersion();
    const parts = [version ? `task metadata ${version}` : '', this.client.agentUrl ? `agent ${this.client.agentUrl}` : '', !version && this.client.v2Url ? 'task metadata v2' : ''];
    return `fetch on miss via ${parts.filter(Boolean).join(', ')}`;
  }

  private async probe(signal: AbortSignal): Promise<DetectResult> {
    if (this.client.localMetadataVersion()) return { available: true };
    if (!this.client.agentUrl) return { available: false, reason: 'no ECS_CONTAINER_METADATA_URI[_V4] and no ecs.agent_url' };
    try {
      await this.client.introspectionMetadata(signal, 1_000);
      return { available: true };
    } catch (error) {
      return { available: false, reason: `no ECS_CONTAINER_METADATA_URI[_V4], and the ECS agent at ${this.client.agentUrl} does not answer: ${causeMessage(error)}` };
    }
  }
}

/** The host names of the URLs among `urls` (empty or malformed ones name none). */
function hostsOf(urls: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const url of urls) {
    try {
      if (url) hosts.push(new URL(url).hostname);
    } catch {
      // Not a URL: nothing to trust.
    }
  }
  return hosts;
}

function contains(task: EcsTask, entity: EntityId): boolean {
  return entity === taskEntityId(task) || task.containers.some((c) => c.entity === entity);
}

/** Lookups in flight per endpoint; the rest wait (bounded by their fetch's signal). */
const LOOKUPS_PER_ENDPOINT = 4;
const LIMITER_WAIT_MS = 60_000;

/** How long an endpoint answering 5xx or garbage is skipped. */
const FAILING_PAUSE_MS = 5_000;

function isServerFailure(error: unknown): boolean {
  return isTaggerError(error, 'TAGGER_DECODE') || (error instanceof HttpStatusError && error.status >= 500);
}
