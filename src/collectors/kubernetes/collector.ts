/**
 * The cluster collector (a streamer, source `cluster`, at the cluster-orchestrator priority):
 * four informers, one watch each on Pods, EndpointSlices, Services and Namespaces, and from
 * them one TagInfo per pod (`kubernetes_pod_uid://<uid>`: kube_service and namespace tags) plus
 * the global entity's cluster tags.
 *
 * Nothing is pushed until every resource has listed once (so a pod does not get its namespace
 * tags first and its Services a moment later); then all pods are pushed in one batch and the
 * tagger is told the collector is synced. After that each change marks the pods it touches
 * (through PodLinks), and the marked pods are recomputed and pushed, only when their tags
 * changed, in one batch per turn of the event loop. A deleted pod is pushed as a deletion.
 * Pods not yet scheduled (no spec.nodeName) are held back: their first push carries the node,
 * which never changes after, so a per-node stream (nodeOf) sees every pod of its node.
 *
 * On a node daemon (`podScope: { node }`) only the pods bound to that node are listed and watched
 * (`fieldSelector=spec.nodeName=<node>`, the kubelet's own query): every node holding every pod
 * is the load the cluster instance exists to avoid. Services, EndpointSlices and Namespaces stay
 * cluster-wide (a Service's slices list pods of many nodes); references to pods not held here are
 * skipped as references to unknown pods always were.
 */
import { causeMessage } from '../../errors.js';
import type { BackoffOptions } from '../../net/backoff.js';
import { deletionTagInfo } from '../../taglist.js';
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../entity.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth, DetectResult } from '../collector.js';
import type { KubeApiSource } from './client.js';
import { CLUSTER_SOURCE, NO_TAGS, globalTagInfo, podTagInfo, servicesOfPod, tagFingerprint, type ClusterRules } from './extract.js';
import { Informer, type InformerHandler, type InformerState, type InformerStats } from './informer.js';
import { decodeEndpointSlice, decodeService, internPool, namespaceDecoder, podDecoder, type EndpointSliceMeta, type NamespaceMeta, type PodMeta, type ServiceMeta } from './objects.js';
import { PodLinks } from './pod-links.js';

export const CLUSTER_RESOURCES = ['pods', 'endpointslices', 'services', 'namespaces'] as const;
export type ClusterResource = (typeof CLUSTER_RESOURCES)[number];

export interface ClusterCollectorOptions {
  readonly source: KubeApiSource;
  readonly rules: ClusterRules;
  /** The `cluster_name` key: `kube_cluster_name` on the global entity; empty for none. */
  readonly clusterName: string;
  /** `kubernetes.kube_service_ignore_readiness`. */
  readonly ignoreReadiness: boolean;
  /**
   * Which pods to list and watch: `cluster` (the default; the cluster instance) all of them,
   * `{ node }` (a node daemon watching for itself) only those bound to that node. An empty node
   * name is unknown: all pods are watched then, and the collector logs once why.
   */
  readonly podScope?: PodScope;
  readonly pageSize?: number;
  readonly minWatchTimeoutSeconds?: number;
  readonly backoff?: BackoffOptions;
  /** `kubernetes.enabled: auto`: whether the API server was found (in a pod, or api_url set). */
  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;
}

export type PodScope = 'cluster' | { readonly node: string };

export interface ClusterCounters {
  podsPushed: number;
  deletionsPushed: number;
  batches: number;
}

export interface ResourceReport {
  readonly resource: ClusterResource;
  readonly state: InformerState;
  readonly stats: InformerStats;
}

const PATHS: Readonly<Record<ClusterResource, string>> = {
  pods: '/api/v1/pods',
  endpointslices: '/apis/discovery.k8s.io/v1/endpointslices',
  services: '/api/v1/services',
  namespaces: '/api/v1/namespaces',
};

export class ClusterCollector implements Collector {
  readonly name = CLUSTER_SOURCE;
  readonly counters: ClusterCounters = { podsPushed: 0, deletionsPushed: 0, batches: 0 };
  private readonly links = new PodLinks();
  /** Per pushed pod UID, the fingerprint of what was pushed. */
  private readonly pushed = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private readonly gone: EntityId[] = [];
  private globalDirty = true;
  private pushedGlobal = '';
  private flushQueued = false;
  private synced = false;
  private ctx: CollectorContext | undefined;
  private pods!: Informer<PodMeta>;
  private slices!: Informer<EndpointSliceMeta>;
  private services!: Informer<ServiceMeta>;
  private namespaces!: Informer<NamespaceMeta>;

