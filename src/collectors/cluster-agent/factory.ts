/**
 * A node daemon's cluster tags, from the config: with `cluster_agent.url`, a follower of the
 * cluster instance (its `/v1/stream?node=<kubelet.node_name>` over HTTPS with the shared token);
 * with `kubernetes.enabled: true`, the API-server collector run on the node itself. Either puts
 * the tags on the pods of this node and on their containers, which the node's kubelet collector
 * lists (`index`; none without one). Neither: no cluster tags.
 */
import type { TaggerConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { INTERNAL_PREFIX, POD_PREFIX } from '../../entity.js';
import { loadClientTls } from '../../ipc/tls.js';
import type { Logger } from '../../logger.js';
import { BackoffPresets } from '../../net/backoff.js';
import { RemoteTagger } from '../../tagger/remote-tagger.js';
import type { Clock } from '../../clock.js';
import type { Collector } from '../collector.js';
import { clusterCollectorFromConfig } from '../kubernetes/factory.js';
import { ClusterAgentCollector } from './collector.js';
import { LocalClusterWatch } from './local-watch.js';
import type { PodContainerIndex } from './ports.js';
import { NO_CONTAINERS } from './ports.js';

export interface ClusterTagsDeps {
  readonly config: TaggerConfig;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The node's pod -> containers (its kubelet collector), if it has one. */
  readonly index: PodContainerIndex | undefined;
}

/** The node's cluster-tags collector, or undefined when the config asks for none. */
export function clusterTagsCollector(deps: ClusterTagsDeps): Collector | undefined {
  const { config } = deps;
  const url = config.cluster_agent.url.trim();
  const watch = config.kubernetes.enabled !== 'false';
  if (!url && !watch) return undefined;
  if (url && watch) throw new ConfigError('kubernetes.enabled', 'must be false when cluster_agent.url is set: a node either follows a cluster instance or watches the API server itself');
  const node = config.kubelet.node_name.trim();
  if (!node) throw new ConfigError('kubelet.node_name', `must be set (or the NODE_NAME variable) when ${url ? 'cluster_agent.url' : 'kubernetes.enabled'} is: it picks this node's pods`);
  const index = deps.index ?? NO_CONTAINERS;
  // `auto` watches only where the API server is found (in a pod, or kubernetes.api_url). Only this
  // node's pods are listed and watched (the node name is known: refused above otherwise).
  if (watch) return new LocalClusterWatch({ inner: clusterCollectorFromConfig(deps, config.kubernetes.enabled === 'auto', { node }), index, node });
  if (!/^https?:\/\//i.test(url)) throw new ConfigError('cluster_agent.url', `must be https://host:port, got ${JSON.stringify(url)}`);
  const secure = /^https:/i.test(url);
  const feed = new RemoteTagger({
    address: url,
    authTokenFile: config.cluster_agent.auth_token_file,
    node,
    prefixes: [POD_PREFIX, INTERNAL_PREFIX],
    clock: deps.clock,
    backoff: BackoffPresets.clusterAgent,
    logger: deps.logger.child({ component: 'cluster-agent' }),
    ...(secure ? { tls: loadClientTls({ caFile: config.cluster_agent.ca_file, verify: config.cluster_agent.tls_verify }, 'cluster_agent.ca_file') } : {}),
  });
  return new ClusterAgentCollector({ feed, index, target: url });
}
