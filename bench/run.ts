/**
 * `npm run bench [filter...]`: runs every suite (or those whose name contains a filter) and
 * prints one JSON document on stdout: {suites: [{name, figures, skipped?}]}. Progress goes to stderr.
 */
import type { BenchSuite } from './harness.js';
import { storeSuites } from './store/store.bench.js';
import { kubeletSuites } from './collectors/kubelet/kubelet.bench.js';
import { kubeletProcessSuites } from './collectors/kubelet/kubelet-process.bench.js';
import { containerdSuites } from './collectors/containerd/containerd.bench.js';
import { dockerSuites } from './collectors/docker/docker.bench.js';
import { startToReadySuites } from './collectors/docker/start-to-ready.bench.js';
import { ipcSuites } from './ipc/ipc.bench.js';
import { fanoutSuites } from './ipc/fanout.bench.js';
import { pythonSuites } from './python/python.bench.js';
import { kubernetesSuites } from './collectors/kubernetes/kubernetes.bench.js';
import { clusterSuites } from './cluster/cluster-latency.bench.js';
import { originSuites } from './origin/origin.bench.js';
import { cliSuites } from './cli/cli.bench.js';

const SUITES: readonly BenchSuite[] = [...storeSuites, ...kubeletSuites, ...kubeletProcessSuites, ...containerdSuites, ...dockerSuites, ...startToReadySuites, ...ipcSuites, ...fanoutSuites, ...pythonSuites, ...kubernetesSuites, ...originSuites, ...clusterSuites, ...cliSuites];

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const chosen = SUITES.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)));
  const results = [];
  for (const suite of chosen) {
    process.stderr.write(`bench: ${suite.name}...\n`);
    const started = Date.now();
    const result = await suite.run();
    results.push({ name: suite.name, seconds: (Date.now() - started) / 1000, ...result });
  }
  process.stdout.write(`${JSON.stringify({ node: process.version, date: new Date().toISOString(), suites: results }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