  readonly detect?: (signal: AbortSignal) => Promise<DetectResult>;

  constructor(private readonly options: ClusterCollectorOptions) {
    if (options.detect) this.detect = options.detect;
  }

  /** The node a pod runs on (spec.nodeName), for a per-node stream; undefined when unknown or unscheduled. */
  nodeOf(podUid: string): string | undefined {
    return this.links.pod(podUid)?.nodeName || undefined;
  }

  /** Each resource's sync state and counters, for /healthz and /metrics. */
  resources(): ResourceReport[] {
    if (!this.ctx) return [];
    const informers: Record<ClusterResource, Informer<unknown>> = { pods: this.pods, endpointslices: this.slices, services: this.services, namespaces: this.namespaces };
    return CLUSTER_RESOURCES.map((resource) => ({ resource, state: informers[resource].state, stats: informers[resource].stats }));
  }

  health(): CollectorHealth {
    const reports = this.resources();
    if (reports.length === 0) return { healthy: true, message: 'not started' };
    const failing = reports.filter((r) => r.state.lastError !== undefined || !r.state.synced);
    const node = this.podNode();
    if (failing.length === 0) return { healthy: true, message: `watching ${this.options.source.url}: ${reports.length} resources synced, ${this.links.podCount} pods${node ? ` (of node ${node})` : ''}` };
    return { healthy: false, message: failing.map((r) => `${r.resource}: ${r.state.lastError ?? 'not synced yet'}`).join('; ') };
  }

  explain(entity: EntityId): readonly string[] {
    if (!entity.startsWith(POD_PREFIX)) return [];
    const pod = this.links.pod(entity.slice(POD_PREFIX.length));
    if (!pod) return ['cluster: pod not known to the API server (yet)'];
    if (pod.kubeServiceDisabled) return ['cluster: kube_service disabled by the annotation tags.datadoghq.com/disable'];
    return pod.nodeName ? [] : ['cluster: pod not scheduled yet; its tags are sent once it has a node'];
  }

  async run(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    const common = { source: this.options.source, logger: ctx.logger, ...(this.options.pageSize ? { pageSize: this.options.pageSize } : {}), ...(this.options.minWatchTimeoutSeconds ? { minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds } : {}), ...(this.options.backoff ? { backoff: this.options.backoff } : {}) };
    const onListed = (): void => this.queueFlush();
    const node = this.podNode();
    if (node === undefined && this.options.podScope !== undefined && this.options.podScope !== 'cluster') {
      ctx.logger.warn({ resource: 'pods' }, 'node name unknown (kubelet.node_name / NODE_NAME empty): watching every pod of the cluster instead of this node’s');
    }
    const podSelector = node === undefined ? {} : { fieldSelector: `spec.nodeName=${escapeFieldValue(node)}` };
    this.pods = new Informer({ ...common, ...podSelector, resource: 'pods', path: PATHS.pods, decode: podDecoder(internPool()), handler: { ...this.podHandler(), onListed } });
    this.slices = new Informer({ ...common, resource: 'endpointslices', path: PATHS.endpointslices, decode: decodeEndpointSlice, handler: { ...this.sliceHandler(), onListed } });
    this.services = new Informer({ ...common, resource: 'services', path: PATHS.services, decode: decodeService, handler: { ...this.serviceHandler(), onListed } });
    this.namespaces = new Informer({ ...common, resource: 'namespaces', path: PATHS.namespaces, decode: namespaceDecoder(this.options.rules), handler: { ...this.namespaceHandler(), onListed } });
    await Promise.all([this.pods, this.slices, this.services, this.namespaces].map((informer) => informer.run(ctx.signal)));
  }

  async close(): Promise<void> {
    await this.options.source.close();
  }

  /** The node whose pods alone are watched; undefined: all pods (cluster scope, or the node is unknown). */
  private podNode(): string | undefined {
    const scope = this.options.podScope ?? 'cluster';
    if (scope === 'cluster') return undefined;
    return scope.node.trim() || undefined;
  }

  private podHandler(): InformerHandler<PodMeta> {
    return {
      onAdd: (_key, pod) => {
        this.links.addPod(pod);
        this.mark(pod.uid);
      },
      onUpdate: (_key, previous, pod) => {
        this.links.removePod(previous);
        if (previous.uid !== pod.uid) this.forget(previous.uid);
        this.links.addPod(pod);
        this.mark(pod.uid);
      },
      onDelete: (_key, pod) => {
        this.links.removePod(pod);
        this.forget(pod.uid);
      },
    };
  }

