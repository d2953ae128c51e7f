/**
 * Pure extraction for the kubelet collector: one pod of `GET /pods` -> the TagInfo of the pod
 * entity and of each of its containers that has an ID. No I/O, no env, no clock.
 *
 * Tag semantics follow the Datadog Agent's kubelet tagger (see docs/collectors/kubelet.md):
 * owner kinds map to kube_* tags, a ReplicaSet's pod-template-hash and a CronJob's schedule
 * suffix are stripped to name the Deployment / CronJob, `tags.datadoghq.com/*` labels and
 * `DD_ENV|SERVICE|VERSION` give the standard tags, `ad.datadoghq.com/[<container>.]tags`
 * annotations carry JSON tag maps, and the user's label / annotation rules apply last.
 */
import { containerEntityId, CONTAINER_PREFIX, POD_PREFIX } from '../../entity.js';
import { applyRules, compileRules, type CompiledRules, type RuleMap } from '../../rules.js';
import { Kube, Runtime, Standard } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { EntityId, TagInfo } from '../../types.js';
import { addImageTags } from '../image-ref.js';
import type { KubePod } from './types.js';
import { arrayOf, isRecord, nonEmptyString, stringEntries } from '../json-fields.js';

export const KUBELET_SOURCE = 'kubelet';

export interface KubeletExtractOptions {
  readonly labelRules: CompiledRules;
  readonly annotationRules: CompiledRules;
  /** Source name on the TagInfos. Default `kubelet`. */
  readonly source?: string;
}

/** Compiles `kubelet.pod_labels_as_tags` / `pod_annotations_as_tags` (throws ConfigError). */
export function kubeletExtractOptions(rules: { labels?: RuleMap; annotations?: RuleMap } = {}): KubeletExtractOptions {
  return {
    labelRules: compileRules(rules.labels, 'label', 'kubelet.pod_labels_as_tags'),
    annotationRules: compileRules(rules.annotations, 'annotation', 'kubelet.pod_annotations_as_tags'),
  };
}

export interface PodExtraction {
  readonly podUid: string;
  /** The pod's TagInfo first, then one per container with an ID. */
  readonly infos: TagInfo[];
  /** Entities of this pod (pod and containers), for the diff. */
  readonly entities: EntityId[];
  /** Previous IDs of restarted containers (lastState), to delete. */
  readonly staleContainers: EntityId[];
  /** Things worth a debug log (unparsable annotation JSON...). */
  readonly problems: string[];
}

const STANDARD_LABEL_PREFIX = 'tags.datadoghq.com/';
const AD_PREFIX = 'ad.datadoghq.com/';
const POD_TAGS_ANNOTATION = `${AD_PREFIX}tags`;
const STANDARD_ENV: ReadonlyArray<readonly [string, string]> = [
  ['DD_ENV', Standard.env],
  ['DD_SERVICE', Standard.service],
  ['DD_VERSION', Standard.version],
];
const APP_LABELS: ReadonlyMap<string, string> = new Map([
  ['app.kubernetes.io/name', Kube.appName],
  ['app.kubernetes.io/instance', Kube.appInstance],
  ['app.kubernetes.io/version', Kube.appVersion],
  ['app.kubernetes.io/component', Kube.appComponent],
  ['app.kubernetes.io/part-of', Kube.appPartOf],
  ['app.kubernetes.io/managed-by', Kube.appManagedBy],
]);
/** Characters of Kubernetes' SafeEncodeString, which makes pod-template-hash values. */
const TEMPLATE_HASH = /^[bcdfghjklmnpqrstvwxz2456789]{3,}$/;
const DIGITS = /^[0-9]{3,}$/;

/** The pod's UID, or undefined when the item is not a pod with one. */
export function podUidOf(raw: unknown): string | undefined {
  return isRecord(raw) && isRecord(raw.metadata) ? nonEmptyString(raw.metadata.uid) : undefined;
}

/**
 * Extracts one pod. Returns undefined for an item that is not a pod with a UID (counted as
 * malformed by the caller).
 */
