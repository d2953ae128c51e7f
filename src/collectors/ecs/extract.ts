/**
 * Pure extraction for the ECS collector: a task, as any of the three ECS APIs describe it, is
 * first normalised into an EcsTask, then turned into TagInfos for each of its containers, for
 * the task entity (`ecs_task://<task id>`) and for the global entity, as the Agent's ECS task
 * handler does (docs/collectors/ecs.md). No I/O, no env, no clock.
 */
import { ECS_TASK_PREFIX, GLOBAL_ENTITY_ID, containerEntityId } from '../../entity.js';
import { Ecs, Runtime } from '../../tags.js';
import { TagList } from '../../taglist.js';
import { addContainerLabelTags } from '../container-tags.js';
import { addImageTags, WORKLOADMETA_IMAGE_RULES } from '../image-ref.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { EcsIntrospectionMetadata, EcsIntrospectionTask, EcsTaskMetadata } from './types.js';
import { arrayOf, isRecord, stringEntries } from '../json-fields.js';

export const ECS_SOURCE = 'ecs';

export interface EcsContainer {
  /** `container_id://…` */
  readonly entity: EntityId;
  readonly name?: string;
  /** The runtime's view, which task metadata v4 gives and Fargate has no other source for. */
  readonly dockerName?: string;
  readonly image?: string;
  readonly imageId?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A task, whichever API described it. */
export interface EcsTask {
  readonly arn: string;
  readonly id: string;
  readonly family?: string;
  readonly version?: string;
  readonly cluster?: string;
  /** `Cluster` when the API gives the cluster's ARN (v4 on EC2 and Fargate). */
  readonly clusterArn?: string;
  readonly service?: string;
  readonly region?: string;
  readonly account?: string;
  readonly availabilityZone?: string;
  readonly launchType?: string;
  readonly containers: readonly EcsContainer[];
  /** Resource tags (`/taskWithTags`): the task's, then the container instance's. */
  readonly resourceTags: ReadonlyArray<readonly [string, string]>;
}

export interface EcsExtractOptions {
  readonly source?: string;
  /** Add the task's and container instance's resource tags (`ecs.task_tags`; EC2 only). */
  readonly taskTags: boolean;
  /** `:` -> `_` in resource tag keys (`ecs.resource_tags_replace_colon`). */
  readonly replaceColon?: boolean;
}

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` (or the old `task/<id>`) -> its parts. */
export function parseTaskArn(arn: string): { region?: string; account?: string; id?: string } {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return {};
  const resource = parts.slice(5).join(':');
  const slash = resource.lastIndexOf('/');
  const id = slash >= 0 ? resource.slice(slash + 1) : undefined;
  // As the Agent checks them: a region has two dashes (us-west-2), an account 12 digits.
  const region = (parts[3]?.split('-').length ?? 0) >= 3 ? parts[3] : undefined;
  const account = /^\d{12}$/.test(parts[4] ?? '') ? parts[4] : undefined;
  return { region, account, id: id && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) ? id : undefined };
}

/** A cluster as `default` or `arn:aws:ecs:…:cluster/default` -> `default`. */
export function clusterName(cluster: string): string {
  return cluster.startsWith('arn:') && cluster.includes('/') ? cluster.slice(cluster.lastIndexOf('/') + 1) : cluster;
}

/** A task ARN field with its parts; undefined when it is not a string naming a task. */
function taskArnOf(value: unknown): { arn: string; id: string; region?: string; account?: string } | undefined {
  const arn = str(value);
  if (arn === undefined) return undefined;
  const parts = parseTaskArn(arn);
  return parts.id === undefined ? undefined : { ...parts, arn, id: parts.id };
}

/**
 * Task metadata v4 / v3 / v2 -> EcsTask; undefined when it names no task. `launchType` stands in
 * when the payload has none: v2 is Fargate's endpoint and carries no LaunchType.
 */
export function taskFromMetadata(raw: unknown, launchType?: string): EcsTask | undefined {
  if (!isRecord(raw)) return undefined;
  const m = raw as EcsTaskMetadata;
  const fromArn = taskArnOf(m.TaskARN);
  if (fromArn === undefined) return undefined;
  const az = str(m.AvailabilityZone);
  const cluster = str(m.Cluster);
  const containers = containersOf(m.Containers);
  return opt({
    arn: fromArn.arn,
    id: fromArn.id,
    family: str(m.Family),
    version: str(m.Revision),
    cluster: cluster === undefined ? undefined : clusterName(cluster),
    clusterArn: cluster?.startsWith('arn:') ? cluster : undefined,
    service: str(m.ServiceName),
    region: fromArn.region,
    account: fromArn.account,
    availabilityZone: az,
    launchType: str(m.LaunchType) ?? launchType,
    containers,
    resourceTags: [...stringEntries(m.TaskTags), ...stringEntries(m.ContainerInstanceTags)],
  });
}

/** One introspection task (`/v1/tasks?dockerid=`) -> EcsTask; `cluster` comes from `/v1/metadata`. */
export function taskFromIntrospection(raw: unknown, cluster: string | undefined): EcsTask | undefined {
  if (!isRecord(raw)) return undefined;
  const t = raw as EcsIntrospectionTask;
  const fromArn = taskArnOf(t.Arn);
  if (fromArn === undefined) return undefined;
  const containers = containersOf(t.Containers);
  return opt({
    arn: fromArn.arn,
    id: fromArn.id,
    family: str(t.Family),
    version: str(t.Version),
    cluster,
    region: fromArn.region,
    account: fromArn.account,
    containers,
    resourceTags: [],
  });
}

/** The cluster name of `/v1/metadata`. */
export function clusterFromIntrospection(raw: unknown): string | undefined {
  if (!isRecord(raw)) return undefined;
  const cluster = str((raw as EcsIntrospectionMetadata).Cluster);
  return cluster === undefined ? undefined : clusterName(cluster);
}

/** `/v1/tasks` -> the task whose ID is `taskId`, if listed. */
export function findIntrospectionTask(raw: unknown, taskId: string): unknown {
  if (!isRecord(raw)) return undefined;
  return arrayOf(raw.Tasks).find((t) => isRecord(t) && typeof t.Arn === 'string' && parseTaskArn(t.Arn).id === taskId);
}

/** The task entity of a task. */
export function taskEntityId(task: EcsTask): EntityId {
  return ECS_TASK_PREFIX + task.id;
}

/**
 * TagInfos for every container of the task, the task entity, then the global entity: on Fargate
 * the global entity gets every task and cluster tag (the task is the host there), elsewhere the
 * cluster tags only.
 */
export function ecsTagInfos(task: EcsTask, options: EcsExtractOptions): TagInfo[] {
  const source = options.source ?? ECS_SOURCE;
  const fargate = task.launchType?.toUpperCase() === 'FARGATE';
  const tags = new TagList();
  // task_name is the family, as the Datadog Agent has always tagged it.
  tags.addLow(Ecs.taskFamily, task.family);
  tags.addLow(Ecs.taskName, task.family);
  tags.addLow(Ecs.taskVersion, task.version);
  tags.addOrchestrator(Ecs.taskArn, task.arn);
  tags.addLow(Ecs.genericClusterName, task.cluster);
  tags.addLow(Ecs.region, task.region);
  tags.addLow(Ecs.awsAccount, task.account);
  tags.addLow(Ecs.launchType, task.launchType);
  tags.addLow(Ecs.service, task.service?.toLowerCase());
  if (fargate) {
    tags.addLow(Ecs.availabilityZone, task.availabilityZone);
    tags.addLow(Ecs.availabilityZoneDashed, task.availabilityZone);
  } else if (options.taskTags) addResourceTags(tags, task.resourceTags, options.replaceColon === true);
  const cluster = new TagList();
  if (task.cluster !== undefined) {
    cluster.addLow(Ecs.clusterName, task.cluster);
    cluster.addLow(Ecs.clusterArn, task.clusterArn);
  }
  const infos: TagInfo[] = [];
  for (const container of task.containers) {
    const list = new TagList().merge(tags).merge(cluster).addLow(Ecs.containerName, container.name);
    // Fargate has no runtime socket: the container's own tags come from the metadata too.
    if (fargate) addFargateContainerTags(list, container);
    infos.push(list.toTagInfo(source, container.entity));
  }
  infos.push(new TagList().merge(tags).merge(cluster).toTagInfo(source, taskEntityId(task)));
  const global = fargate ? new TagList().merge(tags).merge(cluster) : cluster;
  if (!global.isEmpty()) infos.push(global.toTagInfo(source, GLOBAL_ENTITY_ID));
  return infos;
}

/** EC2 resource tags: key and value lower-cased; `aws:` keys are AWS's own bookkeeping. */
function addResourceTags(tags: TagList, resourceTags: ReadonlyArray<readonly [string, string]>, replaceColon: boolean): void {
  for (const [key, value] of resourceTags) {
    if (key.startsWith('aws:')) continue;
    tags.addLow((replaceColon ? key.replaceAll(':', '_') : key).toLowerCase(), value.toLowerCase());
  }
}

function addFargateContainerTags(list: TagList, container: EcsContainer): void {
  list.addHigh(Runtime.containerName, container.dockerName);
  list.addHigh(Runtime.containerId, container.entity.slice(container.entity.indexOf('://') + 3));
  addImageTags(list, container.image, WORKLOADMETA_IMAGE_RULES, container.imageId);
  addContainerLabelTags(list, container.labels ?? {});
}

function str(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Drops undefined fields, so optional properties are absent rather than undefined. */
function opt<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key];
  return value;
}

/** The containers of a task payload (metadata or introspection: both name them `DockerId`, `Name`). */
function containersOf(raw: unknown): EcsContainer[] {
  const containers: EcsContainer[] = [];
  for (const c of arrayOf(raw)) {
    if (!isRecord(c)) continue;
    const id = str(c.DockerId);
    if (id === undefined) continue;
    const labels = stringEntries(c.Labels);
    containers.push(
      opt({
        entity: containerEntityId(id),
        name: str(c.Name),
        dockerName: str(c.DockerName),
        image: str(c.Image),
        imageId: str(c.ImageID),
        labels: labels.length > 0 ? Object.fromEntries(labels) : undefined,
      }),
    );
  }
  return containers;
}
