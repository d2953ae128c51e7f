/**
 * Child process of the Kubernetes memory bench, one per mode, so each heap and RSS is a process's
 * own (the fake API server and its copies of the objects live in the parent):
 * - `collector`: the ClusterCollector (four informers, their stripped objects, its indexes and
 *   the TagInfos it pushed) synced on the parent's fake;
 * - `raw`: the same four lists, paged through the same HTTP client, every object kept as parsed
 *   (what an informer without a transform holds, as @kubernetes/client-node's ObjectCache does);
 * - `idle`: the same modules loaded, nothing listed.
 * Replies `{heapUsed, rss, syncMs, cpuMs, pushed}` after a full GC.
 */
import { systemClock } from '../../../src/clock.js';
import { KubeApiClient } from '../../../src/collectors/kubernetes/client.js';
import { CLUSTER_RESOURCES, ClusterCollector } from '../../../src/collectors/kubernetes/collector.js';
import { compileClusterRules } from '../../../src/collectors/kubernetes/extract.js';
import { silentLogger } from '../../../src/logger.js';

export type ClusterChildMode = 'collector' | 'raw' | 'idle';
export interface ClusterChildReply {
  readonly heapUsed: number;
  readonly rss: number;
  readonly syncMs: number;
  readonly cpuMs: number;
  readonly pushed: number;
  readonly kept: number;
}

const PATHS: Record<(typeof CLUSTER_RESOURCES)[number], string> = { pods: '/api/v1/pods', endpointslices: '/apis/discovery.k8s.io/v1/endpointslices', services: '/api/v1/services', namespaces: '/api/v1/namespaces' };

function gcAndMeasure(): { heapUsed: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

async function main(): Promise<void> {
  const [url = '', mode = 'idle'] = process.argv.slice(2) as [string, ClusterChildMode];
  const client = new KubeApiClient({ url, tokenFile: '/nonexistent', caFile: '', tlsVerify: true }, { timeoutMs: 60_000 });
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  let pushed = 0;
  let kept = 0;
  const holder: unknown[] = [];
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  if (mode === 'collector') {
    const collector = new ClusterCollector({ source: client, rules: compileClusterRules({ namespaceLabels: { team: 'team', environment: 'env' } }), clusterName: 'bench', ignoreReadiness: false });
    holder.push(collector);
    await new Promise<void>((resolve) => {
      running = collector.run({
        sink: { push: (infos) => void (pushed += infos.length) },
        clock: systemClock,
        logger: silentLogger,
        signal: controller.signal,
        knows: () => false,
        requestFetch: () => undefined,
        markSynced: resolve,
      });
    });
    kept = collector.resources().reduce((n, r) => n + r.state.objects, 0);
  } else if (mode === 'raw') {
    for (const resource of CLUSTER_RESOURCES) {
      const objects = new Map<string, unknown>();
      let token = '';
      do {
        const page = await client.list(PATHS[resource], { limit: 500, ...(token ? { continueToken: token } : {}) });
        for (const item of page.items) {
          const meta = (item as { metadata: { namespace?: string; name: string } }).metadata;
          objects.set(`${meta.namespace ?? ''}/${meta.name}`, item);
        }
        token = page.continueToken;
      } while (token);
      kept += objects.size;
      holder.push(objects);
    }
  }
  const syncMs = Date.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const memory = gcAndMeasure();
  const reply: ClusterChildReply = { ...memory, syncMs, cpuMs: (cpu.user + cpu.system) / 1000, pushed, kept };
  process.send?.(reply);
  controller.abort();
  await running;
  await client.close();
  holder.length = 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
