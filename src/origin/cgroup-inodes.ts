/**
 * The inode of a container's cgroup directory, as a DogStatsD client inside it sends it
 * (`in-<inode>`): the client stats its own cgroup directory, the memory controller's on a cgroup
 * v1 or hybrid host, the unified one on a v2 host. The tagger does the same for a container's
 * init PID once, when a runtime first reports it running, so that resolving an inode later is a
 * map lookup; it never walks the cgroup tree. A container no runtime collector reports (the
 * kubelet alone, on a CRI-O node) has no PID here: its directory is found among the few paths the
 * kubelet's cgroup layout gives it instead (collectors/kubelet/origin.ts).
 *
 * In a container (the daemon's image), the host's tree is found at `/host/sys/fs/cgroup` when
 * mounted there, else at `/sys/fs/cgroup` (enough with `--cgroupns host` on v2); see
 * docs/origin-detection.md.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { cgroupPathOf, type CgroupHierarchy } from '../ipc/origin.js';

export interface CgroupInodeOptions {
  /** Where /proc is (default `/proc`: the host's with `--pid host`). */
  readonly procRoot?: string;
  /** The cgroup mount to stat in (default: `/host/sys/fs/cgroup` when present, else `/sys/fs/cgroup`). */
  readonly cgroupRoot?: string;
}

/** Inodes 1 and 2 are a cgroup tree's root: a process there is no container, as the Agent also reads them. */
const MIN_CONTAINER_INODE = 3;

export class CgroupInodeReader {
  readonly procRoot: string;
  readonly cgroupRoot: string;
  private layout: { hierarchy: CgroupHierarchy; dir: string } | null | undefined;

  constructor(options: CgroupInodeOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.cgroupRoot = options.cgroupRoot ?? (existsSync('/host/sys/fs/cgroup') ? '/host/sys/fs/cgroup' : '/sys/fs/cgroup');
  }

  /**
   * Which hierarchy clients stat, and where it is mounted here: unified when the root is itself a
   * cgroup2 mount, else the v1 memory controller (hybrid hosts too). Null when neither is there.
   */
  hierarchy(): { hierarchy: CgroupHierarchy; dir: string } | null {
    if (this.layout === undefined) {
      if (existsSync(`${this.cgroupRoot}/cgroup.controllers`)) this.layout = { hierarchy: 'unified', dir: this.cgroupRoot };
      else if (existsSync(`${this.cgroupRoot}/memory`)) this.layout = { hierarchy: 'memory', dir: `${this.cgroupRoot}/memory` };
      else this.layout = null;
    }
    return this.layout;
  }

  /** The inode of the cgroup directory of `pid`, or undefined (no such process, no cgroup tree, a root cgroup). */
  async inodeOfPid(pid: number): Promise<number | undefined> {
    const layout = this.hierarchy();
    if (!layout) return undefined;
    let text: string;
    try {
      text = await readFile(`${this.procRoot}/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
    const path = cgroupPathOf(text, layout.hierarchy);
    if (path === null) return undefined;
    return inodeOf(await statOrUndefined(this.directoryFor(pid, path, layout)));
  }

  /**
   * The inode of the first of `paths` (relative to the hierarchy's root) that is a directory here:
   * a few stats for a container whose PID no source knows (see OriginFacts.cgroupPaths).
   */
  async inodeOfPaths(paths: readonly string[]): Promise<number | undefined> {
    const layout = this.hierarchy();
    if (!layout) return undefined;
    for (const path of paths) {
      if (!path.startsWith('/') || path.split('/').includes('..')) continue;
      const st = await stat(`${layout.dir}${path}`).catch(() => undefined);
      const inode = st?.isDirectory() ? inodeOf(st) : undefined;
      if (inode !== undefined) return inode;
    }
    return undefined;
  }

  /** As inodeOfPid, at once, given the text of the process's /proc/<pid>/cgroup (a query that has read it already). */
  inodeOfCgroupSync(pid: number, cgroupText: string): number | undefined {
    const layout = this.hierarchy();
    const path = layout ? cgroupPathOf(cgroupText, layout.hierarchy) : null;
    if (!layout || path === null) return undefined;
    try {
      return inodeOf(statSync(this.directoryFor(pid, path, layout)));
    } catch {
      return undefined;
    }
  }

  /**
   * A path that climbs out of our cgroup namespace (the daemon in a container with its own
   * namespace) cannot be found in our mount; the process's own view of its tree, through
   * /proc/<pid>/root, is its cgroup directory when it has a namespace of its own (which is when
   * its clients send inodes at all). Its root, otherwise: refused by the inode check.
   */
  private directoryFor(pid: number, path: string, layout: { hierarchy: CgroupHierarchy; dir: string }): string {
    if (!path.startsWith('/..')) return `${layout.dir}${path === '/' ? '' : path}`;
    return `${this.procRoot}/${pid}/root/sys/fs/cgroup${layout.hierarchy === 'memory' ? '/memory' : ''}`;
  }
}

async function statOrUndefined(path: string): Promise<{ ino: number } | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

function inodeOf(st: { ino: number } | undefined): number | undefined {
  return st !== undefined && st.ino >= MIN_CONTAINER_INODE && Number.isSafeInteger(st.ino) ? st.ino : undefined;
}
