/**
 * The registry's entry for Docker: `docker.host` (DOCKER_HOST), `docker.tls_verify`
 * (DOCKER_TLS_VERIFY), `docker.tls` (DOCKER_TLS), `docker.cert_path` (DOCKER_CERT_PATH),
 * `docker.labels_as_tags` and `docker.env_as_tags` (compiled once here, so a bad rule fails at
 * start with its key).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TaggerConfig } from '../../config.js';
import { ConfigError, causeMessage } from '../../errors.js';
import { compileRules } from '../../rules.js';
import type { CollectorFactory } from '../factory.js';
import { DockerClient } from './client.js';
import { DOCKER_SOURCE, DockerCollector } from './collector.js';

export const dockerCollectorFactory: CollectorFactory = {
  name: DOCKER_SOURCE,
  enabled: (config) => config.docker.enabled,
  create: ({ config }, autodetect) =>
    new DockerCollector({
      client: dockerClientFor(config.docker),
      source: DOCKER_SOURCE,
      labelRules: compileRules(config.docker.labels_as_tags, 'label', 'docker.labels_as_tags'),
      envRules: compileRules(config.docker.env_as_tags, 'env', 'docker.env_as_tags'),
      excludePauseContainers: config.docker.exclude_pause_container,
      autodetect,
    }),
};

/**
 * A malformed `docker.host` is a config error naming the key (exit 2), not a runtime failure. TLS
 * is on with either key, as the CLI's `--tlsverify` implies `--tls`; the files are read later, at
 * the first request, so detect() and health report a missing one.
 */
export function dockerClientFor(docker: TaggerConfig['docker']): DockerClient {
  const tls = docker.tls_verify || docker.tls ? { verify: docker.tls_verify, certPath: docker.cert_path || join(homedir(), '.docker') } : undefined;
  try {
    return new DockerClient(docker.host, tls ? { tls } : {});
  } catch (error) {
    throw new ConfigError('docker.host', causeMessage(error));
  }
}
