/** `tagger tag <entity>`: one entity's merged tags at a cardinality, from the daemon. */
import type { Command } from 'commander';
import { parseCardinality, parseEntityId } from '../entity.js';
import { configOf, withClient, withConfigOption, type CliCommand, type CliIo } from './common.js';

export const tagCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('tag'))
      .description("print one entity's merged tags, one per line")
      .argument('<entity>', 'entity ID, e.g. container_id://<id>, kubernetes_pod_uid://<uid>, ecs_task://<id>')
      .option('--cardinality <level>', 'low, orchestrator or high', 'low')
      .option('--json', 'print the /v1/tags JSON')
      .action(async (entity: string, opts: { cardinality: string; json?: boolean }, cmd: Command) => {
        // Validate here so a typo is a usage error (exit 2), not a daemon round-trip.
        parseEntityId(entity);
        const cardinality = parseCardinality(opts.cardinality);
        const body = await withClient(configOf(cmd), io, (client) => client.getTags(entity, cardinality));
        io.stdout(opts.json ? `${JSON.stringify(body, null, 2)}\n` : body.tags.map((t) => `${t}\n`).join(''));
      });
  },
};
