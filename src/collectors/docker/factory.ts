/**
 * The registry's entry for Docker: `docker.host` (DOCKER_HOST), `docker.labels_as_tags` and
 * `docker.env_as_tags` (compiled once here, so a bad rule fails at start with its key).
 */
import { ConfigError, causeMessage } from '../../errors.js';
import { compileRules } from '../../rules.js';
import type { CollectorFactory } from '../registry.js';
import { DockerClient } from './client.js';
import { DockerCollector } from './collector.js';

export const dockerCollectorFactory: CollectorFactory = {
  name: 'docker',
  enabled: (config) => config.docker.enabled,
  create: ({ config }, autodetect) =>
    new DockerCollector({
      client: clientFor(config.docker.host),
      source: 'docker',
      labelRules: compileRules(config.docker.labels_as_tags, 'label', 'docker.labels_as_tags'),
      envRules: compileRules(config.docker.env_as_tags, 'env', 'docker.env_as_tags'),
      autodetect,
    }),
};

/** A malformed `docker.host` is a config error naming the key (exit 2), not a runtime failure. */
function clientFor(host: string): DockerClient {
  try {
    return new DockerClient(host);
  } catch (error) {
    throw new ConfigError('docker.host', causeMessage(error));
  }
}
