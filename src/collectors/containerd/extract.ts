/**
 * Pure extraction: one containerd container (labels, image, OCI env) plus the compiled user
 * rules -> its TagInfo. No I/O, no env, no clock.
 */
import { containerEntityId, POD_PREFIX } from '../../entity.js';
import { envEntries, type CompiledRules } from '../../rules.js';
import { Kube, Runtime } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { Cardinality, EntityId, TagInfo } from '../../types.js';
import { addContainerEnvTags, addContainerLabelTags } from '../container-tags.js';
import { addImageTags, parseImageRef, WORKLOADMETA_IMAGE_RULES } from '../image-ref.js';
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

/** CRI's pod labels: the pod source gives the same tags; kept so a container is tagged without the kubelet. */
const CRI_LABEL_TAGS: ReadonlyArray<readonly [string, string, Cardinality]> = [
  [KubeletLabels.podNamespace, Kube.namespace, 'low'],
  [KubeletLabels.podName, Kube.podName, 'orchestrator'],
  [KubeletLabels.containerName, Kube.containerName, 'low'],
];

export interface ExtractOptions {
  readonly source: string;
  /** containerd.labels_as_tags, compiled (target `label`). */
  readonly labelRules?: CompiledRules;
  /** containerd.env_as_tags, compiled (target `env`). */
  readonly envRules?: CompiledRules;
}

/**
 * What the tags need of a container. `imageId` is the image's config digest (the Agent's image_id
 * on containerd), which the collector looks up per image name; absent when containerd has none.
 */
type ContainerFacts = Pick<ContainerRecord, 'id' | 'labels' | 'image' | 'env'> & { readonly imageId?: string };

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
  addImageTags(list, c.image, WORKLOADMETA_IMAGE_RULES, c.imageId);
  list.addHigh(Runtime.containerId, c.id);
  list.addHigh(Runtime.containerName, containerName(c));
  for (const [label, tag, cardinality] of CRI_LABEL_TAGS) list.add(cardinality, tag, c.labels[label]);
  addContainerLabelTags(list, c.labels, options.labelRules);
  addContainerEnvTags(list, envEntries(c.env), options.envRules);
  return list.toTagInfo(options.source, containerEntityId(c.id));
}