export function extractPod(raw: unknown, options: KubeletExtractOptions): PodExtraction | undefined {
  if (!isRecord(raw)) return undefined;
  const pod = raw as KubePod;
  const meta = isRecord(pod.metadata) ? pod.metadata : {};
  const uid = nonEmptyString(meta.uid);
  if (uid === undefined) return undefined;
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  const source = options.source ?? KUBELET_SOURCE;
  const problems: string[] = [];
  const podName = nonEmptyString(meta.name);
  const labels = stringEntries(meta.labels);
  const annotations = stringEntries(meta.annotations);
  const labelMap = new Map(labels);
  const annotationMap = new Map(annotations);

  const podTags = new TagList();
  podTags.addLow(Kube.namespace, nonEmptyString(meta.namespace));
  podTags.addOrchestrator(Kube.podName, podName);
  podTags.addLow(Kube.podPhase, nonEmptyString(status.phase)?.toLowerCase());
  podTags.addLow(Kube.qos, nonEmptyString(status.qosClass));
  podTags.addLow(Kube.priorityClass, nonEmptyString(spec.priorityClassName));
  for (const owner of arrayOf(meta.ownerReferences)) addOwnerTags(podTags, owner);
  for (const volume of arrayOf(spec.volumes)) {
    if (isRecord(volume) && isRecord(volume.persistentVolumeClaim)) podTags.addLow(Kube.persistentVolumeClaim, nonEmptyString(volume.persistentVolumeClaim.claimName));
  }
  for (const [key, value] of labels) {
    const app = APP_LABELS.get(key);
    if (app) podTags.addLow(app, value);
    else if (key.startsWith(STANDARD_LABEL_PREFIX)) {
      const name = key.slice(STANDARD_LABEL_PREFIX.length);
      if (name === Standard.env || name === Standard.service || name === Standard.version) podTags.addLow(name, value);
    }
  }
  podTags.addOrchestrator(Kube.oshiftDeploymentConfig, annotationMap.get('openshift.io/deployment-config.name'));
  podTags.addOrchestrator(Kube.oshiftDeployment, annotationMap.get('openshift.io/deployment.name'));
  addJsonTags(podTags, POD_TAGS_ANNOTATION, annotationMap.get(POD_TAGS_ANNOTATION), problems);
  applyRules(options.labelRules, labels, podTags);
  applyRules(options.annotationRules, annotations, podTags);

  const podEntity = POD_PREFIX + uid;
  const infos: TagInfo[] = [podTags.toTagInfo(source, podEntity)];
  const entities: EntityId[] = [podEntity];
  const current = new Set<EntityId>();
  const previous: EntityId[] = [];
  const groups: ReadonlyArray<readonly [unknown, unknown]> = [
    [status.initContainerStatuses, spec.initContainers],
    [status.containerStatuses, spec.containers],
    [status.ephemeralContainerStatuses, spec.ephemeralContainers],
  ];
  for (const [statuses, specs] of groups) {
    for (const cs of arrayOf(statuses)) {
      if (!isRecord(cs)) continue;
      const lastId = isRecord(cs.lastState) && isRecord(cs.lastState.terminated) ? nonEmptyString(cs.lastState.terminated.containerID) : undefined;
      if (lastId !== undefined) previous.push(containerEntityId(lastId));
      const runtimeId = nonEmptyString(cs.containerID);
      // No ID yet (pulling, pending): nothing to tag; a later poll picks it up.
      if (runtimeId === undefined) continue;
      const entity = containerEntityId(runtimeId);
      if (entity === CONTAINER_PREFIX || current.has(entity)) continue;
      current.add(entity);
      const name = nonEmptyString(cs.name);
      const containerSpec = arrayOf(specs).find((c): c is Record<string, unknown> => isRecord(c) && c.name === name);
      const tags = new TagList().merge(podTags);
      tags.addLow(Kube.containerName, name);
      tags.addHigh(Runtime.containerId, entity.slice(CONTAINER_PREFIX.length));
      if (name !== undefined && podName !== undefined) tags.addHigh(Runtime.displayContainerName, `${name}_${podName}`);
      addImageTags(tags, nonEmptyString(containerSpec?.image) ?? nonEmptyString(cs.image), { dockerImage: false });
      if (name !== undefined) {
        for (const tag of [Standard.env, Standard.service, Standard.version]) tags.addLow(tag, labelMap.get(`${STANDARD_LABEL_PREFIX}${name}.${tag}`));
        const key = `${AD_PREFIX}${name}.tags`;
        addJsonTags(tags, key, annotationMap.get(key), problems);
      }
      for (const env of arrayOf(containerSpec?.env)) {
        if (!isRecord(env) || typeof env.value !== 'string') continue;
        for (const [envName, tag] of STANDARD_ENV) if (env.name === envName) tags.addLow(tag, env.value);
      }
      infos.push(tags.toTagInfo(source, entity));
      entities.push(entity);
    }
  }
  const staleContainers = previous.filter((id) => id !== CONTAINER_PREFIX && !current.has(id));
  return { podUid: uid, infos, entities, staleContainers, problems };
}

