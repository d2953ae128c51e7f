/**
 * The CLI as a function of argv: builds the commander program, runs one command, and maps every
 * outcome to the contract's exit codes (0 ok, 1 runtime error, 2 bad usage or config) with errors
 * as one line on stderr. main.ts only wires it to the process.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands.js';
import { EXIT_OK, EXIT_USAGE, describeError, type CliIo } from './common.js';
import { packageVersion } from './version.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('tagger')
    .description('container and orchestrator tags per container, pod and task')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'YAML config file (default: $TAGGER_CONFIG)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const command of COMMANDS) command.register(program, io);
  // Subcommands inherit exitOverride and output only when set on each of them.
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is bad usage.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    const { code, message } = describeError(error);
    if (message !== '') io.stderr(`tagger: ${message}\n`);
    return code;
  }
}
