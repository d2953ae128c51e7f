/**
 * Pure extraction for the ECS collector: a task, as any of the three ECS APIs describe it, is
 * first normalised into an EcsTask, then turned into TagInfos for each of its containers and for
 * the task entity (`ecs_task://<task id>`). No I/O, no env, no clock.
 */
import { ECS_TASK_PREFIX, containerEntityId } from '../../entity.js';
import { Ecs } from '../../tags.js';
import { TagList } from '../../taglist.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { EcsIntrospectionMetadata, EcsIntrospectionTask, EcsTaskMetadata } from './types.js';
import { arrayOf, isRecord, stringEntries, trimmedTextOrNumber } from '../json-fields.js';

export const ECS_SOURCE = 'ecs';

export interface EcsContainer {
  /** `container_id://…` */
  readonly entity: EntityId;
  readonly name?: string;
}

/** A task, whichever API described it. */
export interface EcsTask {
  readonly arn: string;
  readonly id: string;
  readonly family?: string;
  readonly version?: string;
  readonly cluster?: string;
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
  /** Add the task's and container instance's resource tags (`ecs.task_tags`). */
  readonly taskTags: boolean;
}

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` (or the old `task/<id>`) -> its parts. */
export function parseTaskArn(arn: string): { region?: string; account?: string; id?: string } {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return {};
  const resource = parts.slice(5).join(':');
  const slash = resource.lastIndexOf('/');
  const id = slash >= 0 ? resource.slice(slash + 1) : undefined;
  return { region: parts[3] || undefined, account: parts[4] || undefined, id: id && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) ? id : undefined };
}

/** A cluster as `default` or `arn:aws:ecs:…:cluster/default` -> `default`. */
export function clusterName(cluster: string): string {
  return cluster.startsWith('arn:') && cluster.includes('/') ? cluster.slice(cluster.lastIndexOf('/') + 1) : cluster;
}

/** A task ARN field with its parts; undefined when it is not a string naming a task. */
function taskArnOf(value: unknown): { arn: string; id: string; region?: string; account?: string } | undefined {
  const arn = trimmedTextOrNumber(value);
  if (arn === undefined) return undefined;
  const parts = parseTaskArn(arn);
  return parts.id === undefined ? undefined : { ...parts, arn, id: parts.id };
}

/** Task metadata v4 / v3 / v2 -> EcsTask; undefined when it names no task. */
export function taskFromMetadata(raw: unknown): EcsTask | undefined {
  if (!isRecord(raw)) return undefined;
  const m = raw as EcsTaskMetadata;
  const fromArn = taskArnOf(m.TaskARN);
  if (fromArn === undefined) return undefined;
  const az = trimmedTextOrNumber(m.AvailabilityZone);
  const cluster = trimmedTextOrNumber(m.Cluster);
  const containers = containersOf(m.Containers);
  return opt({
    arn: fromArn.arn,
    id: fromArn.id,
    family: trimmedTextOrNumber(m.Family),
    version: trimmedTextOrNumber(m.Revision),
    cluster: cluster === undefined ? undefined : clusterName(cluster),
    service: trimmedTextOrNumber(m.ServiceName),
    // The ARN's region is authoritative; the zone's (minus its letter) is the fallback.
    region: fromArn.region ?? az?.replace(/[a-z]$/, ''),
    account: fromArn.account,
    availabilityZone: az,
    launchType: trimmedTextOrNumber(m.LaunchType),
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
    family: trimmedTextOrNumber(t.Family),
    version: trimmedTextOrNumber(t.Version),
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
  const cluster = trimmedTextOrNumber((raw as EcsIntrospectionMetadata).Cluster);
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

/** TagInfos for every container of the task, then the task entity. */
export function ecsTagInfos(task: EcsTask, options: EcsExtractOptions): TagInfo[] {
  const source = options.source ?? ECS_SOURCE;
  const tags = new TagList();
  // task_name is the family, as the Datadog Agent has always tagged it.
  tags.addLow(Ecs.taskFamily, task.family);
  tags.addLow(Ecs.taskName, task.family);
  tags.addLow(Ecs.taskVersion, task.version);
  tags.addOrchestrator(Ecs.taskArn, task.arn);
  tags.addLow(Ecs.clusterName, task.cluster);
  tags.addLow(Ecs.genericClusterName, task.cluster);
  tags.addLow(Ecs.region, task.region);
  tags.addLow(Ecs.availabilityZone, task.availabilityZone);
  tags.addLow(Ecs.awsAccount, task.account);
  tags.addLow(Ecs.launchType, task.launchType);
  tags.addLow(Ecs.service, task.service);
  if (options.taskTags) {
    // `aws:` keys are AWS's own bookkeeping (aws:cloudformation:stack-id...), not user tags.
    for (const [key, value] of task.resourceTags) if (!key.startsWith('aws:')) tags.addLow(key, value);
  }
  const infos: TagInfo[] = [];
  for (const container of task.containers) {
    infos.push(new TagList().merge(tags).addLow(Ecs.containerName, container.name).toTagInfo(source, container.entity));
  }
  infos.push(tags.toTagInfo(source, taskEntityId(task)));
  return infos;
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
    const id = trimmedTextOrNumber(c.DockerId);
    if (id !== undefined) containers.push(opt({ entity: containerEntityId(id), name: trimmedTextOrNumber(c.Name) }));
  }
  return containers;
}
