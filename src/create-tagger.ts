/**
 * createTagger(): the one entry point for building a tagger, local (collectors from config or
 * given) or remote (a replica of a daemon's store).
 */
import { systemClock, type Clock } from './clock.js';
import type { Collector } from './collectors/collector.js';
import { collectorsFromConfig } from './collectors/registry.js';
import { isResolvedConfig, loadConfig, type TaggerConfig } from './config.js';
import { ConfigError } from './errors.js';
import { RemoteTagger } from './tagger/remote-tagger.js';
import { silentLogger, type Logger } from './logger.js';
import type { Tagger, TaggerPort } from './tagger/tagger.js';
import { LocalTagger, type LocalTaggerOptions } from './tagger/local-tagger.js';

export interface CreateTaggerOptions extends Omit<LocalTaggerOptions, 'collectors'> {
  /** `local` (default) runs collectors; `remote` follows a daemon; `cluster` runs the API-server collector only. */
  readonly mode?: TaggerConfig['mode'];
  /** Config as a nested object (the YAML's shape) or a loaded TaggerConfig. */
  readonly config?: TaggerConfig | Record<string, unknown>;
  /** Collectors to run instead of those the config names (tests, custom sources). */
  readonly collectors?: readonly Collector[];
  /** Remote mode: the daemon's unix socket, or `address` as host:port, and its token file. */
  readonly socket?: string;
  readonly address?: string;
  readonly authTokenFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The library's config, built as the daemon's is: the TAGGER_CONFIG file, then the TAGGER_*
 * environment and the standard variables (DOCKER_HOST, ECS_CONTAINER_METADATA_URI_V4...), then
 * the keys of `options.config`, which win. A config that loadConfig/resolveConfig built is taken
 * as it is (it has had its environment already).
 */
export function libraryConfig(options: Pick<CreateTaggerOptions, 'config' | 'env'>): TaggerConfig {
  if (isResolvedConfig(options.config)) return options.config;
  return loadConfig({ env: options.env ?? process.env, overrides: options.config ?? {} });
}

/** A Tagger; also the port an IPC server serves it through (the daemon's use). */
export function createTagger(options: CreateTaggerOptions = {}): Tagger & TaggerPort {
  const env = options.env ?? process.env;
  const config = libraryConfig(options);
  const clock: Clock = options.clock ?? systemClock;
  const logger: Logger = options.logger ?? silentLogger;
  const mode = options.mode ?? config.mode;
  if (mode === 'remote') {
    const socket = options.socket ?? (options.address ? undefined : config.remote.socket || undefined);
    const address = socket ? undefined : (options.address ?? (config.remote.address || undefined));
    if (!socket && !address) throw new ConfigError('remote.socket', 'remote mode needs remote.socket or remote.address');
    return new RemoteTagger({
      ...(socket ? { socket } : { address: address as string }),
      authTokenFile: options.authTokenFile ?? config.remote.auth_token_file,
      clock,
      logger,
    });
  }
  return new LocalTagger({
    deletionGraceMs: config.store.deletion_grace,
    pruneIntervalMs: config.store.prune_interval,
    tombstoneTtlMs: config.store.tombstone_ttl,
    fetchTimeoutMs: config.fetch.timeout,
    notFoundTtlMs: config.fetch.not_found_ttl,
    errorTtlMs: config.fetch.error_ttl,
    ...options,
    clock,
    logger,
    collectors: options.collectors ?? collectorsFromConfig({ config, clock, logger, env }),
  });
}
