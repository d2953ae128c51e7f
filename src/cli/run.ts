/**
 * `tagger run`: the daemon, until SIGTERM or SIGINT. The daemon's modules (every collector, the
 * server, pino, prom-client, gRPC) load only here, so the client commands start in about half the
 * time (bench `cli.tag`).
 */
import type { Command } from 'commander';
import { CliError, configOf, loadCliConfig, withConfigOption, type CliCommand, type CliIo } from './common.js';

export const runCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('run'))
      .description('run the daemon: collectors, store, IPC server, metrics and health')
      .action(async (_opts: unknown, cmd: Command) => {
        const config = loadCliConfig(configOf(cmd), io.env);
        const [{ Daemon, runUntilSignal }, { createLogger }] = await Promise.all([import('../daemon.js'), import('../logger.js')]);
        const logger = createLogger({ level: config.log.level });
        const daemon = new Daemon({ config, logger, env: io.env });
        const code = await runUntilSignal(daemon, logger);
        // The reason is already logged; the exit code is all that is left to say.
        if (code !== 0) throw new CliError('', code);
      });
  },
};
