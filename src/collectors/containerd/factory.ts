/**
 * The registry's entry for containerd: builds the collector from `containerd.*` config keys.
 */
import { compileRules } from '../../rules.js';
import type { CollectorFactory } from '../factory.js';
import { ContainerdCollector, CONTAINERD_SOURCE } from './collector.js';
import { LazyContainerdApi } from './lazy-client.js';

export const containerdCollectorFactory: CollectorFactory = {
  name: CONTAINERD_SOURCE,
  enabled: (config) => config.containerd.enabled,
  create: (deps, autodetect) => {
    const c = deps.config.containerd;
    return new ContainerdCollector({
      // gRPC and the protos load once the socket is found (lazy-client.ts).
      api: new LazyContainerdApi(`unix://${c.socket}`, async () => new (await import('./client.js')).ContainerdClient({ socket: c.socket })),
      socket: c.socket,
      namespaces: c.namespaces,
      excludeNamespaces: c.exclude_namespaces,
      labelRules: compileRules(c.labels_as_tags, 'label', 'containerd.labels_as_tags'),
      envRules: compileRules(c.env_as_tags, 'env', 'containerd.env_as_tags'),
      autodetect,
    });
  },
};
