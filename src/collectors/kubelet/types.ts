/**
 * The parts of kubelet's `GET /pods` body (a v1 PodList) that the collector reads. Everything is
 * optional: the body is untrusted JSON, and extraction checks each field's type before use.
 */

export interface KubeOwnerReference {
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly controller?: unknown;
}

export interface KubeEnvVar {
  readonly name?: unknown;
  /** Absent for `valueFrom` variables, whose values kubelet does not resolve in /pods. */
  readonly value?: unknown;
}

/** A container, init container or ephemeral container of the pod spec. */
export interface KubeContainerSpec {
  readonly name?: unknown;
  readonly image?: unknown;
  readonly env?: unknown;
}

export interface KubeContainerStatus {
  readonly name?: unknown;
  readonly image?: unknown;
  /** `<runtime>://<id>`; absent until the runtime has created the container. */
  readonly containerID?: unknown;
  readonly lastState?: { readonly terminated?: { readonly containerID?: unknown } };
}

export interface KubeVolume {
  readonly name?: unknown;
  readonly persistentVolumeClaim?: { readonly claimName?: unknown };
}

export interface KubePodMetadata {
  readonly name?: unknown;
  readonly namespace?: unknown;
  readonly uid?: unknown;
  readonly labels?: unknown;
  readonly annotations?: unknown;
  readonly ownerReferences?: unknown;
}

export interface KubePodSpec {
  readonly containers?: unknown;
  readonly initContainers?: unknown;
  readonly ephemeralContainers?: unknown;
  readonly volumes?: unknown;
  readonly priorityClassName?: unknown;
}

export interface KubePodStatus {
  readonly phase?: unknown;
  readonly qosClass?: unknown;
  readonly containerStatuses?: unknown;
  readonly initContainerStatuses?: unknown;
  readonly ephemeralContainerStatuses?: unknown;
}

export interface KubePod {
  readonly metadata?: KubePodMetadata;
  readonly spec?: KubePodSpec;
  readonly status?: KubePodStatus;
}

/** The decoded body: `items` is checked to be an array; each item may still be anything. */
export interface KubePodList {
  readonly kind?: unknown;
  readonly items: readonly unknown[];
}
