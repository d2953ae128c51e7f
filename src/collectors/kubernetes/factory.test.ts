import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { LocalClusterWatch } from '../cluster-agent/local-watch.js';
import { collectorsFromConfig } from '../registry.js';
import type { ClusterCollector } from './collector.js';
import { clusterCollectorFromConfig } from './factory.js';

/** The collector as the config makes it (a node wraps it in LocalClusterWatch: cluster-agent/factory.ts). */
function build(values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ClusterCollector[] {
  const config = resolveConfig(values);
  if (config.kubernetes.enabled === 'false') return [];
  return [clusterCollectorFromConfig({ config, env }, config.kubernetes.enabled === 'auto', 'cluster')];
}

describe('kubernetes factory', () => {
  it('is registered, off by default, and named cluster', async () => {
    expect(build({})).toEqual([]);
    const node = { kubelet: { node_name: 'node-a' }, docker: { enabled: 'false' }, containerd: { enabled: 'false' }, ecs: { enabled: 'false' }, kubernetes: { enabled: 'true', api_url: 'https://10.96.0.1:443' } };
    const registered = collectorsFromConfig({ config: resolveConfig(node), clock: systemClock, logger: silentLogger, env: {} }).filter((c) => c instanceof LocalClusterWatch);
    expect(registered.map((c) => c.name)).toEqual(['cluster']);
    await Promise.all(registered.map((c) => c.close?.()));
    const [collector] = build({ kubernetes: { enabled: 'true' } }, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(collector?.name).toBe('cluster');
    expect(collector?.detect).toBeUndefined();
    await collector?.close();
  });

  it('refuses enabled: true outside a pod without kubernetes.api_url, naming the key', () => {
    expect(() => build({ kubernetes: { enabled: 'true' } })).toThrow(ConfigError);
    expect(() => build({ kubernetes: { enabled: 'true' } })).toThrow(/kubernetes\.api_url/);
  });

  it('under auto, detects the API server only when it is found', async () => {
    const [absent] = build({ kubernetes: { enabled: 'auto' } });
    expect(await absent?.detect?.(new AbortController().signal)).toMatchObject({ available: false, reason: expect.stringMatching(/KUBERNETES_SERVICE_HOST/) });
    const [present] = build({ kubernetes: { enabled: 'auto', api_url: 'https://api.example:6443' } });
    expect(await present?.detect?.(new AbortController().signal)).toEqual({ available: true });
    await Promise.all([absent?.close(), present?.close()]);
  });

  it('fails at start on a bad namespace rule, naming its key', () => {
    expect(() => build({ kubernetes: { enabled: 'true', api_url: 'http://x', namespace_labels_as_tags: { team: '' } } })).toThrow(/kubernetes\.namespace_labels_as_tags/);
  });
});
