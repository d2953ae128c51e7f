/**
 * The reverse indexes the cluster collector needs to know which pods a change touches: the
 * EndpointSlices that reference a pod (by UID, or by namespace/name when the reference has no
 * UID), the slices of each Service, and the pods of each namespace. Plain maps of keys; the
 * objects themselves stay in the informers.
 */
import type { EndpointSliceMeta, PodMeta } from './objects.js';

export class PodLinks {
  /** `uid:<uid>` or `name:<ns>/<name>` -> slice keys. */
  private readonly slicesByRef = new Map<string, Set<string>>();
  /** `<ns>/<service>` -> slice keys. */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** namespace -> pod UIDs. */
  private readonly podsByNamespace = new Map<string, Set<string>>();
  private readonly podsByUid = new Map<string, PodMeta>();

  pod(uid: string): PodMeta | undefined {
    return this.podsByUid.get(uid);
  }

  get podCount(): number {
    return this.podsByUid.size;
  }

  uids(): IterableIterator<string> {
    return this.podsByUid.keys();
  }

  addPod(pod: PodMeta): void {
    this.podsByUid.set(pod.uid, pod);
    add(this.podsByNamespace, pod.namespace, pod.uid);
  }

  removePod(pod: PodMeta): void {
    if (this.podsByUid.get(pod.uid) === pod) this.podsByUid.delete(pod.uid);
    remove(this.podsByNamespace, pod.namespace, pod.uid);
  }

  podsOfNamespace(namespace: string): Iterable<string> {
    return this.podsByNamespace.get(namespace) ?? [];
  }

  linkSlice(key: string, slice: EndpointSliceMeta): void {
    for (const ref of refKeys(slice)) add(this.slicesByRef, ref, key);
    if (slice.serviceName) add(this.slicesByService, `${slice.namespace}/${slice.serviceName}`, key);
  }

  unlinkSlice(key: string, slice: EndpointSliceMeta): void {
    for (const ref of refKeys(slice)) remove(this.slicesByRef, ref, key);
    if (slice.serviceName) remove(this.slicesByService, `${slice.namespace}/${slice.serviceName}`, key);
  }

  /** Slice keys that may list the pod. */
  slicesOfPod(pod: PodMeta): Set<string> {
    const out = new Set<string>(this.slicesByRef.get(`uid:${pod.uid}`));
    for (const key of this.slicesByRef.get(`name:${pod.namespace}/${pod.name}`) ?? []) out.add(key);
    return out;
  }

  slicesOfService(namespace: string, name: string): Iterable<string> {
    return this.slicesByService.get(`${namespace}/${name}`) ?? [];
  }

  /** UIDs of the known pods a slice references (references to unknown pods are skipped). */
  podsOfSlice(slice: EndpointSliceMeta, byName: (namespace: string, name: string) => PodMeta | undefined): string[] {
    const out: string[] = [];
    for (const ref of slice.pods) {
      const uid = ref.uid ?? byName(ref.namespace, ref.name)?.uid;
      if (uid !== undefined && this.podsByUid.has(uid)) out.push(uid);
    }
    return out;
  }
}

function refKeys(slice: EndpointSliceMeta): string[] {
  return slice.pods.map((ref) => (ref.uid !== undefined ? `uid:${ref.uid}` : `name:${ref.namespace}/${ref.name}`));
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function remove(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
