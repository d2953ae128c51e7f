/**
 * `tagger demo`: the whole pipeline on recorded data, in-process; no Docker or Kubernetes needed.
 * Its modules load when it runs, not with every command.
 */
import type { Command } from 'commander';
import type { CliCommand, CliIo } from './common.js';

export const demoCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    program
      .command('demo')
      .description('run the whole pipeline on recorded Docker, kubelet and ECS payloads (no Docker or Kubernetes needed)')
      .option('--json', 'print the result as JSON')
      .action(async (opts: { json?: boolean }) => {
        const [{ runDemo }, { formatDemo }] = await Promise.all([import('../demo/demo.js'), import('../demo/report.js')]);
        const result = await runDemo();
        io.stdout(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatDemo(result));
      });
  },
};
