/**
 * Which container a process runs in, from the text of its /proc/<pid>/cgroup (cgroup v1 and v2)
 * or, when that says nothing (a cgroup namespace hides the path), its /proc/<pid>/mountinfo.
 * Pure: callers read the files.
 */

const HEX64 = '[0-9a-f]{64}';
/**
 * The last path segment of a container's cgroup: the bare ID (`/docker/<id>`, `/kubepods/.../<id>`)
 * or a systemd scope (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`,
 * `libpod-<id>.scope`).
 */
const SEGMENT = new RegExp(`^(?:[a-z-]+-)?(${HEX64})(?:\\.scope)?$`);
/** ECS on Fargate: `/ecs/<task id>/<32 hex>-<digits>`. */
const FARGATE = /^\/ecs\/[0-9a-f]{32}\/([0-9a-f]{32}-\d+)$/;

/**
 * The container ID in a /proc/<pid>/cgroup text, or null. Under cgroup v1 the `cpu` controller's
 * line decides (other controllers may be unset for a container); under v2 the single `0::` line.
 */
export function containerIdFromCgroup(text: string): string | null {
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const hierarchy = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (hierarchy === '0' && controllers === '') v2 = path;
    else if (controllers.split(',').includes('cpu')) return idFromPath(path);
  }
  return v2 === null ? null : idFromPath(v2);
}

function idFromPath(path: string): string | null {
  const fargate = FARGATE.exec(path);
  if (fargate) return fargate[1] ?? null;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return SEGMENT.exec(last)?.[1] ?? null;
}

/**
 * The container ID in a /proc/<pid>/mountinfo text, or null: container runtimes bind-mount the
 * container's own hostname, hosts and resolv.conf from `.../containers/<id>/`.
 */
export function containerIdFromMountinfo(text: string): string | null {
  const pattern = new RegExp(`/containers/(${HEX64})/(?:hostname|hosts|resolv\\.conf)$`);
  for (const line of text.split('\n')) {
    // Field 4 is the mount's root within its filesystem.
    const root = line.split(' ')[3];
    if (!root) continue;
    const m = pattern.exec(root);
    if (m) return m[1] ?? null;
  }
  return null;
}

/** Which cgroup directory DogStatsD clients stat for their `in-<inode>`: the memory controller's on v1 and hybrid hosts, the unified one on v2. */
export type CgroupHierarchy = 'memory' | 'unified';

/**
 * The cgroup path of a process in one hierarchy, from its /proc/<pid>/cgroup text, or null: the
 * `memory` controller's line (cgroup v1, and hybrid hosts where the v2 tree has no controllers),
 * or the `0::` line (cgroup v2). The path is relative to the reader's cgroup namespace: one that
 * climbs out of it (`/../..`) is the caller's to handle.
 */
export function cgroupPathOf(text: string, hierarchy: CgroupHierarchy): string | null {
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const matches = hierarchy === 'unified' ? line.slice(0, first) === '0' && controllers === '' : controllers.split(',').includes('memory');
    if (matches) return line.slice(second + 1).trim() || null;
  }
  return null;
}
