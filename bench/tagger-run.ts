/**
 * `tagger run` for benchmarks that measure the daemon as a user's `top` sees it: this file is
 * the CLI's entry (runCli, as bin/tagger calls it) compiled from the same sources as the bench,
 * started by bench/daemon-process.ts in a process of its own.
 */
import { runCli } from '../src/cli/program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
process.exit(code);
