/**
 * Cluster tags, from the stripped objects the informers keep (objects.ts). Pure: no I/O, no
 * config reads, no clock. The rules are the Datadog Agent's (Cluster Agent metadata controller,
 * `kubernetes_namespace_labels_as_tags`, the global cluster tags):
 * - `kube_service:<service>` (low) on a pod, once per Service whose EndpointSlices list the pod
 *   (targetRef kind Pod: by UID when the reference has one, else by namespace/name) as a ready
 *   endpoint, or as any endpoint with `ignoreReadiness`; none when the pod's annotation
 *   `tags.datadoghq.com/disable` lists `kube_service`. The Service is the slice's label
 *   `kubernetes.io/service-name`, and must exist (a slice of another controller naming no
 *   Service gives no tag).
 * - the pod's namespace labels and annotations through `kubernetes.namespace_labels_as_tags` /
 *   `kubernetes.namespace_annotations_as_tags`, with the rule engine every collector uses.
 * - `kube_cluster_name` (the `cluster_name` key) and `orch_cluster_id` (the kube-system
 *   namespace's UID) on the global entity.
 */
import { GLOBAL_ENTITY_ID, POD_PREFIX } from '../../entity.js';
import { applyRules, compileRules, type CompiledRules, type RuleMap } from '../../rules.js';
import { TagList } from '../../taglist.js';
import { Cluster } from '../../tags.js';
import { CARDINALITIES, type SourceTags, type TagInfo } from '../../types.js';
import type { EndpointSliceMeta, PodMeta } from './objects.js';

export const CLUSTER_SOURCE = 'cluster';

export interface ClusterRules {
  readonly namespaceLabels: CompiledRules;
  readonly namespaceAnnotations: CompiledRules;
}

/** Compiles the namespace rules once; ConfigError naming the key for a bad rule. */
export function compileClusterRules(rules: { readonly namespaceLabels?: RuleMap; readonly namespaceAnnotations?: RuleMap }): ClusterRules {
  return {
    namespaceLabels: compileRules(rules.namespaceLabels, 'label', 'kubernetes.namespace_labels_as_tags'),
    namespaceAnnotations: compileRules(rules.namespaceAnnotations, 'annotation', 'kubernetes.namespace_annotations_as_tags'),
  };
}

export const NO_TAGS: SourceTags = Object.freeze({ low: [], orchestrator: [], high: [], standard: [] });

/** The tags a namespace's labels and annotations give its pods. */
export function namespaceTags(labels: Iterable<readonly [string, string]>, annotations: Iterable<readonly [string, string]>, rules: ClusterRules): SourceTags {
  if (rules.namespaceLabels.empty && rules.namespaceAnnotations.empty) return NO_TAGS;
  const list = new TagList();
  applyRules(rules.namespaceLabels, labels, list);
  applyRules(rules.namespaceAnnotations, annotations, list);
  return list.isEmpty() ? NO_TAGS : list.compute();
}

/**
 * The Services a pod is an endpoint of, sorted, from the slices that reference it (by UID or by
 * name; a reference by UID to an older pod of the same name does not count).
 */
export function servicesOfPod(pod: PodMeta, slices: Iterable<EndpointSliceMeta>, serviceExists: (namespace: string, name: string) => boolean, ignoreReadiness: boolean): string[] {
  if (pod.kubeServiceDisabled) return [];
  const out = new Set<string>();
  for (const slice of slices) {
    if (slice.serviceName === '' || out.has(slice.serviceName) || !serviceExists(slice.namespace, slice.serviceName)) continue;
    const listed = slice.pods.some((ref) => (ignoreReadiness || ref.ready) && refersTo(ref, pod));
    if (listed) out.add(slice.serviceName);
  }
  return [...out].sort();
}

function refersTo(ref: EndpointSliceMeta['pods'][number], pod: PodMeta): boolean {
  if (ref.uid !== undefined) return ref.uid === pod.uid;
  return ref.namespace === pod.namespace && ref.name === pod.name;
}

/** A pod's cluster TagInfo: its Services and its namespace's tags. */
export function podTagInfo(pod: PodMeta, services: readonly string[], namespace: SourceTags, source = CLUSTER_SOURCE): TagInfo {
  const list = new TagList();
  for (const service of services) list.addLow(Cluster.kubeService, service);
  for (const level of CARDINALITIES) for (const tag of namespace[level]) list.addTag(level, tag);
  return list.toTagInfo(source, `${POD_PREFIX}${pod.uid}`);
}

/** The global entity's cluster tags; either may be unknown yet. */
export function globalTagInfo(clusterName: string, clusterId: string | undefined, source = CLUSTER_SOURCE): TagInfo {
  const list = new TagList();
  list.addLow(Cluster.kubeClusterName, clusterName);
  list.addLow(Cluster.orchClusterId, clusterId);
  return list.toTagInfo(source, GLOBAL_ENTITY_ID);
}

/**
 * One string standing for a TagInfo's tags, to tell an unchanged pod without keeping its
 * TagInfo (the store has it); empty when there are no tags.
 */
export function tagFingerprint(info: Pick<TagInfo, 'low' | 'orchestrator' | 'high'>): string {
  if (info.low.length + info.orchestrator.length + info.high.length === 0) return '';
  return CARDINALITIES.map((level) => info[level].join('\n')).join('\u0000');
}
