/**
 * The registry's entry for ECS: `ecs.agent_url` (introspection, default http://localhost:51678),
 * `ecs.metadata_uri_v4` (ECS_CONTAINER_METADATA_URI_V4), `ecs.metadata_uri`
 * (ECS_CONTAINER_METADATA_URI), `ecs.task_tags`, and `fetch.timeout` per request.
 */
import type { CollectorFactory } from '../registry.js';
import { EcsClient } from './client.js';
import { EcsCollector } from './collector.js';

export const ecsCollectorFactory: CollectorFactory = {
  name: 'ecs',
  enabled: (config) => config.ecs.enabled,
  create: ({ config }, autodetect) =>
    new EcsCollector({
      client: new EcsClient({
        agentUrl: config.ecs.agent_url,
        metadataUriV4: config.ecs.metadata_uri_v4,
        metadataUri: config.ecs.metadata_uri,
        timeoutMs: config.fetch.timeout,
      }),
      taskTags: config.ecs.task_tags,
      autodetect,
    }),
};
