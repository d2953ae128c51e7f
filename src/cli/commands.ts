/**
 * Every CLI command, one file each. A new command is one import and one entry here
 * (`demo` lands as ./demo.ts).
 */
import type { CliCommand } from './common.js';
import { demoCommand } from './demo.js';
import { explainCommand } from './explain.js';
import { listCommand } from './list.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { tagCommand } from './tag.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly CliCommand[] = [runCommand, listCommand, tagCommand, explainCommand, statusCommand, demoCommand, versionCommand];
