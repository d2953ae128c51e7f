/**
 * What the containerd client returns, already decoded: the collector and the extractor see
 * these plain shapes, never gRPC objects.
 */

/** One container as Containers.Get / List describe it, with the env read from its OCI spec. */
export interface ContainerRecord {
  readonly namespace: string;
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The image reference (`docker.io/library/redis:7`), empty when created without one. */
  readonly image: string;
  /** `process.env` of the OCI spec (`KEY=value`); empty when the spec was skipped. */
  readonly env: readonly string[];
  /** Why env is empty although a spec may exist: too large for the cap, or not JSON. */
  readonly specSkipped?: 'too_large' | 'undecodable';
}

export type TaskStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING';

/** A container's init process (its "task"). */
export interface TaskRecord {
  readonly containerId: string;
  readonly pid: number;
  readonly status: TaskStatus;
  readonly exitStatus: number;
  /** Epoch ms; undefined while running. */
  readonly exitedAt?: number | undefined;
}

/** The events the collector acts on, decoded from the Envelope's Any. */
export type ContainerdEvent =
  | { readonly kind: 'container-create' | 'container-update' | 'container-delete'; readonly id: string }
  | { readonly kind: 'task-start'; readonly containerId: string; readonly pid: number }
  | {
      readonly kind: 'task-exit' | 'task-delete';
      readonly containerId: string;
      /** The exec ID, or the container's ID (exit) / empty (delete) for the init process. */
      readonly processId: string;
      readonly pid: number;
      readonly exitStatus: number;
      readonly exitedAt: number | undefined;
    }
  | { readonly kind: 'task-other'; readonly type: string; readonly containerId: string }
  | { readonly kind: 'other'; readonly type: string };

export interface EventEnvelope {
  readonly namespace: string;
  readonly topic: string;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly event: ContainerdEvent;
}