  private sliceHandler(): InformerHandler<EndpointSliceMeta> {
    const touch = (slice: EndpointSliceMeta): void => {
      for (const uid of this.links.podsOfSlice(slice, (ns, name) => this.pods.get(`${ns}/${name}`))) this.mark(uid);
    };
    return {
      onAdd: (key, slice) => {
        this.links.linkSlice(key, slice);
        touch(slice);
      },
      onUpdate: (key, previous, slice) => {
        this.links.unlinkSlice(key, previous);
        this.links.linkSlice(key, slice);
        touch(previous);
        touch(slice);
      },
      onDelete: (key, slice) => {
        this.links.unlinkSlice(key, slice);
        touch(slice);
      },
    };
  }

  private serviceHandler(): InformerHandler<ServiceMeta> {
    const touch = (service: ServiceMeta): void => {
      for (const sliceKey of this.links.slicesOfService(service.namespace, service.name)) {
        const slice = this.slices.get(sliceKey);
        if (slice) for (const uid of this.links.podsOfSlice(slice, (ns, name) => this.pods.get(`${ns}/${name}`))) this.mark(uid);
      }
    };
    return { onAdd: (_key, s) => touch(s), onDelete: (_key, s) => touch(s) };
  }

  private namespaceHandler(): InformerHandler<NamespaceMeta> {
    const touch = (ns: NamespaceMeta): void => {
      if (ns.name === 'kube-system') this.globalDirty = true;
      for (const uid of this.links.podsOfNamespace(ns.name)) this.mark(uid);
      this.queueFlush();
    };
    return { onAdd: (_key, ns) => touch(ns), onUpdate: (_key, _old, ns) => touch(ns), onDelete: (_key, ns) => touch(ns) };
  }

  private mark(uid: string): void {
    this.dirty.add(uid);
    this.queueFlush();
  }

  private forget(uid: string): void {
    this.dirty.delete(uid);
    if (this.pushed.delete(uid)) this.gone.push(`${POD_PREFIX}${uid}`);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (!this.synced) {
      if (![this.pods, this.slices, this.services, this.namespaces].every((informer) => informer.state.synced)) return;
      this.synced = true;
      for (const uid of this.links.uids()) this.dirty.add(uid);
    }
    const out: TagInfo[] = [];
    for (const id of this.gone.splice(0)) out.push(deletionTagInfo(CLUSTER_SOURCE, id));
    this.counters.deletionsPushed += out.length;
    for (const uid of this.dirty) {
      const info = this.compute(uid);
      if (info === undefined) continue;
      const fingerprint = tagFingerprint(info);
      if (fingerprint === (this.pushed.get(uid) ?? '')) continue;
      this.pushed.set(uid, fingerprint);
      out.push(info);
      this.counters.podsPushed++;
    }
    this.dirty.clear();
    if (this.globalDirty) {
      this.globalDirty = false;
      const global = globalTagInfo(this.options.clusterName, this.namespaces.get('kube-system')?.uid);
      const fingerprint = tagFingerprint(global);
      if (fingerprint !== this.pushedGlobal) {
        this.pushedGlobal = fingerprint;
        out.push(global);
      }
    }
    if (out.length > 0) {
      this.counters.batches++;
      try {
        ctx.sink.push(out);
      } catch (error) {
        ctx.logger.error({ error: causeMessage(error), entity: GLOBAL_ENTITY_ID }, 'pushing cluster tags failed');
      }
    }
    ctx.markSynced();
  }

  /** A pod's TagInfo, or undefined while it has no node (held back) or is unknown. */
  private compute(uid: string): TagInfo | undefined {
    const pod = this.links.pod(uid);
    if (pod === undefined || pod.nodeName === '') return undefined;
    const slices: EndpointSliceMeta[] = [];
    for (const key of this.links.slicesOfPod(pod)) {
      const slice = this.slices.get(key);
      if (slice) slices.push(slice);
    }
    const services = servicesOfPod(pod, slices, (ns, name) => this.services.get(`${ns}/${name}`) !== undefined, this.options.ignoreReadiness);
    return podTagInfo(pod, services, this.namespaces.get(pod.namespace)?.tags ?? NO_TAGS);
  }
}

/** A field selector value as the API server reads it: `\\`, `,` and `=` escaped with a backslash. */
function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}
