/**
 * Pure extraction: one inspected container (plus the compiled user rules) -> its TagInfo.
 * No I/O, no env, no clock: everything the tags depend on is in the arguments.
 */
import { containerEntityId } from '../../entity.js';
import { applyRules, envEntries, type CompiledRules } from '../../rules.js';
import { Compose, Mesos, Nomad, Rancher, Runtime, Standard, STANDARD_TAG_NAMES, Swarm } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { TagInfo } from '../../types.js';
import { addImageTags } from '../image-ref.js';
import type { ContainerInspect } from './types.js';

export interface ExtractOptions {
  /** The source name the TagInfo carries. */
  readonly source: string;
  /** docker.labels_as_tags, compiled (target `label`). */
  readonly labelRules?: CompiledRules;
  /** docker.env_as_tags, compiled (target `env`). */
  readonly envRules?: CompiledRules;
  /**
   * The image name to tag with when Config.Image is an image ID (`sha256:…`): the collector
   * resolves it through the image's RepoTags. Ignored when Config.Image is a name.
   */
  readonly resolvedImage?: string;
}

/** Labels that carry a tag, label key -> [tag name, cardinality]. */
const LABEL_TAGS: ReadonlyArray<readonly [string, string, 'low' | 'orchestrator' | 'high']> = [
  ['com.datadoghq.tags.env', Standard.env, 'low'],
  ['com.datadoghq.tags.service', Standard.service, 'low'],
  ['com.datadoghq.tags.version', Standard.version, 'low'],
  ['com.datadoghq.ad.env', Standard.env, 'low'],
  ['com.datadoghq.ad.service', Standard.service, 'low'],
  ['com.datadoghq.ad.version', Standard.version, 'low'],
  ['com.docker.compose.project', Compose.project, 'low'],
  ['com.docker.compose.service', Compose.service, 'low'],
  ['com.docker.swarm.service.name', Swarm.service, 'low'],
  ['com.docker.stack.namespace', Swarm.namespace, 'low'],
  ['io.rancher.stack.name', Rancher.stack, 'low'],
  ['io.rancher.stack_service.name', Rancher.service, 'low'],
  ['io.rancher.container.name', Rancher.container, 'high'],
];

/** Env variables that carry a tag. Only these (and user env rules) ever become tags. */
const ENV_TAGS: ReadonlyMap<string, readonly [string, 'low' | 'orchestrator' | 'high']> = new Map([
  ['DD_ENV', [Standard.env, 'low']],
  ['DD_SERVICE', [Standard.service, 'low']],
  ['DD_VERSION', [Standard.version, 'low']],
  ['NOMAD_TASK_NAME', [Nomad.task, 'low']],
  ['NOMAD_JOB_NAME', [Nomad.job, 'low']],
  ['NOMAD_GROUP_NAME', [Nomad.group, 'low']],
  ['NOMAD_NAMESPACE', [Nomad.namespace, 'low']],
  ['NOMAD_DC', [Nomad.dc, 'low']],
  ['MARATHON_APP_ID', [Mesos.marathonApp, 'low']],
  ['CHRONOS_JOB_NAME', [Mesos.chronosJob, 'low']],
  ['CHRONOS_JOB_OWNER', [Mesos.chronosJobOwner, 'low']],
  ['MESOS_TASK_ID', [Mesos.mesosTask, 'orchestrator']],
] as const);

/** The label holding extra tags as a JSON list of `name:value` strings. */
export const AD_TAGS_LABEL = 'com.datadoghq.ad.tags';

/** The container's name without Docker's leading slash. */
export function containerName(inspect: Pick<ContainerInspect, 'Name'>): string {
  return inspect.Name.startsWith('/') ? inspect.Name.slice(1) : inspect.Name;
}

/**
 * All tags of one container. Kubernetes (`io.kubernetes.*`) and ECS (`com.amazonaws.ecs.*`)
 * containers get their runtime tags here too; their pod and task tags come from those collectors.
 */
export function extractContainer(inspect: ContainerInspect, options: ExtractOptions): TagInfo {
  const list = new TagList();
  const labels = inspect.Config.Labels;
  const env = envEntries(inspect.Config.Env);

  if (!addImageTags(list, inspect.Config.Image)) addImageTags(list, options.resolvedImage);
  list.addHigh(Runtime.containerName, containerName(inspect));
  list.addHigh(Runtime.containerId, inspect.Id);

  for (const [label, tag, cardinality] of LABEL_TAGS) {
    if (STANDARD_TAG_NAMES.has(tag)) list.addStandard(tag, labels[label]);
    else list.add(cardinality, tag, labels[label]);
  }
  addJsonTagList(list, labels[AD_TAGS_LABEL]);

  // Env and labels may both set env/service/version; TagList keeps both values when they differ.
  for (const [key, value] of env) {
    const known = ENV_TAGS.get(key);
    if (known && STANDARD_TAG_NAMES.has(known[0])) list.addStandard(known[0], value);
    else if (known) list.add(known[1], known[0], value);
  }

  if (options.labelRules) applyRules(options.labelRules, Object.entries(labels), list);
  if (options.envRules) applyRules(options.envRules, env, list);
  return list.toTagInfo(options.source, containerEntityId(inspect.Id));
}

/**
 * `["team:core","owner:a"]`: every entry at high cardinality, as the Agent adds them; an entry that
 * is not exactly `name:value` (no colon, or more than one) is skipped. Malformed JSON adds nothing.
 */
function addJsonTagList(list: TagList, raw: string | undefined): void {
  if (!raw) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return;
  }
  if (!Array.isArray(parsed)) return;
  for (const item of parsed) {
    if (typeof item !== 'string') continue;
    const parts = item.split(':');
    if (parts.length === 2) list.addHigh(parts[0] as string, parts[1]);
  }
}

/** Event attributes that are not container labels (dockerd and Podman). */
const NON_LABEL_ATTRIBUTES: ReadonlySet<string> = new Set(['image', 'name', 'exitCode', 'containerExitCode', 'podId', 'signal', 'execID', 'execDuration']);

/**
 * The tags a container's `start` event already carries: its labels, image and name (no env,
 * which only inspect returns). The collector pushes these the moment the event arrives so a new
 * container is tagged at once; the inspect that follows replaces them with the full set.
 */
export function extractFromEvent(id: string, attributes: Readonly<Record<string, string>>, options: ExtractOptions): TagInfo | undefined {
  const image = attributes.image;
  const name = attributes.name;
  if (image === undefined || name === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) if (!NON_LABEL_ATTRIBUTES.has(key)) labels[key] = value;
  return extractContainer(
    { Id: id, Name: name, Image: '', Config: { Image: image, Labels: labels, Env: [] }, State: { Status: 'running', Running: true, Restarting: false, Paused: false } },
    { ...options, envRules: undefined },
  );
}

