/**
 * Builds the collectors a config asks for. Each collector module contributes one factory here;
 * `enabled: false` leaves it out, `auto` keeps it and lets its detect() decide at run time, `true`
 * keeps it without detection (its own loop retries until the source answers).
 */
import type { Collector } from './collector.js';
import type { CollectorDeps, CollectorFactory } from './factory.js';
import { dockerCollectorFactory } from './docker/factory.js';
import { containerdCollectorFactory } from './containerd/factory.js';
import { kubeletCollectorFactory } from './kubelet/factory.js';
import { ecsCollectorFactory } from './ecs/factory.js';
import { clusterTagsCollector } from './cluster-agent/factory.js';
import { clusterCollectorFromConfig } from './kubernetes/factory.js';
import { KubeletCollector } from './kubelet/collector.js';
import { staticCollectorFactory } from './static/factory.js';

/** Every known collector, in start order. */
const COLLECTOR_FACTORIES: readonly CollectorFactory[] = [dockerCollectorFactory, containerdCollectorFactory, kubeletCollectorFactory, ecsCollectorFactory, staticCollectorFactory];

/**
 * The collectors of a daemon or library tagger. A cluster instance (`mode: cluster`) runs only the
 * API-server collector. A node runs its own collectors and, when the config asks, one more for the
 * cluster tags (following a cluster instance, or watching the API server itself), which finds the
 * pods' containers through the node's kubelet collector.
 */
export function collectorsFromConfig(deps: CollectorDeps, factories: readonly CollectorFactory[] = COLLECTOR_FACTORIES): Collector[] {
  // A cluster instance also carries the static `tags`, as the Cluster Agent does on its global entity.
  if (deps.config.mode === 'cluster') return [clusterCollectorFromConfig(deps, false, 'cluster'), ...(deps.config.tags.length > 0 ? [staticCollectorFactory.create(deps, false)] : [])];
  const out: Collector[] = [];
  for (const factory of factories) {
    const toggle = factory.enabled(deps.config);
    if (toggle === 'false') continue;
    out.push(factory.create(deps, toggle === 'auto'));
  }
  const index = out.find((c): c is KubeletCollector => c instanceof KubeletCollector);
  const cluster = clusterTagsCollector({ ...deps, index });
  if (cluster) out.push(cluster);
  return out;
}
