import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { silentLogger } from '../../logger.js';
import { collectorsFromConfig } from '../registry.js';
import { ClusterCollector } from '../kubernetes/collector.js';
import { FakeApiServer } from '../kubernetes/test-support/fake-apiserver.js';
import { loadRecordedCluster } from '../kubernetes/test-support/fixtures.js';
import { until } from '../../test-support/wait.js';
import { KubeletCollector } from '../kubelet/collector.js';
import { ClusterAgentCollector } from './collector.js';
import { clusterTagsCollector } from './factory.js';
import { LocalClusterWatch } from './local-watch.js';

const NODE_ONLY = { docker: { enabled: 'false' }, containerd: { enabled: 'false' }, ecs: { enabled: 'false' }, kubelet: { enabled: 'true', url: 'https://127.0.0.1:10250' } };

function build(values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return collectorsFromConfig({ config: resolveConfig(values, env), clock: systemClock, logger: silentLogger, env });
}

describe('cluster tags from the config', () => {
  it('mode: cluster runs the API-server collector alone', () => {
    const collectors = build({ mode: 'cluster', kubernetes: { api_url: 'https://10.0.0.1:6443' } });
    expect(collectors).toHaveLength(1);
    expect(collectors[0]).toBeInstanceOf(ClusterCollector);
  });

  it('cluster_agent.url adds a follower beside the node’s collectors; kubernetes.enabled a self watch; neither, nothing', () => {
    const follower = build({ ...NODE_ONLY, cluster_agent: { url: 'https://tagger-cluster:8443', tls_verify: false } }, { NODE_NAME: 'node-a' });
    expect(follower.map((c) => c.constructor)).toEqual([KubeletCollector, ClusterAgentCollector]);
    const self = build({ ...NODE_ONLY, kubernetes: { enabled: true, api_url: 'https://10.0.0.1:6443' }, kubelet: { ...NODE_ONLY.kubelet, node_name: 'node-a' } });
    expect(self.map((c) => c.constructor)).toEqual([KubeletCollector, LocalClusterWatch]);
    expect(build(NODE_ONLY).map((c) => c.constructor)).toEqual([KubeletCollector]);
  });

  it('refuses, naming the key: both at once, no node name, a URL that is not http(s)', () => {
    const deps = (values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => ({ config: resolveConfig(values, env), env, clock: systemClock, logger: silentLogger, index: undefined });
    expect(() => clusterTagsCollector(deps({ cluster_agent: { url: 'https://x:1' }, kubernetes: { enabled: true } }, { NODE_NAME: 'n' }))).toThrow(/^invalid config kubernetes.enabled: must be false when cluster_agent.url is set/);
    expect(() => clusterTagsCollector(deps({ cluster_agent: { url: 'https://x:1' } }))).toThrow(/^invalid config kubelet.node_name: must be set/);
    expect(() => clusterTagsCollector(deps({ cluster_agent: { url: 'tagger-cluster:8443' } }, { NODE_NAME: 'n' }))).toThrow(/^invalid config cluster_agent.url: must be https:\/\/host:port/);
    expect(() => clusterTagsCollector(deps({ cluster_agent: { url: 'https://x:1', ca_file: '/nonexistent/ca.pem' } }, { NODE_NAME: 'n' }))).toThrow(/^invalid config cluster_agent.ca_file: cannot read/);
  });
});

describe('which pods the API-server watch asks for, from the config', () => {
  let fake: FakeApiServer | undefined;
  afterEach(async () => fake?.close());

  /** Runs the config's cluster-tags collector against the fake until its four watches are open; the pod requests' field selectors. */
  async function podSelectors(values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<Array<string | null>> {
    fake = await FakeApiServer.start();
    loadRecordedCluster(fake);
    const all = build({ ...values, kubernetes: { ...(values.kubernetes as object), api_url: fake.url } }, env);
    const collector = all.find((c) => c instanceof LocalClusterWatch || c instanceof ClusterCollector);
    if (!collector?.run) throw new Error('the config made no API-server collector');
    const controller = new AbortController();
    const running = collector.run({ sink: { push: () => undefined }, clock: systemClock, logger: silentLogger, signal: controller.signal, knows: () => false, requestFetch: () => undefined, markSynced: () => undefined });
    const server = fake;
    await until(() => server.openWatches() === 4, 5_000, 'the four watches');
    controller.abort();
    await running;
    await Promise.all(all.map((c) => c.close?.()));
    return [...server.requestsFor('pods', false), ...server.requestsFor('pods', true)].map((r) => r.query.get('fieldSelector'));
  }

  it('a node with kubernetes.enabled lists and watches its own pods only; the cluster instance all pods', async () => {
    expect(await podSelectors({ ...NODE_ONLY, kubernetes: { enabled: true } }, { NODE_NAME: 'node-a' })).toEqual(['spec.nodeName=node-a', 'spec.nodeName=node-a']);
    await fake?.close();
    fake = undefined;
    expect(await podSelectors({ mode: 'cluster', kubernetes: {} })).toEqual([null, null]);
  });
});
