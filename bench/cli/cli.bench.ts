/**
 * `cli.tag`: one `tagger tag <entity>` as a script runs it, a whole process from spawn to exit,
 * against a daemon in its own process. Baseline, in the same run and alternating with it: a bare
 * `node` process that makes the same request with node:http and exits, the least any Node.js
 * client can cost. What is left between the two is the CLI's own start (module loading, config).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from '../daemon-process.js';
import type { BenchSuite } from '../harness.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'tagger-run.js');
const ENTITY = `container_id://${'ab'.repeat(32)}`;
const ROUNDS = 15;
/** From the measurement: Node (~50 ms) plus undici's own load (~120 ms), then ours; see bench/README.md. */
const GOAL = 8;

/** Milliseconds from spawn to exit; throws unless it exits 0. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export const cliSuites: readonly BenchSuite[] = [
  {
    name: 'cli.tag',
    async run() {
      const daemon = await startDaemon('docker:\n  enabled: "false"\ncontainerd:\n  enabled: "false"\nkubelet:\n  enabled: "false"\necs:\n  enabled: "false"\n');
      try {
        const token = readFileSync(daemon.tokenFile, 'utf8').trim();
        const env = { PATH: process.env.PATH ?? '', TAGGER_IPC_SOCKET: daemon.socket, TAGGER_IPC_AUTH_TOKEN_FILE: daemon.tokenFile };
        const bare = [
          '-e',
          `require('node:http').get({ socketPath: ${JSON.stringify(daemon.socket)}, path: '/v1/tags?entity=${encodeURIComponent(ENTITY)}&cardinality=low', headers: { authorization: 'Bearer ${token}' } }, (r) => { r.resume(); r.on('end', () => process.exit(r.statusCode === 200 ? 0 : 1)); })`,
        ];
        const ours: number[] = [];
        const baseline: number[] = [];
        await timed([ENTRY, 'tag', ENTITY], env); // warm the page cache for both
        await timed(bare, env);
        for (let i = 0; i < ROUNDS; i++) {
          ours.push(await timed([ENTRY, 'tag', ENTITY], env));
          baseline.push(await timed(bare, env));
        }
        const oursMs = median(ours);
        const baseMs = median(baseline);
        return {
          figures: [
            {
              name: 'cli.tag',
              value: Math.round(oursMs),
              unit: 'ms/process (median)',
              baseline: { name: 'node -e with node:http, one request', value: Math.round(baseMs) },
              ratio: Math.round((oursMs / baseMs) * 100) / 100,
              goal: `<= ${GOAL}x a bare node process making the same request`,
              met: oursMs / baseMs <= GOAL,
              details: { rounds: ROUNDS, ours_min_ms: Math.round(Math.min(...ours)), baseline_min_ms: Math.round(Math.min(...baseline)) },
            },
          ],
        };
      } finally {
        await daemon.stop();
      }
    },
  },
];
