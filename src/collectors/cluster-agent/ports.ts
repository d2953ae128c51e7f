/**
 * What the cluster-tag pieces need of the collectors around them, as small ports: the node's
 * pod -> containers (the kubelet collector), and where each pod runs (the Kubernetes API-server
 * collector, which the cluster instance serves from and a small cluster's node runs itself).
 */
import type { EntityId } from '../../types.js';
import type { Collector } from '../collector.js';

/** Which containers each pod of this node has (the kubelet collector implements it). */
export interface PodContainerIndex {
  /** The container entities of a pod (its UID, no `kubernetes_pod_uid://`), or none. */
  containersOf(podUid: string): readonly EntityId[];
  /** Calls `listener` with the pods whose containers changed; returns the unsubscribe. */
  onPodsChanged(listener: (podUids: readonly string[]) => void): () => void;
}

/** The index of a node without a kubelet: pods only. */
export const NO_CONTAINERS: PodContainerIndex = { containersOf: () => [], onPodsChanged: () => () => undefined };

/** Which node each pod runs on, as the API-server watch knows it. */
export interface PodPlacement {
  /** The node a pod (its UID) is scheduled on; undefined when unknown or not scheduled yet. */
  nodeOf(podUid: string): string | undefined;
  /** Calls `listener` with pods whose node changed; returns the unsubscribe. */
  onPlacementChanged?(listener: (podUids: readonly string[]) => void): () => void;
}

/**
 * The API-server collector (source `cluster`): pushes one TagInfo per pod
 * (`kubernetes_pod_uid://<uid>`: kube_service, namespace tags) and the global entity's tags.
 */
export type ClusterMetadataCollector = Collector & PodPlacement;
