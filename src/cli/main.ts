#!/usr/bin/env node
/** The `tagger` executable (package.json bin). */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
// Explicit: a stopped daemon may leave harmless handles (metrics observers) that would delay exit.
process.exit(code);
