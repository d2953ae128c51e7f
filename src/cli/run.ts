/** `tagger run`: the daemon, until SIGTERM or SIGINT. */
import type { Command } from 'commander';
import { Daemon, runUntilSignal } from '../daemon.js';
import { createLogger } from '../logger.js';
import { CliError, configOf, loadCliConfig, withConfigOption, type CliCommand, type CliIo } from './common.js';

export const runCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('run'))
      .description('run the daemon: collectors, store, IPC server, metrics and health')
      .action(async (_opts: unknown, cmd: Command) => {
        const config = loadCliConfig(configOf(cmd), io.env);
        const logger = createLogger({ level: config.log.level });
        const daemon = new Daemon({ config, logger, env: io.env });
        const code = await runUntilSignal(daemon, logger);
        // The reason is already logged; the exit code is all that is left to say.
        if (code !== 0) throw new CliError('', code);
      });
  },
};
