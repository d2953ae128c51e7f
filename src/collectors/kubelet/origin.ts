/**
 * What origin detection needs of a pod from kubelet's `/pods`, pure: its containers by name and
 * kind (init containers included, for external data's `it-true`), each with the entity the
 * runtime gave it, and the pod's own addresses (`status.podIPs`, else `status.podIP`). A
 * host-network pod's address is the node's, shared with every other host-network pod: it has none
 * of its own, so an IP never resolves to it.
 */
import { containerEntityId, CONTAINER_PREFIX } from '../../entity.js';
import type { EntityId } from '../../types.js';
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

/**
 * For each running container of a pod, where the kubelet puts its cgroup directory (relative to
 * the hierarchy's root), for a node where no runtime collector reports its PID (CRI-O): the pod's
 * slice or folder by QoS class and UID, then the runtime's scope (systemd driver) or the bare ID
 * (cgroupfs driver). Both drivers are listed, the pod's own class first; the resolver stats them
 * in order. Only containers with a `running` state: a waiting one has no directory yet.
 */
export function containerCgroupPaths(raw: unknown): Map<EntityId, readonly string[]> {
  const out = new Map<EntityId, readonly string[]>();
  if (!isRecord(raw) || !isRecord(raw.metadata) || typeof raw.metadata.uid !== 'string') return out;
  const uid = raw.metadata.uid;
  if (!/^[A-Za-z0-9-]+$/.test(uid)) return out;
  const status = isRecord(raw.status) ? raw.status : {};
  const qos = typeof status.qosClass === 'string' ? status.qosClass.toLowerCase() : '';
  const classes = QOS_CLASSES.includes(qos) ? [qos] : QOS_CLASSES;
  for (const [list] of STATUS_LISTS) {
    for (const cs of arrayOf(status[list])) {
      if (!isRecord(cs) || typeof cs.containerID !== 'string' || !isRecord(cs.state) || !isRecord(cs.state.running)) continue;
      const sep = cs.containerID.indexOf('://');
      const runtime = sep > 0 ? cs.containerID.slice(0, sep) : '';
      const id = sep > 0 ? cs.containerID.slice(sep + 3) : cs.containerID;
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const scope = SCOPE_PREFIX[runtime];
      const paths: string[] = [];
      for (const qosClass of classes) {
        if (scope !== undefined) paths.push(`${systemdPodSlice(qosClass, uid)}/${scope}${id}.scope`);
        paths.push(`${cgroupfsPodDir(qosClass, uid)}/${id}`);
      }
      out.set(containerEntityId(id), paths);
    }
  }
  return out;
}

/** Guaranteed pods sit directly under kubepods; the other classes under a folder of their own. */
const QOS_CLASSES: readonly string[] = ['guaranteed', 'burstable', 'besteffort'];

/** The systemd scope each CRI runtime makes for a container (`<prefix><id>.scope`). */
const SCOPE_PREFIX: Readonly<Record<string, string>> = { 'cri-o': 'crio-', crio: 'crio-', containerd: 'cri-containerd-', docker: 'docker-' };

/** `/kubepods.slice[/kubepods-<class>.slice]/kubepods[-<class>]-pod<uid, _ for ->.slice` */
function systemdPodSlice(qosClass: string, uid: string): string {
  const escaped = uid.replaceAll('-', '_');
  if (qosClass === 'guaranteed') return `/kubepods.slice/kubepods-pod${escaped}.slice`;
  return `/kubepods.slice/kubepods-${qosClass}.slice/kubepods-${qosClass}-pod${escaped}.slice`;
}

/** `/kubepods[/<class>]/pod<uid>` */
function cgroupfsPodDir(qosClass: string, uid: string): string {
  return qosClass === 'guaranteed' ? `/kubepods/pod${uid}` : `/kubepods/${qosClass}/pod${uid}`;
}
