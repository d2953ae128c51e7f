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
import { addContainerEnvTags } from '../container-tags.js';
import { addImageTags, isImageId, WORKLOADMETA_IMAGE_RULES } from '../image-ref.js';
import { specEnv } from './extract-env.js';
import { resolveTemplates, type TemplateContext } from './extract-templates.js';
import type { KubePod } from './types.js';
import { arrayOf, isRecord, stringEntries } from '../json-fields.js';

export const KUBELET_SOURCE = 'kubelet';

export interface KubeletExtractOptions {
  readonly labelRules: CompiledRules;
  readonly annotationRules: CompiledRules;
  /** `persistentvolumeclaim` tags on StatefulSet pods (`kubelet.persistent_volume_claims_as_tags`). Default true. */
  readonly persistentVolumeClaims?: boolean;
  /** Source name on the TagInfos. Default `kubelet`. */
  readonly source?: string;
}

/** Compiles `kubelet.pod_labels_as_tags` / `pod_annotations_as_tags` (throws ConfigError). */
export function kubeletExtractOptions(rules: { labels?: RuleMap; annotations?: RuleMap; persistentVolumeClaims?: boolean } = {}): KubeletExtractOptions {
  return {
    labelRules: compileRules(rules.labels, 'label', 'kubelet.pod_labels_as_tags'),
    annotationRules: compileRules(rules.annotations, 'annotation', 'kubelet.pod_annotations_as_tags'),
    ...(rules.persistentVolumeClaims === undefined ? {} : { persistentVolumeClaims: rules.persistentVolumeClaims }),
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
/** Pod annotations copied to a low tag as they are. */
const POD_ANNOTATION_TAGS: ReadonlyArray<readonly [string, string]> = [
  ['openshift.io/deployment-config.name', Kube.oshiftDeploymentConfig],
  // Set by the Datadog admission controller when Remote Config injected the pod.
  ['admission.datadoghq.com/rc.id', Kube.remoteConfigId],
  ['admission.datadoghq.com/rc.rev', Kube.remoteConfigRevision],
];
/** Argo Rollouts labels each pod of a Rollout's ReplicaSets with it. */
const ARGO_ROLLOUT_LABEL = 'rollouts-pod-template-hash';
/** Kueue's pod labels: the queues of the workload that admitted the pod. */
const KUEUE_LOCAL_QUEUE_LABEL = 'kueue.x-k8s.io/local-queue-name';
const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
const KUEUE_CLUSTER_QUEUE_LABEL = 'kueue.x-k8s.io/cluster-queue-name';
/** GPU resource names -> vendor; any `nvidia.com/mig-*` profile is nvidia too. */
const GPU_RESOURCES: ReadonlyMap<string, string> = new Map([
  ['nvidia.com/gpu', 'nvidia'],
  ['amd.com/gpu', 'amd'],
  ['gpu.intel.com/xe', 'intel'],
  ['gpu.intel.com/i915', 'intel'],
]);
const RESIZE_POLICY_TAGS: ReadonlyArray<readonly [string, string]> = [
  ['cpu', Kube.cpuRestartPolicy],
  ['memory', Kube.memoryRestartPolicy],
];

/** What the owner tags need of the pod besides the owner. */
interface PodFacts {
  readonly labels: ReadonlyMap<string, string>;
  /** PVC claim names, empty when `persistentVolumeClaims` is off. */
  readonly claims: ReadonlyArray<string | undefined>;
}
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
  return isRecord(raw) && isRecord(raw.metadata) ? str(raw.metadata.uid) : undefined;
}

/**
 * Extracts one pod. Returns undefined for an item that is not a pod with a UID (counted as
 * malformed by the caller).
 */
export function extractPod(raw: unknown, options: KubeletExtractOptions): PodExtraction | undefined {
  if (!isRecord(raw)) return undefined;
  const pod = raw as KubePod;
  const meta = isRecord(pod.metadata) ? pod.metadata : {};
  const uid = str(meta.uid);
  if (uid === undefined) return undefined;
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  const source = options.source ?? KUBELET_SOURCE;
  const problems: string[] = [];
  const podName = str(meta.name);
  const labels = stringEntries(meta.labels);
  const annotations = stringEntries(meta.annotations);
  const labelMap = new Map(labels);
  const annotationMap = new Map(annotations);

  const podTags = new TagList();
  podTags.addLow(Kube.namespace, str(meta.namespace));
  podTags.addOrchestrator(Kube.podName, podName);
  podTags.addLow(Kube.podPhase, str(status.phase)?.toLowerCase());
  podTags.addLow(Kube.qos, str(status.qosClass));
  podTags.addLow(Kube.priorityClass, str(spec.priorityClassName));
  podTags.addLow(Kube.runtimeClass, str(spec.runtimeClassName));
  const claims = arrayOf(spec.volumes).map((v) => (isRecord(v) && isRecord(v.persistentVolumeClaim) ? str(v.persistentVolumeClaim.claimName) : undefined));
  const podFacts: PodFacts = { labels: labelMap, claims: options.persistentVolumeClaims === false ? [] : claims };
  for (const owner of arrayOf(meta.ownerReferences)) addOwnerTags(podTags, owner, podFacts);
  for (const [key, value] of labels) {
    const app = APP_LABELS.get(key);
    if (app) podTags.addLow(app, value);
    else if (key.startsWith(STANDARD_LABEL_PREFIX)) {
      const name = key.slice(STANDARD_LABEL_PREFIX.length);
      if (name === Standard.env || name === Standard.service || name === Standard.version) podTags.addStandard(name, value);
    }
  }
  addKueueLabelTags(podTags, labelMap);
  // Vendors of the GPUs the pod's init and app containers request.
  for (const c of [...arrayOf(spec.initContainers), ...arrayOf(spec.containers)]) for (const vendor of gpuVendors(c)) podTags.addLow(Kube.gpuVendor, vendor);
  for (const [annotation, tag] of POD_ANNOTATION_TAGS) podTags.addLow(tag, annotationMap.get(annotation));
  podTags.addOrchestrator(Kube.oshiftDeployment, annotationMap.get('openshift.io/deployment.name'));
  const templates: TemplateContext = { namespace: str(meta.namespace), podName, podUid: uid, podIp: str(status.podIP) };
  addJsonTags(podTags, POD_TAGS_ANNOTATION, annotationMap.get(POD_TAGS_ANNOTATION), templates, problems);
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
      const lastId = isRecord(cs.lastState) && isRecord(cs.lastState.terminated) ? str(cs.lastState.terminated.containerID) : undefined;
      if (lastId !== undefined) previous.push(containerEntityId(lastId));
      const runtimeId = str(cs.containerID);
      // No ID yet (pulling, pending): nothing to tag; a later poll picks it up.
      if (runtimeId === undefined) continue;
      const entity = containerEntityId(runtimeId);
      if (entity === CONTAINER_PREFIX || current.has(entity)) continue;
      current.add(entity);
      const name = str(cs.name);
      const containerSpec = arrayOf(specs).find((c): c is Record<string, unknown> => isRecord(c) && c.name === name);
      const tags = new TagList().merge(podTags);
      tags.addLow(Kube.containerName, name);
      tags.addHigh(Runtime.containerId, entity.slice(CONTAINER_PREFIX.length));
      // The runtime's own name: on containerd and CRI-O it is the Kubernetes name, which the
      // runtime collectors may not see; on Docker it is `k8s_<…>`, which the Docker collector gives.
      if (!runtimeId.startsWith('docker://')) tags.addHigh(Runtime.containerName, name);
      if (name !== undefined && podName !== undefined) tags.addHigh(Runtime.displayContainerName, `${name}_${podName}`);
      // Docker reports imageID as `docker-pullable://<repo>@sha256:…`; other runtimes leave the prefix out.
      const imageId = str(cs.imageID)?.replace(/^docker-pullable:\/\//, '');
      // A status image that is a bare sha256 is named through the imageID's repository.
      addImageTags(tags, str(containerSpec?.image) ?? (isImageId(str(cs.image) ?? '') ? imageId : str(cs.image)), WORKLOADMETA_IMAGE_RULES, imageId);
      if (name !== undefined) {
        for (const tag of [Standard.env, Standard.service, Standard.version]) tags.addStandard(tag, labelMap.get(`${STANDARD_LABEL_PREFIX}${name}.${tag}`));
        const key = `${AD_PREFIX}${name}.tags`;
        const container = { hostname: str(spec.hostname) ?? podName, ports: portsOf(containerSpec) };
        addJsonTags(tags, key, annotationMap.get(key), { ...templates, container }, problems);
      }
      addContainerEnvTags(tags, specEnv(containerSpec?.env));
      for (const vendor of gpuVendors(containerSpec)) tags.addLow(Kube.gpuVendor, vendor);
      for (const [resource, tag] of RESIZE_POLICY_TAGS) tags.addLow(tag, resizePolicy(containerSpec, resource));
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
    spec.runtimeClassName,
    spec.hostname,
    status.phase,
    status.qosClass,
    status.podIP,
  ];
  for (const volume of arrayOf(spec.volumes)) if (isRecord(volume) && volume.persistentVolumeClaim !== undefined) parts.push(volume.persistentVolumeClaim);
  for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers]) {
    parts.push('|');
    for (const c of arrayOf(list)) {
      if (!isRecord(c)) continue;
      // Every env variable counts: $(VAR) references make any one of them a tag's value.
      parts.push(c.name, c.image, c.env, c.ports, c.resizePolicy, isRecord(c.resources) ? c.resources.requests : undefined);
    }
  }
  for (const list of [status.initContainerStatuses, status.containerStatuses, status.ephemeralContainerStatuses]) {
    parts.push('|');
    for (const cs of arrayOf(list)) {
      if (!isRecord(cs)) continue;
      parts.push(cs.name, cs.image, cs.imageID, cs.containerID);
      if (isRecord(cs.lastState) && isRecord(cs.lastState.terminated)) parts.push(cs.lastState.terminated.containerID);
    }
  }
  return JSON.stringify(parts);
}

