/**
 * The API-server collector from the config: where the API server is (`kubernetes.api_url`, or
 * in-cluster from KUBERNETES_SERVICE_HOST / _PORT and the service account), its token and CA
 * (`kubernetes.token_file`, `kubernetes.ca_file`, `kubernetes.tls_verify`), the namespace rules
 * (compiled here, so a bad one fails at start naming its key), `cluster_name` and
 * `kubernetes.kube_service_ignore_readiness`. A cluster instance runs it (mode: cluster), and so
 * does a small cluster's node daemon with `kubernetes.enabled: true`.
 */
import type { TaggerConfig } from '../../config.js';
import { KubeApiClient, resolveApiEndpoint } from './client.js';
import { ClusterCollector } from './collector.js';
import { compileClusterRules } from './extract.js';

export function clusterCollectorFromConfig(config: TaggerConfig, env: NodeJS.ProcessEnv): ClusterCollector {
  const k = config.kubernetes;
  const endpoint = resolveApiEndpoint({ apiUrl: k.api_url, tokenFile: k.token_file, caFile: k.ca_file, tlsVerify: k.tls_verify }, env);
  return new ClusterCollector({
    source: new KubeApiClient(endpoint),
    rules: compileClusterRules({ namespaceLabels: k.namespace_labels_as_tags, namespaceAnnotations: k.namespace_annotations_as_tags }),
    clusterName: config.cluster_name,
    ignoreReadiness: k.kube_service_ignore_readiness,
  });
}
