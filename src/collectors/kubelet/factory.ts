/**
 * The registry's entry for the kubelet: `kubelet.url` (default https on NODE_IP / HOST_IP /
 * localhost, port 10250), `kubelet.token_file`, `kubelet.ca_file`, `kubelet.tls_verify`,
 * `kubelet.poll_interval`, and the pod label / annotation rules (compiled here, so a bad rule
 * fails at start naming its key).
 */
import type { CollectorFactory } from '../factory.js';
import { KubeletClient, defaultKubeletUrl } from './client.js';
import { KubeletCollector } from './collector.js';
import { kubeletExtractOptions } from './extract.js';

export const kubeletCollectorFactory: CollectorFactory = {
  name: 'kubelet',
  enabled: (config) => config.kubelet.enabled,
  create: ({ config, env }, autodetect) =>
    new KubeletCollector({
      client: new KubeletClient({
        url: config.kubelet.url || defaultKubeletUrl(env),
        tokenFile: config.kubelet.token_file,
        caFile: config.kubelet.ca_file,
        tlsVerify: config.kubelet.tls_verify,
        // A big node's PodList takes a while; never wait longer than one interval plus slack.
        timeoutMs: Math.max(5_000, Math.min(30_000, config.kubelet.poll_interval * 2)),
      }),
      extract: kubeletExtractOptions({
        labels: config.kubelet.pod_labels_as_tags,
        annotations: config.kubelet.pod_annotations_as_tags,
        persistentVolumeClaims: config.kubelet.persistent_volume_claims_as_tags,
      }),
      pollIntervalMs: config.kubelet.poll_interval,
      autodetect,
    }),
};
