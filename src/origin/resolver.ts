/**
 * Origin resolution for a tagger that has the collectors' facts (the local tagger, the daemon):
 * the origin index fed beside the store, the cgroup inode lookups it asks for, and the one
 * resolve() that /v1/origin and Tagger.resolveOrigin share. Every form is a map lookup, except a
 * PID seen for the first time in a second, which costs a read of /proc/<pid>/cgroup (procfs, no
 * disk) and, when its path names no container ID, a stat of its cgroup directory.
 */
import { readFileSync } from 'node:fs';
import { boundedCache, type BoundedCache } from '../bounded-cache.js';
import { CONTAINER_PREFIX } from '../entity.js';
import { causeMessage } from '../errors.js';
import { containerIdFromCgroup, containerIdFromMountinfo } from '../ipc/origin.js';
import { silentLogger, type Logger } from '../logger.js';
import type { EntityId, TagInfo } from '../types.js';
import { CgroupInodeReader, type CgroupInodeOptions } from './cgroup-inodes.js';
import { OriginIndex, type StoreView } from './origin-index.js';
import type { OriginResolution, ParsedOrigin } from './types.js';

/** What resolution needs of the store. */
export interface OriginStore extends StoreView {
  resolveShortId(short: string): EntityId | undefined;
}

/** An origin's answer, or, when there is none, the container it names that the store does not know (yet). */
export type OriginLookup = { readonly found: OriginResolution } | { readonly found: undefined; readonly candidate: EntityId | undefined };

export interface OriginResolverOptions extends CgroupInodeOptions {
  readonly logger?: Logger;
  /** How long a PID's container is remembered (default 1 s, as the Agent's PID lookups); 0 reads /proc every time. */
  readonly pidCacheMs?: number;
}

/**
 * A PID's container as /proc last showed it: its entity (the store may not have it yet), or none.
 * Kept briefly: /proc costs a read and often a stat (~100 µs each on a loaded host), and a sender
 * sends many packets a second; a PID reused within the TTL may be named for its predecessor's
 * container, as in the Agent.
 */
type PidMemo = { readonly entity: EntityId | undefined };

export class OriginResolver {
  readonly index: OriginIndex;
  readonly inodes: CgroupInodeReader;
  private readonly logger: Logger;
  /** Inode lookups in flight, so that stop() can wait for them (tests). */
  private readonly pending = new Set<Promise<void>>();
  private readonly pids: BoundedCache<number, PidMemo> | undefined;

  constructor(
    private readonly store: OriginStore,
    options: OriginResolverOptions = {},
  ) {
    this.index = new OriginIndex(store);
    this.inodes = new CgroupInodeReader(options);
    this.logger = options.logger ?? silentLogger;
    const ttl = options.pidCacheMs ?? 1_000;
    this.pids = ttl > 0 ? boundedCache<number, PidMemo>({ max: 10_000, ttlMs: ttl }) : undefined;
  }

  /**
   * Takes a batch the store has just processed; looks up the cgroup inode of each newly started
   * container: from its init PID, or, for a container no source gives a PID for (the kubelet
   * alone, on a CRI-O node), from the candidate paths its source derived.
   */
  ingest(infos: readonly TagInfo[]): void {
    for (const change of this.index.apply(infos)) {
      const { entity } = change;
      const found =
        'pid' in change
          ? this.inodes.inodeOfPid(change.pid).then((inode) => {
              if (inode !== undefined) this.index.setInode(entity, change.pid, inode);
            })
          : this.inodes.inodeOfPaths(change.paths).then((inode) => {
              if (inode !== undefined) this.index.setInodeFromPaths(entity, change.paths, inode);
            });
      const lookup = found.catch((error: unknown) => this.logger.debug({ entity, error: causeMessage(error) }, 'cgroup inode lookup failed')).finally(() => this.pending.delete(lookup));
      this.pending.add(lookup);
    }
  }

  /** Forgets what the store has removed; call after each prune. */
  sweep(): void {
    this.index.sweep();
  }

  /** Resolves once the inode lookups started so far are done. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  resolve(origin: ParsedOrigin): OriginResolution | undefined {
    return this.lookup(origin).found;
  }

  lookup(origin: ParsedOrigin): OriginLookup {
    switch (origin.kind) {
      case 'pid':
        return this.byPid(origin.pid);
      case 'cgroup_inode':
        return container(this.index.byInode(origin.inode));
      case 'container_id':
        return this.byContainerId(origin.containerId);
      case 'pod_container': {
        const found = this.index.byPodContainer(origin.podUid, origin.containerName, origin.init);
        if (!found) return NOT_FOUND;
        return { found: found.container === undefined ? { containerId: null, entity: found.pod } : ofContainer(found.container) };
      }
      case 'ip': {
        const entity = this.index.byIp(origin.ip);
        if (entity === undefined) return NOT_FOUND;
        return { found: entity.startsWith(CONTAINER_PREFIX) ? ofContainer(entity) : { containerId: null, entity } };
      }
    }
  }

  /** A container ID as parseContainerId gives it (12 hex is short). */
  private byContainerId(id: string): OriginLookup {
    const entity = id.length === 12 && /^[0-9a-f]{12}$/.test(id) ? (this.store.resolveShortId(id) ?? CONTAINER_PREFIX + id) : CONTAINER_PREFIX + id;
    return this.store.has(entity) ? { found: ofContainer(entity) } : { found: undefined, candidate: entity };
  }

  /**
   * The container of a process: the ID its cgroup path names; else the inode of its cgroup
   * directory (a runtime or cgroup driver whose paths name no ID); else its bind mounts (a cgroup
   * namespace hiding the path). /proc is read at once: procfs answers from memory.
   */
  private byPid(pid: number): OriginLookup {
    let memo = this.pids?.get(pid);
    if (memo === undefined) {
      memo = { entity: this.containerOfPid(pid) };
      this.pids?.set(pid, memo);
    }
    const entity = memo.entity;
    if (entity === undefined) return NOT_FOUND;
    return this.store.has(entity) ? { found: ofContainer(entity) } : { found: undefined, candidate: entity };
  }

  private containerOfPid(pid: number): EntityId | undefined {
    const root = this.inodes.procRoot;
    const cgroup = readOrEmpty(`${root}/${pid}/cgroup`);
    if (cgroup === '') return undefined;
    const named = containerIdFromCgroup(cgroup);
    if (named !== null && this.store.has(CONTAINER_PREFIX + named)) return CONTAINER_PREFIX + named;
    const inode = this.inodes.inodeOfCgroupSync(pid, cgroup);
    const byInode = inode === undefined ? undefined : this.index.byInode(inode);
    if (byInode !== undefined) return byInode;
    const id = named ?? containerIdFromMountinfo(readOrEmpty(`${root}/${pid}/mountinfo`));
    return id === null ? undefined : CONTAINER_PREFIX + id;
  }
}

const NOT_FOUND: OriginLookup = { found: undefined, candidate: undefined };

function container(entity: EntityId | undefined): OriginLookup {
  return entity === undefined ? NOT_FOUND : { found: ofContainer(entity) };
}

function ofContainer(entity: EntityId): OriginResolution {
  return { containerId: entity.slice(CONTAINER_PREFIX.length), entity };
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
