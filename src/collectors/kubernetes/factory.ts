/**
 * The cluster collector from the config (`kubernetes.enabled` on a node, default false: one cluster
 * instance should watch the API server, not every node; see cluster-agent/factory.ts). `true` needs the API server to be found
 * (in a pod, or `kubernetes.api_url`), else a ConfigError naming `kubernetes.api_url`; `auto`
 * starts it only when it is found. The namespace rules are compiled here, so a bad rule fails at
 * start naming its key.
 */
import type { CollectorDeps } from '../factory.js';
import { KubeApiClient, resolveApiEndpoint, type KubeApiEndpoint } from './client.js';
import { ClusterCollector, type PodScope } from './collector.js';
import { compileClusterRules } from './extract.js';

/**
 * The cluster collector itself: what a cluster instance runs (`mode: cluster`, never autodetected,
 * `podScope: 'cluster'`) and what a node daemon with `kubernetes.enabled` wraps
 * (cluster-agent/local-watch.ts, `podScope: { node: kubelet.node_name }`: that node's pods only).
 */
export function clusterCollectorFromConfig({ config, env }: Pick<CollectorDeps, 'config' | 'env'>, autodetect: boolean, podScope: PodScope): ClusterCollector {
  const k = config.kubernetes;
  const settings = { apiUrl: k.api_url, tokenFile: k.token_file, caFile: k.ca_file, tlsVerify: k.tls_verify };
  let endpoint: KubeApiEndpoint | undefined;
  let notFound = '';
  try {
    endpoint = resolveApiEndpoint(settings, env);
  } catch (error) {
    if (!autodetect) throw error;
    notFound = error instanceof Error ? error.message : String(error);
  }
  const rules = compileClusterRules({ namespaceLabels: k.namespace_labels_as_tags, namespaceAnnotations: k.namespace_annotations_as_tags });
  return new ClusterCollector({
    // Not found under auto: detect() says so and the source is never asked.
    source: new KubeApiClient(endpoint ?? { url: 'https://kubernetes.default.svc', tokenFile: settings.tokenFile, caFile: settings.caFile, tlsVerify: k.tls_verify }),
    rules,
    clusterName: config.cluster_name,
    ignoreReadiness: k.kube_service_ignore_readiness,
    podScope,
    ...(autodetect ? { detect: () => Promise.resolve(endpoint ? { available: true as const } : { available: false as const, reason: notFound }) } : {}),
  });
}
