/**
 * Python module figures: `tagger.get_tags` round-trips per second beside a bare http.client
 * round-trip to the same server (same socket, request and token, kept-alive connection), measured
 * by bench/python/get_tags_bench.py in one python3 process:
 * - against the real IPC server (IpcServer + LocalTagger, in this process);
 * - against the script's own fake daemon (http.server in a child process).
 * Goal: get_tags at least 0.8x the bare client's rate (its own work costs at most ~25% per call).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { round, type BenchFigure, type BenchSuite } from '../harness.js';

// `npm run bench` runs from the repository root (as the containerd bench assumes too).
const SCRIPT = join(process.cwd(), 'bench/python/get_tags_bench.py');
const GOAL = 0.8;

interface ScriptResult {
  python: string;
  server: string;
  tags: number;
  get_tags_per_s: number;
  bare_http_client_per_s: number;
  ratio: number;
  get_tags_us: number;
  bare_http_client_us: number;
  get_tags_new_connection_per_s: number;
}

/** Async: the IPC server under measurement runs in this process and must keep answering. */
function runScript(args: string[]): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile('python3', [SCRIPT, ...args], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`get_tags_bench.py failed: ${stderr.trim() || error.message}`));
      try {
        resolve(JSON.parse(stdout) as ScriptResult);
      } catch {
        reject(new Error(`get_tags_bench.py printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

function figure(name: string, r: ScriptResult): BenchFigure {
  return {
    name,
    value: r.get_tags_per_s,
    unit: 'calls/s',
    baseline: { name: `bare http.client, same ${r.server} server, request and token`, value: r.bare_http_client_per_s },
    ratio: r.ratio,
    goal: `>= ${GOAL}x the bare client's rate`,
    met: r.ratio >= GOAL,
    details: {
      python: r.python,
      tags: r.tags,
      get_tags_us: r.get_tags_us,
      bare_http_client_us: r.bare_http_client_us,
      get_tags_new_connection_per_s: r.get_tags_new_connection_per_s,
    },
  };
}

const getTagsRoundTrip: BenchSuite = {
  name: 'python.get_tags_round_trip',
  async run() {
    if (spawnSync('python3', ['--version']).status !== 0) return { figures: [], skipped: 'python3 not found' };
    const dir = mkdtempSync(join(tmpdir(), 'tagger-pybench-'));
    const tagger = new LocalTagger();
    await tagger.start();
    const hex = 'ab'.repeat(32);
    const entity = `container_id://${hex}`;
    tagger.store.processTagInfo([
      {
        source: 'docker',
        entity,
        low: ['docker_image:nginx:1.27', 'image_name:nginx', 'image_tag:1.27', 'short_image:nginx', 'kube_namespace:default', 'kube_deployment:web'],
        orchestrator: ['pod_name:web-7d9f8c6b5-x2x9q'],
        high: [`container_id:${hex}`, 'container_name:web'],
        standard: [],
      },
    ]);
    const socket = join(dir, 'tagger.sock');
    const tokenFile = join(dir, 'auth_token');
    const server = new IpcServer({ tagger, socketPath: socket, authTokenFile: tokenFile, processMetrics: false });
    await server.start();
    try {
      const real = await runScript(['--socket', socket, '--token-file', tokenFile, '--entity', entity]);
      const fake = await runScript([]);
      const figures = [figure('python.get_tags_round_trip', real), figure('python.get_tags_round_trip_fake_daemon', fake)];
      return { figures: figures.map((f) => ({ ...f, ratio: round(f.ratio ?? 0) })) };
    } finally {
      await server.stop(100);
      await tagger.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const pythonSuites: readonly BenchSuite[] = [getTagsRoundTrip];
