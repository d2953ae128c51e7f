/**
 * Pure extraction: one containerd container (labels, image, OCI env) plus the compiled user
 * rules -> its TagInfo. No I/O, no env, no clock.
 */
import { containerEntityId, POD_PREFIX } from '../../entity.js';
import { applyRules, envEntries, type CompiledRules } from '../../rules.js';
import { Kube, Runtime, Standard, STANDARD_TAG_NAMES } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { Cardinality, EntityId, TagInfo } from '../../types.js';
import { addImageTags, parseImageRef } from '../image-ref.js';
import type { ContainerRecord } from './types.js';

/** Labels the kubelet sets through CRI on every container of a pod. */
export const KubeletLabels = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
} as const;

/** containerd's CRI plugin marks each container `sandbox` (the pod's pause) or `container`. */
export const CRI_KIND_LABEL = 'io.cri-containerd.kind';
/** nerdctl's container name (`nerdctl run --name`). */
export const NERDCTL_NAME_LABEL = 'nerdctl/name';

const LABEL_TAGS: ReadonlyArray<readonly [string, string, Cardinality]> = [
  ['com.datadoghq.tags.env', Standard.env, 'low'],
  ['com.datadoghq.tags.service', Standard.service, 'low'],
  ['com.datadoghq.tags.version', Standard.version, 'low'],
  [KubeletLabels.podNamespace, Kube.namespace, 'low'],
  [KubeletLabels.podName, Kube.podName, 'orchestrator'],
  [KubeletLabels.containerName, Kube.containerName, 'low'],
];

const ENV_TAGS: ReadonlyMap<string, string> = new Map([
  ['DD_ENV', Standard.env],
  ['DD_SERVICE', Standard.service],
  ['DD_VERSION', Standard.version],
]);

export interface ExtractOptions {
  readonly source: string;
  /** containerd.labels_as_tags, compiled (target `label`). */
  readonly labelRules?: CompiledRules;
  /** containerd.env_as_tags, compiled (target `env`). */
  readonly envRules?: CompiledRules;
}

type ContainerFacts = Pick<ContainerRecord, 'id' | 'labels' | 'image' | 'env'>;

/**
 * True for a pod's sandbox ("pause") container, which runs no workload and gets no tags: CRI's
 * kind label says so, or, for sandboxes made by other tools, the image is named `pause`.
 */
export function isSandbox(c: Pick<ContainerRecord, 'labels' | 'image'>): boolean {
  if (c.labels[CRI_KIND_LABEL] === 'sandbox') return true;
  return parseImageRef(c.image)?.shortName === 'pause';
}

/** The pod entity of a container the kubelet made, from its labels. */
export function podEntityOf(labels: Readonly<Record<string, string>>): EntityId | undefined {
  const uid = labels[KubeletLabels.podUid];
  return uid ? POD_PREFIX + uid : undefined;
}

/** The name to tag a container with: kubelet's, then nerdctl's, else its ID (what ctr shows). */
export function containerName(c: Pick<ContainerRecord, 'id' | 'labels'>): string {
  return c.labels[KubeletLabels.containerName] || c.labels[NERDCTL_NAME_LABEL] || c.id;
}

export function extractContainer(c: ContainerFacts, options: ExtractOptions): TagInfo {
  const list = new TagList();
  const env = envEntries(c.env);
  addImageTags(list, c.image);
  list.addHigh(Runtime.containerId, c.id);
  list.addHigh(Runtime.containerName, containerName(c));
  for (const [label, tag, cardinality] of LABEL_TAGS) {
    if (STANDARD_TAG_NAMES.has(tag)) list.addStandard(tag, c.labels[label]);
    else list.add(cardinality, tag, c.labels[label]);
  }
  for (const [key, value] of env) {
    const tag = ENV_TAGS.get(key);
    if (tag) list.addStandard(tag, value);
  }
  if (options.labelRules) applyRules(options.labelRules, Object.entries(c.labels), list);
  if (options.envRules) applyRules(options.envRules, env, list);
  return list.toTagInfo(options.source, containerEntityId(c.id));
}