function addOwnerTags(tags: TagList, owner: unknown, pod: PodFacts): void {
  if (!isRecord(owner)) return;
  const kind = str(owner.kind);
  const name = str(owner.name);
  if (kind === undefined || name === undefined) return;
  tags.addLow(Kube.ownerRefKind, kind.toLowerCase());
  tags.addOrchestrator(Kube.ownerRefName, name);
  switch (kind) {
    case 'Deployment':
      tags.addLow(Kube.deployment, name);
      break;
    case 'ReplicaSet': {
      tags.addLow(Kube.replicaSet, name);
      const deployment = deploymentOfReplicaSet(name);
      tags.addLow(Kube.deployment, deployment);
      // An Argo Rollout names its ReplicaSets as a Deployment does.
      if (pod.labels.get(ARGO_ROLLOUT_LABEL)) tags.addLow(Kube.argoRollout, deployment);
      break;
    }
    case 'StatefulSet':
      tags.addLow(Kube.statefulSet, name);
      // A StatefulSet's claims follow its pods by ordinal; other pods' claims are not tagged.
      for (const claim of pod.claims) tags.addLow(Kube.persistentVolumeClaim, claim);
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

/**
 * `{"team": "a", "+req": ["x", "y"], "ip": "%%host%%"}`: string, number, bool or list values; a
 * `+` name is high cardinality. Template variables in the values are resolved first; when one
 * cannot be, the values are used as written (the Agent does the same).
 */
function addJsonTags(tags: TagList, key: string, json: string | undefined, templates: TemplateContext, problems: string[]): void {
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
  const resolved = resolveTemplates(parsed, templates);
  for (const [name, value] of Object.entries(isRecord(resolved) ? resolved : parsed)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'string' || typeof v === 'boolean') tags.addAuto(name, String(v));
      else if (typeof v === 'number') tags.addAuto(name, goNumber(v));
    }
  }
}

