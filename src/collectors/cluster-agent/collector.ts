/**
 * The node's follower of a cluster instance (`cluster_agent.url`): a streamer whose feed is a
 * replica of the instance's store, filtered server-side to this node's pods and the global
 * entity (RemoteTagger on `/v1/stream?node=...`). Each change of the replica becomes cluster
 * tags on the pod and its containers (see propagate.ts).
 *
 * The replica does the hard parts once for every follower of a daemon: reconnects with backoff,
 * a resync staged aside and reconciled at `synced` (so a change made while the instance was away
 * arrives as an ordinary event once it is back), and the last state kept meanwhile. While the
 * instance is away this collector reports unhealthy and the node keeps its last cluster tags.
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../entity.js';
import type { SubscribeOptions, Subscription } from '../../store/subscriptions.js';
import type { TaggerHealth } from '../../tagger/tagger.js';
import type { EntityEvent, EntitySnapshot, MergedTags, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth } from '../collector.js';
import type { PodContainerIndex } from './ports.js';
import { CLUSTER_SOURCE } from '../kubernetes/extract.js';
import { ClusterTagPropagator } from './propagate.js';

/** What the collector needs of its feed: a RemoteTagger following the cluster instance (or a fake). */
export interface ClusterFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): Promise<void>;
  subscribe(options: SubscribeOptions): Subscription;
  list(): EntitySnapshot[];
  health(): TaggerHealth;
}

export interface ClusterAgentCollectorOptions {
  readonly feed: ClusterFeed;
  readonly index: PodContainerIndex;
  /** For health messages: the instance followed (`https://tagger-cluster:8443`). */
  readonly target: string;
  /**
   * How long the node's readiness waits for the first sync: an instance that is away must not
   * hold the node up. Default 3 s.
   */
  readonly readyWaitMs?: number;
}

export interface ClusterAgentCounters {
  events: number;
  /** Events for entities that are neither pods nor the global entity (ignored). */
  ignoredEvents: number;
  /** Subscriptions to the replica lost to overflow and made again. */
  resubscribes: number;
}

export class ClusterAgentCollector implements Collector {
  readonly name = CLUSTER_SOURCE;
  readonly counters: ClusterAgentCounters = { events: 0, ignoredEvents: 0, resubscribes: 0 };
  private readonly options: ClusterAgentCollectorOptions;
  private propagator: ClusterTagPropagator | undefined;
  private running = false;

  constructor(options: ClusterAgentCollectorOptions) {
    this.options = options;
  }

  async run(ctx: CollectorContext): Promise<void> {
    const { feed, index } = this.options;
    const propagator = (this.propagator = new ClusterTagPropagator(index, (id) => ctx.knows(id)));
    const push = (infos: readonly TagInfo[]): void => {
      if (infos.length > 0) ctx.sink.push(infos);
    };
    const unlisten = index.onPodsChanged((uids) => push(propagator.containersChanged(uids)));
    await feed.start();
    this.running = true;
    const readyTimer = setTimeout(() => ctx.markSynced(), this.options.readyWaitMs ?? 3_000);
    void feed.ready().then(() => {
      clearTimeout(readyTimer);
      ctx.markSynced();
    });
    try {
      while (!ctx.signal.aborted) {
        const sub = feed.subscribe({ cardinality: 'high', name: 'cluster-agent', snapshot: false });
        // Subscribed first, then read: nothing can change in between (both are synchronous).
        push(this.resync(propagator, feed.list()));
        const stop = (): void => sub.close();
        ctx.signal.addEventListener('abort', stop, { once: true });
        try {
          for await (const batch of sub) push(this.apply(propagator, batch));
        } finally {
          ctx.signal.removeEventListener('abort', stop);
          sub.close();
        }
        if (!ctx.signal.aborted) {
          this.counters.resubscribes++;
          ctx.logger.warn({ reason: sub.reason }, 'cluster replica subscription lost; reading it again');
        }
      }
    } finally {
      clearTimeout(readyTimer);
      unlisten();
      this.running = false;
      await feed.stop();
    }
  }

  health(): CollectorHealth {
    const remote = Object.values(this.options.feed.health().collectors)[0];
    const pods = this.propagator?.podCount ?? 0;
    if (remote?.healthy) return { healthy: true, message: `following ${this.options.target}: cluster tags for ${pods} pods` };
    const why = remote?.message ?? 'not started';
    return { healthy: false, message: this.running && pods > 0 ? `${why}; keeping the last cluster tags of ${pods} pods` : why };
  }

  explain(entity: string): readonly string[] {
    return entity.startsWith(POD_PREFIX) || entity === GLOBAL_ENTITY_ID ? [`cluster tags from ${this.options.target}`] : [];
  }

  /** The replica's whole current state: pods it no longer holds lose their cluster tags. */
  private resync(propagator: ClusterTagPropagator, entities: readonly EntitySnapshot[]): TagInfo[] {
    const present = new Set<string>();
    const out: TagInfo[] = [];
    let global = false;
    for (const entity of entities) {
      const uid = podUidOf(entity.id);
      if (uid !== undefined) {
        present.add(uid);
        out.push(...propagator.setPod(uid, entity.tags));
      } else if (entity.id === GLOBAL_ENTITY_ID) {
        global = true;
        out.push(...propagator.setGlobal(entity.tags));
      }
    }
    out.push(...propagator.retainOnly(present));
    if (!global) out.push(...propagator.removeGlobal());
    return out;
  }

  private apply(propagator: ClusterTagPropagator, batch: readonly EntityEvent[]): TagInfo[] {
    const out: TagInfo[] = [];
    for (const event of batch) {
      this.counters.events++;
      const id = event.entity.id;
      const uid = podUidOf(id);
      if (uid === undefined && id !== GLOBAL_ENTITY_ID) {
        this.counters.ignoredEvents++;
        continue;
      }
      if (event.type === 'deleted') out.push(...(uid === undefined ? propagator.removeGlobal() : propagator.removePod(uid)));
      else out.push(...(uid === undefined ? propagator.setGlobal(tagsOf(event)) : propagator.setPod(uid, tagsOf(event))));
    }
    return out;
  }
}

function podUidOf(id: string): string | undefined {
  return id.startsWith(POD_PREFIX) ? id.slice(POD_PREFIX.length) : undefined;
}

function tagsOf(event: Extract<EntityEvent, { type: 'added' | 'modified' }>): MergedTags {
  return event.entity.tags;
}
