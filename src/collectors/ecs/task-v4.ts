/**
 * Other tasks on an EC2 host, through their own task metadata v4 endpoint, as the Agent's
 * `ecs_task_collection_enabled` does (`internal/ecs/v4parser.go`): the ECS agent's introspection
 * API lists a host's tasks but has no service, cluster ARN, launch type or resource tags, while
 * each task's v4 endpoint has them. The endpoint's URI is in its containers' env
 * (ECS_CONTAINER_METADATA_URI_V4, which the ECS agent 1.39.0+ injects), read here through Docker.
 *
 * A container's env is its owner's to write, so what it names is not trusted blindly: the URI must
 * be plain HTTP to a link-local or loopback address (the ECS agent serves v4 on 169.254.170.2) or a
 * configured endpoint's host, and the answer counts only if it describes the same task (same ARN)
 * and only for the containers introspection lists in it; anything else falls back to the
 * introspection task.
 */
import { isIP } from 'node:net';
import { causeMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DockerClient } from '../docker/client.js';
import { isRecord, trimmedTextOrNumber } from '../json-fields.js';
import { taskFromMetadata, type EcsContainer, type EcsTask } from './extract.js';

export const METADATA_URI_V4_ENV = 'ECS_CONTAINER_METADATA_URI_V4';

/** The first ECS agent version that injects ECS_CONTAINER_METADATA_URI_V4 (AWS's docs). */
const FIRST_AGENT_WITH_V4: readonly [number, number, number] = [1, 39, 0];

/** Containers' environment (`KEY=value` entries), by container ID; undefined when unknown. */
export interface ContainerEnvSource {
  env(containerId: string, signal: AbortSignal): Promise<readonly string[] | undefined>;
  close(): Promise<void>;
}

/** Env from Docker's inspect (`Config.Env`), the API version negotiated at the first call. */
export function dockerContainerEnv(client: Pick<DockerClient, 'inspect' | 'ensureNegotiated' | 'close'>): ContainerEnvSource {
  return {
    env: async (id, signal) => {
      await client.ensureNegotiated(signal);
      return (await client.inspect(id, signal))?.Config.Env;
    },
    close: () => client.close(),
  };
}

/**
 * Whether the ECS agent of `/v1/metadata` injects v4 (`Version`: `Amazon ECS Agent - v1.39.0
 * (…)`). A version that does not parse (ECS Managed Instances answer an empty one) counts as v4
 * when the tagger's own task has a v4 variable, as the Agent decides.
 */
export function agentHasTaskMetadataV4(metadata: unknown, ownTaskHasV4: boolean): boolean {
  const version = isRecord(metadata) ? trimmedTextOrNumber(metadata.Version) : undefined;
  const match = /\bv?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return ownTaskHasV4;
  const parts = match.slice(1, 4).map(Number);
  for (let i = 0; i < 3; i++) {
    const have = parts[i] ?? 0;
    const need = FIRST_AGENT_WITH_V4[i] ?? 0;
    if (have !== need) return have > need;
  }
  return true;
}

/**
 * The v4 URI in `env`, if it is one the tagger may ask: `http:` to a link-local (169.254/16,
 * fe80::/10) or loopback address, or to one of `trustedHosts`.
 */
export function metadataUriFromEnv(env: readonly string[], trustedHosts: readonly string[]): string | undefined {
  const prefix = `${METADATA_URI_V4_ENV}=`;
  const entry = env.find((e) => e.startsWith(prefix));
  if (entry === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(entry.slice(prefix.length).trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isLocalAddress(host) && !trustedHosts.includes(url.hostname)) return undefined;
  return url.href.replace(/\/+$/, '');
}

function isLocalAddress(host: string): boolean {
  if (host === 'localhost') return true;
  switch (isIP(host)) {
    case 4:
      return host.startsWith('169.254.') || host.startsWith('127.');
    case 6:
      return host === '::1' || /^fe[89ab][0-9a-f]:/i.test(host);
    default:
      return false;
  }
}

export interface TaskV4Deps {
  readonly env: ContainerEnvSource;
  /** GET `<uri>/task` (or `/taskWithTags`), parsed JSON. */
  readonly read: (uri: string) => Promise<unknown>;
  readonly trustedHosts: readonly string[];
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/**
 * `task` (from introspection) as its own v4 endpoint describes it, with the raw payload (for its
 * network addresses); undefined when no container names a usable endpoint, or the endpoint fails
 * or describes something else.
 */
export async function ownTaskFromV4(task: EcsTask, deps: TaskV4Deps): Promise<{ task: EcsTask; raw: unknown } | undefined> {
  const uri = await findMetadataUri(task, deps);
  if (uri === undefined) {
    // Expected for a task whose containers are starting or gone, or an agent without v4.
    deps.logger.debug({ task: task.arn }, 'no container of the ECS task names a metadata v4 endpoint; using introspection');
    return undefined;
  }
  let raw: unknown;
  try {
    raw = await deps.read(uri);
  } catch (error) {
    if (deps.signal.aborted) return undefined;
    deps.logger.warn({ task: task.arn, error: causeMessage(error) }, 'ECS task metadata v4 of another task failed; using introspection');
    return undefined;
  }
  const detailed = taskFromMetadata(raw);
  if (detailed?.arn !== task.arn || detailed.launchType?.toUpperCase() === 'FARGATE') {
    deps.logger.warn({ task: task.arn, described: detailed?.arn }, 'ECS task metadata v4 named in a container env describes another task; ignored');
    return undefined;
  }
  return { task: merged(task, detailed), raw };
}

async function findMetadataUri(task: EcsTask, deps: TaskV4Deps): Promise<string | undefined> {
  for (const container of task.containers) {
    const id = container.entity.slice(container.entity.indexOf('://') + 3);
    let env: readonly string[] | undefined;
    try {
      env = await deps.env.env(id, deps.signal);
    } catch (error) {
      if (deps.signal.aborted) return undefined;
      deps.logger.debug({ container: id, error: causeMessage(error) }, 'container env unavailable for its ECS metadata URI');
      continue;
    }
    const uri = env && metadataUriFromEnv(env, deps.trustedHosts);
    if (uri) return uri;
  }
  return undefined;
}

/** The v4 task, on the containers introspection lists (v4's view of each where it has one). */
function merged(introspected: EcsTask, detailed: EcsTask): EcsTask {
  const fromV4 = new Map(detailed.containers.map((c) => [c.entity, c]));
  const containers: EcsContainer[] = introspected.containers.map((c) => ({ ...c, ...fromV4.get(c.entity) }));
  return { ...detailed, cluster: detailed.cluster ?? introspected.cluster, containers };
}
