/** What the IPC benches and the replica-sync server process share. */
import type { TagInfo } from '../../src/types.js';

export const SYNC_TOKEN = 'a'.repeat(64);

export interface SyncServersReady {
  readonly type: 'ready';
  readonly ours: string;
  readonly bare: string;
  readonly bytes: number;
}

/** One container with 9 tags, a few shared by many (namespace, image), a few unique (IDs, names). */
export function syncBenchEntity(i: number): TagInfo {
  const hex = i.toString(16).padStart(64, '0');
  return {
    source: 'docker',
    entity: `container_id://${hex}`,
    low: ['docker_image:nginx:1.27', 'image_name:nginx', 'image_tag:1.27', 'kube_namespace:default', 'short_image:nginx', `kube_deployment:web-${i % 50}`],
    orchestrator: [`pod_name:web-${i % 50}-7d9f8c6b5-${(i % 997).toString(36)}`],
    high: [`container_id:${hex}`, `container_name:web-${i}`],
    standard: [],
  };
}
