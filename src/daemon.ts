/**
 * The daemon behind `tagger run`: a tagger (local collectors, or in remote mode a replica of
 * another daemon), the IPC server on its socket and optional TCP address, and a clean stop on
 * SIGTERM/SIGINT within a hard deadline.
 */
import { systemClock } from './clock.js';
import type { Collector } from './collectors/collector.js';
import type { PodPlacement } from './collectors/cluster-agent/ports.js';
import { ClusterCollector } from './collectors/kubernetes/collector.js';
import { kubernetesTelemetry } from './collectors/kubernetes/telemetry.js';
import { collectorsFromConfig } from './collectors/registry.js';
import { checkDaemonConfig, type TaggerConfig } from './config.js';
import { createTagger } from './create-tagger.js';
import { ConfigError, causeMessage } from './errors.js';
import { packageVersion } from './cli/version.js';
import { IpcServer } from './ipc/server.js';
import { loadServerTls, type ServerTls } from './ipc/tls.js';
import type { Logger } from './logger.js';
import type { Tagger, TaggerPort } from './tagger/tagger.js';

export interface DaemonOptions {
  readonly config: TaggerConfig;
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Collectors to run instead of those the config names (the demo, tests). */
  readonly collectors?: readonly Collector[];
}

/** The TCP listener's certificate and key: both keys or neither (ConfigError naming the missing one). */
function serverTls(config: TaggerConfig): ServerTls | undefined {
  const { tls_cert_file: certFile, tls_key_file: keyFile } = config.ipc;
  if (!certFile && !keyFile) return undefined;
  if (!certFile) throw new ConfigError('ipc.tls_cert_file', 'must be set with ipc.tls_key_file');
  if (!keyFile) throw new ConfigError('ipc.tls_key_file', 'must be set with ipc.tls_cert_file');
  return loadServerTls({ certFile, keyFile });
}

function isPodPlacement(collector: Collector): collector is Collector & PodPlacement {
  return typeof (collector as Partial<PodPlacement>).nodeOf === 'function';
}

/** Hard deadline for a stop: past it the process exits anyway. */
export const STOP_DEADLINE_MS = 5_000;

export class Daemon {
  readonly tagger: Tagger & TaggerPort;
  readonly server: IpcServer;
  private readonly logger: Logger;
  private readonly config: TaggerConfig;
  private stopping: Promise<void> | undefined;

  constructor(options: DaemonOptions) {
    const { config, logger } = options;
    checkDaemonConfig(config);
    this.config = config;
    this.logger = logger;
    const env = options.env ?? process.env;
    // Built here rather than by createTagger: a cluster instance serves its per-node streams from
    // where its API-server collector says each pod runs.
    const collectors = config.mode === 'remote' ? undefined : (options.collectors ?? collectorsFromConfig({ config, clock: systemClock, logger, env }));
    const placement = config.mode === 'cluster' ? collectors?.find(isPodPlacement) : undefined;
    this.tagger = createTagger({ config, logger, mode: config.mode, env, ...(collectors ? { collectors } : {}) });
    const tls = serverTls(config);
    this.server = new IpcServer({
      tagger: this.tagger,
      socketPath: config.ipc.socket,
      tcpAddress: config.ipc.tcp_address,
      // Only a cluster instance serves the network (and then over TLS: the server checks).
      allowNetwork: config.mode === 'cluster',
      ...(tls ? { tls } : {}),
      ...(placement ? { placement } : {}),
      ...(placement instanceof ClusterCollector ? { metricSources: [kubernetesTelemetry(() => placement.resources())] } : {}),
      authTokenFile: config.ipc.auth_token_file,
      heartbeatMs: config.ipc.heartbeat_interval,
      maxConnections: config.ipc.max_connections,
      status: { version: packageVersion(), mode: config.mode, startedAt: Date.now() },
      logger: logger.child({ component: 'ipc' }),
    });
  }

  /** Starts the server first, so a socket already in use fails before any collector runs. */
  async start(): Promise<void> {
    await this.server.start();
    try {
      await this.tagger.start();
    } catch (error) {
      await this.server.stop(0);
      throw error;
    }
    this.logger.info({ mode: this.config.mode, socket: this.config.ipc.socket || undefined, tcp: this.config.ipc.tcp_address || undefined }, 'tagger daemon started');
    this.tagger.ready().then(
      () => this.logger.info({ entities: this.tagger.storeStats().size }, 'tagger ready'),
      () => undefined,
    );
  }

  /** Stops accepting, ends streams, stops collectors. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.server.stop(Math.floor(STOP_DEADLINE_MS / 2));
      await this.tagger.stop();
      this.logger.info({}, 'tagger daemon stopped');
    })();
    return this.stopping;
  }
}

/**
 * Runs until SIGTERM or SIGINT; resolves with the exit code. A second signal, or a stop that
 * outlives the deadline, ends at once with 1.
 */
export async function runUntilSignal(daemon: Daemon, logger: Logger): Promise<number> {
  await daemon.start();
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal; exiting now');
        resolve(1);
        return;
      }
      signalled = true;
      logger.info({ signal }, 'stopping');
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop took too long; exiting anyway');
        resolve(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      daemon.stop().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          logger.error({ error: causeMessage(error) }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