/**
 * A cheap signature of every field extractPod reads: equal signatures give equal TagInfos (for
 * the same options), so an unchanged pod costs this and nothing more. Status fields that churn
 * (conditions, timestamps, restart counts) are left out on purpose: they change no tag.
 */
export function podFingerprint(raw: unknown): string {
  if (!isRecord(raw)) return '';
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const spec = isRecord(raw.spec) ? raw.spec : {};
  const status = isRecord(raw.status) ? raw.status : {};
  const parts: unknown[] = [
    meta.uid,
    meta.name,
    meta.namespace,
    meta.labels,
    meta.annotations,
    meta.ownerReferences,
    spec.priorityClassName,
    status.phase,
    status.qosClass,
  ];
  for (const volume of arrayOf(spec.volumes)) if (isRecord(volume) && volume.persistentVolumeClaim !== undefined) parts.push(volume.persistentVolumeClaim);
  for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers]) {
    parts.push('|');
    for (const c of arrayOf(list)) {
      if (!isRecord(c)) continue;
      parts.push(c.name, c.image);
      for (const env of arrayOf(c.env)) if (isRecord(env) && typeof env.name === 'string' && env.name.startsWith('DD_')) parts.push(env.name, env.value);
    }
  }
  for (const list of [status.initContainerStatuses, status.containerStatuses, status.ephemeralContainerStatuses]) {
    parts.push('|');
    for (const cs of arrayOf(list)) {
      if (!isRecord(cs)) continue;
      parts.push(cs.name, cs.image, cs.containerID);
      if (isRecord(cs.lastState) && isRecord(cs.lastState.terminated)) parts.push(cs.lastState.terminated.containerID);
    }
  }
  return JSON.stringify(parts);
}

function addOwnerTags(tags: TagList, owner: unknown): void {
  if (!isRecord(owner)) return;
  const kind = nonEmptyString(owner.kind);
  const name = nonEmptyString(owner.name);
  if (kind === undefined || name === undefined) return;
  tags.addLow(Kube.ownerRefKind, kind.toLowerCase());
  tags.addOrchestrator(Kube.ownerRefName, name);
  switch (kind) {
    case 'Deployment':
      tags.addLow(Kube.deployment, name);
      break;
    case 'ReplicaSet':
      tags.addLow(Kube.replicaSet, name);
      tags.addLow(Kube.deployment, deploymentOfReplicaSet(name));
      break;
    case 'StatefulSet':
      tags.addLow(Kube.statefulSet, name);
      break;
    case 'DaemonSet':
      tags.addLow(Kube.daemonSet, name);
      break;
    case 'ReplicationController':
      tags.addLow(Kube.replicationController, name);
      break;
    case 'Job': {
      const cronJob = cronJobOfJob(name);
      // Each run of a CronJob is a new Job: its name is per-run, hence orchestrator cardinality.
      if (cronJob !== undefined) tags.addLow(Kube.cronJob, cronJob).addOrchestrator(Kube.job, name);
      else tags.addLow(Kube.job, name);
      break;
    }
  }
}

/** `web-6cd8d99884` -> `web`: a ReplicaSet made by a Deployment ends in its pod-template-hash. */
export function deploymentOfReplicaSet(name: string): string | undefined {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const suffix = name.slice(dash + 1);
  // Kubernetes before 1.8 hashed with digits only.
  return TEMPLATE_HASH.test(suffix) || DIGITS.test(suffix) ? name.slice(0, dash) : undefined;
}

/** `backup-29707813` -> `backup`: a CronJob names each Job after its scheduled time in minutes. */
export function cronJobOfJob(name: string): string | undefined {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  return DIGITS.test(name.slice(dash + 1)) ? name.slice(0, dash) : undefined;
}

/** `{"team": "a", "+req": ["x", "y"]}`: string or list values; a `+` name is high cardinality. */
function addJsonTags(tags: TagList, key: string, json: string | undefined, problems: string[]): void {
  if (json === undefined) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    problems.push(`annotation ${key} is not valid JSON`);
    return;
  }
  if (!isRecord(parsed)) {
    problems.push(`annotation ${key} is not a JSON object`);
    return;
  }
  for (const [name, value] of Object.entries(parsed)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') tags.addLow(name, String(v));
    }
  }
}
