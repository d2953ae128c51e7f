/**
 * Pure extraction: one inspected container (plus the compiled user rules) -> its TagInfo.
 * No I/O, no env, no clock: everything the tags depend on is in the arguments.
 */
import { containerEntityId } from '../../entity.js';
import { envEntries, type CompiledRules } from '../../rules.js';
import { Compose, Runtime } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { TagInfo } from '../../types.js';
import { addContainerEnvTags, addContainerLabelTags } from '../container-tags.js';
import { addImageTags, DOCKER_IMAGE_RULES } from '../image-ref.js';
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

/** Docker Compose's labels: beyond the Agent, which has no compose tags (see docs/fidelity.md). */
const COMPOSE_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['com.docker.compose.project', Compose.project],
  ['com.docker.compose.service', Compose.service],
];

/**
 * Images of pod sandboxes ("pause" containers), which run nothing: the Agent's default exclude
 * list (`exclude_pause_container`), matched anywhere in the image reference as it does.
 */
const PAUSE_IMAGES: readonly RegExp[] = [
  /.*gcr\.io(.*)\/pause.*/,
  /openshift\/origin-pod/,
  /.*rhel7\/pod-infrastructure/,
  /kubernetes\/pause/,
  /google(_|-)containers\/pause.*/,
  /.*azureedge\.net(.*)\/pause.*/,
  /amazon\/amazon-ecs-pause/,
  /(amazonaws\.com\/)?eks\/pause.*/,
  /rancher\/pause.*/,
  /rancher\/mirrored-pause.*/,
  /mcr\.microsoft\.com(.*)\/pause.*/,
  /kubeletwin\/pause.*/,
  /aksrepos\.azurecr\.io(.*)\/pause.*/,
  /ecr(.*)amazonaws\.com\/pause.*/,
  /upstream\/pause.*/,
  /cdk\/pause.*/,
  /giantswarm\/pause.*/,
  /registry\.k8s\.io\/pause.*/,
];

/** True for a pause container's image (`registry.k8s.io/pause:3.9`, `amazon/amazon-ecs-pause:0.1.0`). */
export function isPauseImage(image: string | undefined): boolean {
  if (!image) return false;
  // The Agent appends a colon to a reference without one before matching.
  const ref = image.includes(':') ? image : `${image}:`;
  return PAUSE_IMAGES.some((pattern) => pattern.test(ref));
}

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

  // Inspect's Image is the image ID; a Config.Image that is an ID is named through its RepoTags.
  if (!addImageTags(list, inspect.Config.Image, DOCKER_IMAGE_RULES, inspect.Image || undefined)) addImageTags(list, options.resolvedImage, DOCKER_IMAGE_RULES);
  list.addHigh(Runtime.containerName, containerName(inspect));
  list.addHigh(Runtime.containerId, inspect.Id);
  for (const [label, tag] of COMPOSE_LABELS) list.addLow(tag, labels[label]);
  addContainerLabelTags(list, labels, options.labelRules);
  addContainerEnvTags(list, env, options.envRules);
  return list.toTagInfo(options.source, containerEntityId(inspect.Id));
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

