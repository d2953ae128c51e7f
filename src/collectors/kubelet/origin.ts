/**
 * What origin detection needs of a pod from kubelet's `/pods`, pure: its containers by name and
 * kind (init containers included, for external data's `it-true`), each with the entity the
 * runtime gave it, and the pod's own addresses (`status.podIPs`, else `status.podIP`). A
 * host-network pod's address is the node's, shared with every other host-network pod: it has none
 * of its own, so an IP never resolves to it.
 */
import { containerEntityId, CONTAINER_PREFIX } from '../../entity.js';
import { canonicalIp } from '../../origin/parse.js';
import type { OriginFacts, PodContainerFact, PodContainerKind } from '../../origin/types.js';
import { arrayOf, isRecord } from '../json-fields.js';

const STATUS_LISTS: ReadonlyArray<readonly [string, PodContainerKind]> = [
  ['containerStatuses', 'regular'],
  ['initContainerStatuses', 'init'],
  ['ephemeralContainerStatuses', 'ephemeral'],
];

/** The origin facts of one `/pods` item (the pod entity's), or undefined when it has none. */
export function podOrigin(raw: unknown): OriginFacts | undefined {
  if (!isRecord(raw)) return undefined;
  const status = isRecord(raw.status) ? raw.status : {};
  const podContainers: PodContainerFact[] = [];
  for (const [list, kind] of STATUS_LISTS) {
    for (const cs of arrayOf(status[list])) {
      if (!isRecord(cs) || typeof cs.name !== 'string' || cs.name === '' || typeof cs.containerID !== 'string') continue;
      const entity = containerEntityId(cs.containerID);
      if (entity !== CONTAINER_PREFIX) podContainers.push({ name: cs.name, kind, entity });
    }
  }
  const ips = hostNetwork(raw) ? [] : podAddresses(status);
  if (podContainers.length === 0 && ips.length === 0) return undefined;
  return { ...(podContainers.length > 0 ? { podContainers } : {}), ...(ips.length > 0 ? { ips } : {}) };
}

/** What podOrigin reads beyond what the tag fingerprint covers (statuses are in both): a change must be pushed. */
export function podOriginFingerprint(raw: unknown): string {
  if (!isRecord(raw)) return '';
  const status = isRecord(raw.status) ? raw.status : {};
  return JSON.stringify([hostNetwork(raw), status.podIP, status.podIPs]);
}

function hostNetwork(raw: Record<string, unknown>): boolean {
  return isRecord(raw.spec) && raw.spec.hostNetwork === true;
}

function podAddresses(status: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const entry of arrayOf(status.podIPs)) {
    const ip = isRecord(entry) && typeof entry.ip === 'string' ? canonicalIp(entry.ip) : undefined;
    if (ip !== undefined) out.add(ip);
  }
  if (out.size === 0 && typeof status.podIP === 'string') {
    const ip = canonicalIp(status.podIP);
    if (ip !== undefined) out.add(ip);
  }
  return [...out];
}
