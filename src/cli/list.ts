/** `tagger list [--json]`: every entity with its tags per source, from the daemon. */
import type { Command } from 'commander';
import { configOf, withClient, withConfigOption, type CliCommand, type CliIo } from './common.js';
import { formatList } from './format.js';

export const listCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('list'))
      .description('list every entity with its tags per source (like `agent tagger-list`)')
      .option('--json', 'print the /v1/entities JSON')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        const body = await withClient(configOf(cmd), io, (client) => client.entities());
        io.stdout(opts.json ? `${JSON.stringify(body, null, 2)}\n` : formatList(body));
      });
  },
};
