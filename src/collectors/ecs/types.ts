/**
 * The ECS payloads the collector reads, as untrusted JSON (every field optional, checked before
 * use): task metadata v4 / v3 / v2 (`/task`, `/taskWithTags`, `/v2/metadata`) and the ECS agent's
 * introspection API (`/v1/tasks?dockerid=`, `/v1/tasks`, `/v1/metadata`).
 */

export interface EcsMetadataContainer {
  readonly DockerId?: unknown;
  readonly Name?: unknown;
  readonly DockerName?: unknown;
  readonly Image?: unknown;
  readonly ImageID?: unknown;
  readonly Labels?: unknown;
}

/** `${ECS_CONTAINER_METADATA_URI_V4}/task` (and v3 `/task`, v2 `/v2/metadata`, same shape). */
export interface EcsTaskMetadata {
  readonly Cluster?: unknown;
  readonly TaskARN?: unknown;
  readonly Family?: unknown;
  readonly Revision?: unknown;
  readonly ServiceName?: unknown;
  readonly AvailabilityZone?: unknown;
  readonly LaunchType?: unknown;
  readonly Containers?: unknown;
  /** `/taskWithTags` only. */
  readonly TaskTags?: unknown;
  readonly ContainerInstanceTags?: unknown;
  readonly Errors?: unknown;
}

/** One task of the agent's introspection API. */
export interface EcsIntrospectionTask {
  readonly Arn?: unknown;
  readonly Family?: unknown;
  readonly Version?: unknown;
  readonly Containers?: unknown;
  readonly DesiredStatus?: unknown;
  readonly KnownStatus?: unknown;
}

/** `/v1/metadata` of the agent introspection API. */
export interface EcsIntrospectionMetadata {
  readonly Cluster?: unknown;
  readonly ContainerInstanceArn?: unknown;
  readonly Version?: unknown;
}
