/**
 * The registry's entry for containerd: builds the collector from `containerd.*` config keys.
 */
import { compileRules } from '../../rules.js';
import type { CollectorFactory } from '../factory.js';
import { ContainerdClient } from './client.js';
import { ContainerdCollector, SOURCE } from './collector.js';

export const containerdCollectorFactory: CollectorFactory = {
  name: SOURCE,
  enabled: (config) => config.containerd.enabled,
  create: (deps, autodetect) => {
    const c = deps.config.containerd;
    return new ContainerdCollector({
      api: new ContainerdClient({ socket: c.socket }),
      socket: c.socket,
      namespaces: c.namespaces,
      excludeNamespaces: c.exclude_namespaces,
      labelRules: compileRules(c.labels_as_tags, 'label', 'containerd.labels_as_tags'),
      envRules: compileRules(c.env_as_tags, 'env', 'containerd.env_as_tags'),
      autodetect,
    });
  },
};