/**
 * A JSON number as the Agent prints it (Go's %v of a float64): exponent form from 1e+06 up and
 * below 1e-04, so `{"build": 20240101}` tags `build:2.0240101e+07` there, and here.
 */
export function goNumber(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  // strconv's shortest %g: exponent form when the exponent is < -4 or >= 6.
  if (exponent >= -4 && exponent < 6) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Kueue's queue labels, when the pod's Workload object (cluster data) is not known. */
function addKueueLabelTags(tags: TagList, labels: ReadonlyMap<string, string>): void {
  tags.addLow(Kube.kueueLocalQueue, labels.get(KUEUE_LOCAL_QUEUE_LABEL) || labels.get(KUEUE_QUEUE_LABEL));
  tags.addLow(Kube.kueueClusterQueue, labels.get(KUEUE_CLUSTER_QUEUE_LABEL));
}

/** The GPU vendors a container spec requests (`resources.requests`). */
function gpuVendors(containerSpec: unknown): string[] {
  if (!isRecord(containerSpec) || !isRecord(containerSpec.resources) || !isRecord(containerSpec.resources.requests)) return [];
  const vendors = new Set<string>();
  for (const resource of Object.keys(containerSpec.resources.requests)) {
    const vendor = GPU_RESOURCES.get(resource) ?? (resource.startsWith('nvidia.com/mig') ? 'nvidia' : undefined);
    if (vendor !== undefined) vendors.add(vendor);
  }
  return [...vendors];
}

/** `resizePolicy[].restartPolicy` of a resource (`NotRequired`, `RestartContainer`). */
function resizePolicy(containerSpec: unknown, resource: string): string | undefined {
  if (!isRecord(containerSpec)) return undefined;
  let policy: string | undefined;
  for (const rule of arrayOf(containerSpec.resizePolicy)) if (isRecord(rule) && rule.resourceName === resource) policy = str(rule.restartPolicy);
  return policy;
}

/** The declared ports of a container spec, for `%%port%%`. */
function portsOf(containerSpec: unknown): Array<{ name?: string | undefined; port: number }> {
  if (!isRecord(containerSpec)) return [];
  const ports: Array<{ name?: string | undefined; port: number }> = [];
  for (const p of arrayOf(containerSpec.ports)) if (isRecord(p) && typeof p.containerPort === 'number') ports.push({ name: str(p.name), port: p.containerPort });
  return ports;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
