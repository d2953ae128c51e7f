/**
 * The registry's entry for ECS: `ecs.agent_url` (introspection, default http://localhost:51678),
 * `ecs.metadata_uri_v4` (ECS_CONTAINER_METADATA_URI_V4), `ecs.metadata_uri`
 * (ECS_CONTAINER_METADATA_URI), `ecs.metadata_v2` (auto: on Fargate only), `ecs.task_tags`,
 * `ecs.task_collection` (other tasks' own v4 endpoints, found in their containers' env through
 * the Docker daemon of `docker.*`, unless Docker is switched off), and `fetch.timeout` per request.
 */
import { dockerClientFor } from '../docker/factory.js';
import type { CollectorFactory } from '../factory.js';
import { ECS_V2_METADATA_URL, EcsClient } from './client.js';
import { EcsCollector } from './collector.js';
import { dockerContainerEnv } from './task-v4.js';

export const ecsCollectorFactory: CollectorFactory = {
  name: 'ecs',
  enabled: (config) => config.ecs.enabled,
  create: ({ config, env, clock }, autodetect) =>
    new EcsCollector({
      client: new EcsClient({
        agentUrl: config.ecs.agent_url,
        metadataUriV4: config.ecs.metadata_uri_v4,
        metadataUri: config.ecs.metadata_uri,
        // Metadata v2 lives on a link-local address that only answers inside an ECS task: asking it
        // anywhere else costs a timeout per miss. `auto` asks it only on Fargate (ECS_FARGATE=true).
        v2Url: useV2(config.ecs.metadata_v2, env) ? ECS_V2_METADATA_URL : '',
        timeoutMs: config.fetch.timeout,
      }),
      taskTags: config.ecs.task_tags,
      replaceColon: config.ecs.resource_tags_replace_colon,
      // Its own Docker client: a few inspects per task found, on the Docker collector's endpoint.
      ...(config.ecs.task_collection && config.docker.enabled !== 'false' ? { taskCollection: true, containerEnv: dockerContainerEnv(dockerClientFor(config.docker)) } : {}),
      autodetect,
      clock,
    }),
};

function useV2(toggle: 'auto' | 'true' | 'false', env: NodeJS.ProcessEnv): boolean {
  return toggle === 'true' || (toggle === 'auto' && env.ECS_FARGATE?.toLowerCase() === 'true');
}
