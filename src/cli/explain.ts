/** `tagger explain <entity>`: which source gave which tag, and why a tag may be absent. */
import type { Command } from 'commander';
import { parseEntityId } from '../entity.js';
import { configOf, withClient, withConfigOption, type CliCommand, type CliIo } from './common.js';
import { formatExplain } from './format.js';

export const explainCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('explain'))
      .description('show which source gave which tag at which cardinality, and why a tag is absent')
      .argument('<entity>', 'entity ID')
      .option('--json', 'print the report as JSON')
      .action(async (entity: string, opts: { json?: boolean }, cmd: Command) => {
        parseEntityId(entity);
        const report = await withClient(configOf(cmd), io, (client) => client.explain(entity));
        io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatExplain(report));
      });
  },
};
