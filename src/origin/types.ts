/**
 * Origin detection's vocabulary: what a sender of telemetry is known by (an origin), what the
 * collectors report that lets the tagger find it (origin facts), and the answer.
 */
import type { EntityId } from '../types.js';

/**
 * One origin, as `/v1/origin` and `Tagger.resolveOrigin` take it. Exactly one form: a process, a
 * cgroup directory's inode, a container ID in any accepted spelling, the Datadog admission
 * controller's external data, a pod UID with a container name, or a pod's or container's own IP.
 */
export type Origin =
  | { readonly pid: number }
  | { readonly cgroupInode: number }
  | { readonly containerId: string }
  | { readonly externalData: string }
  | { readonly podUid: string; readonly containerName?: string }
  | { readonly ip: string };

/** An origin after validation, tagged by its form (the parsers produce these). */
export type ParsedOrigin =
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'cgroup_inode'; readonly inode: number }
  | { readonly kind: 'container_id'; readonly containerId: string }
  | { readonly kind: 'pod_container'; readonly podUid: string; readonly containerName: string | undefined; readonly init: boolean | undefined }
  | { readonly kind: 'ip'; readonly ip: string };

/** What an origin resolved to: the canonical container ID (null when only a pod or task is known) and the entity. */
export interface OriginResolution {
  readonly containerId: string | null;
  readonly entity: EntityId;
}

/** Which list of a pod's spec a container belongs to (external data's `it-true` picks init containers). */
export type PodContainerKind = 'regular' | 'init' | 'ephemeral';

export interface PodContainerFact {
  readonly name: string;
  readonly kind: PodContainerKind;
  /** The container's entity, once the runtime has created it. */
  readonly entity: EntityId;
}

/**
 * What a source knows of an entity that lets origins find it, sent with the entity's TagInfo (and,
 * like its tags, replacing what that source said before). Made by each collector's pure
 * origin-extract; the tagger's origin index keeps it while the store keeps the entity.
 */
export interface OriginFacts {
  /** The host PID of the container's init process (0 or absent when not running): its cgroup gives the inode. */
  readonly pid?: number;
  /**
   * Where the container's cgroup directory may be, relative to the cgroup hierarchy's root, from a
   * source that knows no PID (the kubelet, from the pod's UID and QoS class and the runtime's ID):
   * the first that exists gives the inode, while no source reports a PID.
   */
  readonly cgroupPaths?: readonly string[];
  /** The entity's own addresses (never a host-network pod's or container's), canonical text form. */
  readonly ips?: readonly string[];
  /** For a pod entity: its containers by name. */
  readonly podContainers?: readonly PodContainerFact[];
}
