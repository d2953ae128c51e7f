/**
 * Synthetic entities shaped like the kubelet and Docker fixtures: about 30 tags each, of which a
 * few are unique per entity (IDs, names) and the rest shared across many (namespace, image,
 * deployment). Every string is built per entity, as JSON.parse would give distinct copies.
 */
import type { TagInfo } from '../../src/types.js';

export function containerId(i: number): string {
  return `container_id://${i.toString(16).padStart(8, '0')}${'f'.repeat(56)}`;
}

export function dockerInfo(i: number, generation = 0): TagInfo {
  const app = `app-${i % 200}`;
  const image = `registry.example.com:5000/team-${i % 20}/${app}`;
  const low = [
    `docker_image:${image}:1.${i % 7}.${generation}`,
    `image_name:${image}`,
    `short_image:${app}`,
    `image_tag:1.${i % 7}.${generation}`,
    `env:${i % 3 === 0 ? 'prod' : 'staging'}`,
    `service:${app}`,
    `version:1.${i % 7}`,
    `compose_project:proj-${i % 50}`,
    `compose_service:${app}`,
    `runtime:docker`,
  ];
  return {
    source: 'docker',
    entity: containerId(i),
    low,
    orchestrator: [],
    high: [`container_name:${app}-${i}-${generation}`, `container_id:${i.toString(16).padStart(8, '0')}${'f'.repeat(56)}`],
    standard: low.slice(4, 7),
  };
}

export function kubeletInfo(i: number): TagInfo {
  const ns = `namespace-${i % 10}`;
  const deploy = `deploy-${i % 100}`;
  const low = [
    `kube_namespace:${ns}`,
    `pod_phase:running`,
    `kube_deployment:${deploy}`,
    `kube_replica_set:${deploy}-7d4b9c6f5d`,
    `kube_ownerref_kind:replicaset`,
    `kube_qos:Burstable`,
    `kube_container_name:main`,
    `kube_app_name:${deploy}`,
    `kube_app_instance:${deploy}-prod`,
    `kube_app_part_of:shop`,
    `kube_app_managed_by:helm`,
    `kube_priority_class:normal`,
    `image_name:registry.example.com:5000/team-${i % 20}/app-${i % 200}`,
    `short_image:app-${i % 200}`,
    `image_tag:1.${i % 7}.0`,
    `cluster_name:prod-eu`,
  ];
  return {
    source: 'kubelet',
    entity: containerId(i),
    low,
    orchestrator: [`pod_name:${deploy}-7d4b9c6f5d-${(i * 7919).toString(36).slice(-5)}`, `kube_ownerref_name:${deploy}-7d4b9c6f5d`],
    high: [`display_container_name:main_${deploy}-${i}`],
    standard: [],
  };
}
