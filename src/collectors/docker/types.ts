/**
 * The Docker Engine API payloads this collector reads, reduced to the fields it uses. Podman's
 * Docker-compatible service sends the same shapes. Every field is optional because daemons of
 * different versions leave different ones out; the decoders in decode.ts check types.
 */

/** `GET /version` */
export interface DockerVersion {
  readonly Version?: string;
  readonly ApiVersion?: string;
  readonly MinAPIVersion?: string;
  readonly Os?: string;
  readonly Components?: ReadonlyArray<{ readonly Name?: string; readonly Version?: string }>;
}

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly Image: string;
  readonly ImageID: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly State: string;
}

/** `GET /containers/{id}/json` */
export interface ContainerInspect {
  readonly Id: string;
  /** With Docker's leading slash: `/web-1`. */
  readonly Name: string;
  /** The image ID (`sha256:…`). */
  readonly Image: string;
  readonly Config: {
    /** The image as the user named it (or an ID when created from one). */
    readonly Image: string;
    readonly Labels: Readonly<Record<string, string>>;
    readonly Env: readonly string[];
  };
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly Restarting: boolean;
    readonly Paused: boolean;
    /** The init process's PID on the host; 0 when not running. Absent when the daemon left it out. */
    readonly Pid?: number;
  };
  /** `bridge`, `host`, `none`, `container:<id>`, a user network's name (read by origin.ts). */
  readonly HostConfig?: { readonly NetworkMode: string };
  /** The container's own addresses, per network (read by origin.ts). */
  readonly NetworkSettings?: {
    readonly IPAddress: string;
    readonly GlobalIPv6Address: string;
    readonly Networks: Readonly<Record<string, { readonly IPAddress: string; readonly GlobalIPv6Address: string }>>;
  };
}

/** One decoded line of `GET /events`. */
export interface DockerEvent {
  /** `container`, `image`, `network`... */
  readonly type: string;
  /** The action without its detail: `health_status: healthy` gives `health_status`. */
  readonly action: string;
  /** What followed `: ` in the action, if anything. */
  readonly detail?: string;
  /** Actor.ID: the container ID for container events. */
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Nanoseconds since the epoch, exact (read from the raw text, not through a double). */
  readonly timeNano?: bigint;
}
