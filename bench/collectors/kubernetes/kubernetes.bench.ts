/**
 * Kubernetes API collector, memory: the informers + collector synced on 5,000 pods, 1,000
 * Services with their EndpointSlices, 100 namespaces and 100 nodes (cluster-data.ts), each in
 * its own child process (cluster-child.ts) beside the same lists kept unstripped, and an idle
 * process with the same modules; the fake API server is this process.
 * Figures: heap and RSS retained above the idle process, per object held; time and CPU to sync.
 * Goal (bench/README.md): <= 1 KiB of heap per object held, and <= 0.15x the unstripped heap.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../../../src/collectors/kubernetes/test-support/fake-apiserver.js';
import { round, type BenchFigure, type BenchSuite } from '../../harness.js';
import type { ClusterChildMode, ClusterChildReply } from './cluster-child.js';
import { CLUSTER_SIZE, OBJECTS, loadBenchCluster } from './cluster-data.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const GOAL_BYTES_PER_OBJECT = 1024;

function runChild(url: string, mode: ClusterChildMode): Promise<ClusterChildReply> {
  return new Promise((resolve, reject) => {
    const child = fork(join(HERE, 'cluster-child.js'), [url, mode], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let reply: ClusterChildReply | undefined;
    child.on('message', (message) => (reply = message as ClusterChildReply));
    child.on('exit', (code) => (reply ? resolve(reply) : reject(new Error(`cluster-child ${mode} exited ${code} without a reply`))));
  });
}

async function memory(): Promise<BenchFigure[]> {
  const fake = await FakeApiServer.start();
  try {
    loadBenchCluster(fake);
    const idle: ClusterChildReply[] = [];
    const ours: ClusterChildReply[] = [];
    const raw: ClusterChildReply[] = [];
    for (let round = 0; round < 3; round++) {
      idle.push(await runChild(fake.url, 'idle'));
      ours.push(await runChild(fake.url, 'collector'));
      raw.push(await runChild(fake.url, 'raw'));
    }
    const min = (xs: ClusterChildReply[], k: 'heapUsed' | 'rss' | 'syncMs' | 'cpuMs'): number => Math.min(...xs.map((x) => x[k]));
    const base = { heap: min(idle, 'heapUsed'), rss: min(idle, 'rss') };
    const oursHeap = min(ours, 'heapUsed') - base.heap;
    const rawHeap = min(raw, 'heapUsed') - base.heap;
    const perObject = oursHeap / OBJECTS;
    const details = { pods: CLUSTER_SIZE.pods, services: CLUSTER_SIZE.services, endpointslices: CLUSTER_SIZE.services, namespaces: CLUSTER_SIZE.namespaces + 1, nodes: CLUSTER_SIZE.nodes, objectsHeld: ours[0]?.kept ?? 0, podsPushed: ours[0]?.pushed ?? 0 };
    return [
      {
        name: 'kubernetes.memory.heap_per_object',
        value: round(perObject, 0),
        unit: 'B',
        baseline: { name: 'the same objects kept as parsed (no transform)', value: round(rawHeap / OBJECTS, 0) },
        ratio: round(oursHeap / rawHeap, 4),
        goal: `<= ${GOAL_BYTES_PER_OBJECT} B per object held, <= 0.15x unstripped`,
        met: perObject <= GOAL_BYTES_PER_OBJECT && oursHeap / rawHeap <= 0.15,
        details: { ...details, heapRetainedMiB: round(oursHeap / 2 ** 20, 2), rawHeapRetainedMiB: round(rawHeap / 2 ** 20, 2), idleHeapMiB: round(base.heap / 2 ** 20, 2) },
      },
      {
        name: 'kubernetes.memory.rss',
        value: round((min(ours, 'rss') - base.rss) / 2 ** 20, 1),
        unit: 'MiB above an idle process',
        baseline: { name: 'unstripped', value: round((min(raw, 'rss') - base.rss) / 2 ** 20, 1) },
        details: { idleRssMiB: round(base.rss / 2 ** 20, 1), collectorRssMiB: round(min(ours, 'rss') / 2 ** 20, 1) },
      },
      {
        name: 'kubernetes.initial_sync',
        value: min(ours, 'syncMs'),
        unit: 'ms',
        baseline: { name: 'the same lists, parsed and kept', value: min(raw, 'syncMs') },
        ratio: round(min(ours, 'syncMs') / min(raw, 'syncMs'), 2),
        details: { cpuMs: round(min(ours, 'cpuMs'), 0), rawCpuMs: round(min(raw, 'cpuMs'), 0) },
      },
    ];
  } finally {
    await fake.close();
  }
}

export const kubernetesSuites: readonly BenchSuite[] = [{ name: 'kubernetes.memory', run: async () => ({ figures: await memory() }) }];
