/** `tagger version`: the package version and the Node.js running it. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withConfigOption, type CliCommand, type CliIo } from './common.js';

export function packageVersion(): string {
  // src/cli and dist/cli are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export const versionCommand: CliCommand = {
  register(program: Command, io: CliIo): void {
    withConfigOption(program.command('version'))
      .description('print the version')
      .action(() => {
        io.stdout(`tagger ${packageVersion()} (node ${process.version})\n`);
      });
  },
};
