/**
 * What the CLI commands share: exit codes, the `--config` option, config loading, and an IPC
 * client aimed at the daemon the config names.
 */
import type { Command } from 'commander';
import { loadConfig, type TaggerConfig } from '../config.js';
import { ConfigError, InvalidCardinalityError, InvalidEntityError, TaggerError, causeMessage, isTaggerError } from '../errors.js';
import { IpcClient } from '../ipc/client.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** An error the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** The process's streams and environment, injected so tests can run commands in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  register(program: Command, io: CliIo): void;
}

/** Adds the option every command takes. */
export function withConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <file>', 'YAML config file (default: $TAGGER_CONFIG)');
}

/** `--config` given after the command or before it (`tagger --config f list`). */
export function configOf(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { config?: string }).config;
}

export function loadCliConfig(file: string | undefined, env: NodeJS.ProcessEnv): TaggerConfig {
  return loadConfig({ file, env });
}

export function clientFor(config: TaggerConfig): IpcClient {
  const tokenFile = config.ipc.auth_token_file;
  if (config.ipc.socket) return new IpcClient({ socket: config.ipc.socket, tokenFile });
  if (config.ipc.tcp_address) return new IpcClient({ address: config.ipc.tcp_address, tokenFile });
  throw new CliError('no daemon to reach: set ipc.socket or ipc.tcp_address', EXIT_USAGE);
}

/** Maps any error to its exit code and one line of text. */
export function describeError(error: unknown): { code: number; message: string } {
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof ConfigError || error instanceof InvalidEntityError || error instanceof InvalidCardinalityError) return { code: EXIT_USAGE, message: error.message };
  if (isTaggerError(error, 'TAGGER_SOCKET')) return { code: EXIT_RUNTIME, message: `${(error as TaggerError).message} (is \`tagger run\` running?)` };
  const message = error instanceof TaggerError ? error.message : causeMessage(error);
  return { code: EXIT_RUNTIME, message: message.split('\n')[0] ?? 'error' };
}

/** Runs a client command against the daemon, closing the client whatever happens. */
export async function withClient<T>(configFile: string | undefined, io: CliIo, fn: (client: IpcClient, config: TaggerConfig) => Promise<T>): Promise<T> {
  const config = loadCliConfig(configFile, io.env);
  const client = clientFor(config);
  try {
    return await fn(client, config);
  } finally {
    await client.close();
  }
}
