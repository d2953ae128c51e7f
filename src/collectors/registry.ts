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
import { kubernetesCollectorFactory } from './kubernetes/factory.js';
import { staticCollectorFactory } from './static/factory.js';

/** Every known collector, in start order. */
const COLLECTOR_FACTORIES: readonly CollectorFactory[] = [dockerCollectorFactory, containerdCollectorFactory, kubeletCollectorFactory, ecsCollectorFactory, kubernetesCollectorFactory, staticCollectorFactory];

export function collectorsFromConfig(deps: CollectorDeps, factories: readonly CollectorFactory[] = COLLECTOR_FACTORIES): Collector[] {
  const out: Collector[] = [];
  for (const factory of factories) {
    const toggle = factory.enabled(deps.config);
    if (toggle === 'false') continue;
    out.push(factory.create(deps, toggle === 'auto'));
  }
  return out;
}
