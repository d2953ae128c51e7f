/**
 * The fake API server's storage, as etcd and the watch cache behave for the four resources we
 * read: one global resourceVersion counter bumped by every write, every version of every object
 * kept (so a paged list reads a consistent snapshot at its resourceVersion, as etcd does), and a
 * compaction point below which lists, continue tokens and watches are "too old" (410 Gone).
 */
import { randomUUID } from 'node:crypto';

export type ResourceName = 'pods' | 'services' | 'namespaces' | 'endpointslices';

export interface ResourceType {
  readonly name: ResourceName;
  readonly kind: string;
  readonly listKind: string;
  readonly apiVersion: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceType>> = {
  pods: { name: 'pods', kind: 'Pod', listKind: 'PodList', apiVersion: 'v1', singular: 'pod', namespaced: true, shortNames: ['po'] },
  services: { name: 'services', kind: 'Service', listKind: 'ServiceList', apiVersion: 'v1', singular: 'service', namespaced: true, shortNames: ['svc'] },
  namespaces: { name: 'namespaces', kind: 'Namespace', listKind: 'NamespaceList', apiVersion: 'v1', singular: 'namespace', namespaced: false, shortNames: ['ns'] },
  endpointslices: { name: 'endpointslices', kind: 'EndpointSlice', listKind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', singular: 'endpointslice', namespaced: true, shortNames: [] },
};

/** A Kubernetes object as JSON: only `metadata` is looked at by the store. */
export type KubeObject = Record<string, unknown> & { metadata: KubeMeta };
export type KubeMeta = Record<string, unknown> & { name: string; namespace?: string; uid?: string; resourceVersion?: string };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as a watch replays it. `previous` is the object before (for filtered watches). */
export interface StoredEvent {
  readonly rv: number;
  readonly resource: ResourceName;
  readonly type: WatchEventType;
  readonly object: KubeObject;
  readonly previous: KubeObject | undefined;
}

interface Version {
  readonly rv: number;
  /** undefined: deleted at rv. */
  readonly object: KubeObject | undefined;
}

export class FakeStore {
  private rv = 1;
  /** Lists, tokens and watches from a resourceVersion below this are expired. */
  private compactedRv = 0;
  private readonly versions = new Map<ResourceName, Map<string, Version[]>>();
  private readonly events: StoredEvent[] = [];
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  get resourceVersion(): number {
    return this.rv;
  }

  get compactedResourceVersion(): number {
    return this.compactedRv;
  }

  /** Creates or replaces an object (by namespace/name); fills uid and creationTimestamp if absent. */
  apply(resource: ResourceName, input: Record<string, unknown>): KubeObject {
    const object = structuredClone(input) as KubeObject;
    const type = RESOURCES[resource];
    if (typeof object.metadata?.name !== 'string') throw new Error(`fake apiserver: ${type.kind} without metadata.name`);
    if (!type.namespaced) delete object.metadata.namespace;
    else object.metadata.namespace ??= 'default';
    const key = keyOf(object.metadata);
    const previous = this.current(resource, key);
    object.metadata.uid = previous?.metadata.uid ?? object.metadata.uid ?? randomUUID();
    object.metadata.creationTimestamp ??= previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    object.kind = type.kind;
    object.apiVersion = type.apiVersion;
    this.rv++;
    object.metadata.resourceVersion = String(this.rv);
    this.record(resource, key, { rv: this.rv, object }, previous === undefined ? 'ADDED' : 'MODIFIED', object, previous);
    return object;
  }

  /** Deletes an object; returns false when there was none. */
  remove(resource: ResourceName, namespace: string | undefined, name: string): boolean {
    const key = keyOf({ name, namespace: RESOURCES[resource].namespaced ? namespace ?? 'default' : undefined });
    const previous = this.current(resource, key);
    if (previous === undefined) return false;
    this.rv++;
    // A DELETED event carries the object's last state with the deletion's resourceVersion.
    const last = structuredClone(previous);
    last.metadata.resourceVersion = String(this.rv);
    this.record(resource, key, { rv: this.rv, object: undefined }, 'DELETED', last, previous);
    return true;
  }

  /** Expires everything before the current resourceVersion, as an etcd compaction does. */
  compact(): void {
    this.compactedRv = this.rv;
    let keep = 0;
    while (keep < this.events.length && (this.events[keep] as StoredEvent).rv <= this.compactedRv) keep++;
    this.events.splice(0, keep);
    for (const byKey of this.versions.values()) {
      for (const [key, versions] of byKey) {
        const latest = versions[versions.length - 1] as Version;
        if (latest.object === undefined) byKey.delete(key);
        else byKey.set(key, [latest]);
      }
    }
  }

  /** The objects of a resource at `rv` (default: now), sorted by key as etcd returns them. */
  snapshot(resource: ResourceName, rv = this.rv): Array<{ key: string; object: KubeObject }> {
    const out: Array<{ key: string; object: KubeObject }> = [];
    for (const [key, versions] of this.versions.get(resource) ?? []) {
      let found: Version | undefined;
      for (const version of versions) if (version.rv <= rv) found = version;
      if (found?.object !== undefined) out.push({ key, object: found.object });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.current(resource, keyOf({ name, namespace: RESOURCES[resource].namespaced ? namespace : undefined }));
  }

  /** Events of a resource after `rv`, or undefined when `rv` is older than the compaction. */
  eventsSince(resource: ResourceName, rv: number): StoredEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.events.filter((e) => e.resource === resource && e.rv > rv);
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private current(resource: ResourceName, key: string): KubeObject | undefined {
    const versions = this.versions.get(resource)?.get(key);
    return versions?.[versions.length - 1]?.object;
  }

  private record(resource: ResourceName, key: string, version: Version, type: WatchEventType, object: KubeObject, previous: KubeObject | undefined): void {
    let byKey = this.versions.get(resource);
    if (!byKey) this.versions.set(resource, (byKey = new Map()));
    const versions = byKey.get(key);
    if (versions) versions.push(version);
    else byKey.set(key, [version]);
    const event: StoredEvent = { rv: version.rv, resource, type, object, previous };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
  }
}

/** etcd's key order: namespace, then name (cluster-scoped objects by name). */
function keyOf(meta: { name: string; namespace?: string | undefined }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}
