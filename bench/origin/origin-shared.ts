/**
 * What the origin benches and their server process share: 5,000 pods of two containers each
 * (15k entities) whose TagInfos carry origin facts (pod IPs, containers by name), pushed through
 * a collector's sink as the real collectors do, so the origin index is fed on the same path as in
 * the daemon. One container also reports the serving process's own PID, so its cgroup inode is
 * really looked up and the `pid` form reads a real /proc.
 */
import type { Collector } from '../../src/collectors/collector.js';
import type { TagInfo } from '../../src/types.js';
import { syncBenchEntity } from '../ipc/sync-shared.js';

export const ORIGIN_PODS = 5_000;

export function podUid(i: number): string {
  return `0000${i.toString(16).padStart(4, '0')}-0000-4000-8000-000000000000`;
}

export function podIp(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Pod i's TagInfos: the pod (with its origin facts) and its containers 2i, 2i+1 (the first with `pid`). */
export function originBenchInfos(i: number, pid?: number): TagInfo[] {
  const app = syncBenchEntity(2 * i);
  const sidecar = syncBenchEntity(2 * i + 1);
  const pod: TagInfo = {
    source: 'kubelet',
    entity: `kubernetes_pod_uid://${podUid(i)}`,
    low: ['kube_namespace:default', `kube_deployment:web-${i % 50}`],
    orchestrator: [`pod_name:web-${i}`],
    high: [],
    standard: [],
    origin: {
      ips: [podIp(i)],
      podContainers: [
        { name: 'app', kind: 'regular', entity: app.entity },
        { name: 'sidecar', kind: 'regular', entity: sidecar.entity },
      ],
    },
  };
  return [pod, pid === undefined ? app : { ...app, origin: { pid } }, sidecar];
}

/** A collector that pushes every pod once, as a streaming collector's first list would. */
export function originBenchCollector(pid: number): Collector {
  return {
    name: 'bench',
    async run(ctx) {
      for (let i = 0; i < ORIGIN_PODS; i++) ctx.sink.push(originBenchInfos(i, i === 0 ? pid : undefined));
      ctx.markSynced();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
    health: () => ({ healthy: true, message: 'bench' }),
  };
}
