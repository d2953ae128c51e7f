/**
 * The origin index: from what a sender is known by (an IP, a pod UID and container name, a cgroup
 * inode) to the entity that sent it. Fed the same TagInfo batches as the store, right after it,
 * so it learns and forgets entities on the same events:
 * - it records a source's facts only when the store accepted that source's tags (a tombstoned or
 *   malformed update teaches it nothing), and a TagInfo replaces what its source said before;
 * - a lookup names an entity only while the store has it, and `sweep()` (after each prune) drops
 *   what the store has removed, so the index is bounded by the store's own entities.
 * Every lookup is a map lookup plus that store check. Pure: the cgroup inodes come from outside
 * (cgroup-inodes.ts stats a container's cgroup directory when its PID is first reported).
 */
import { POD_PREFIX } from '../entity.js';
import type { EntityId, TagInfo } from '../types.js';
import type { OriginFacts, PodContainerFact, PodContainerKind } from './types.js';

/** The part of the store the index checks against. */
export interface StoreView {
  has(id: EntityId): boolean;
  hasSource(id: EntityId, source: string): boolean;
}

/** A container whose init PID is new: its cgroup directory's inode should be looked up. */
export interface PidChange {
  readonly entity: EntityId;
  readonly pid: number;
}

/** A container with no PID whose candidate cgroup paths are new: the first that exists gives its inode. */
export interface CgroupPathsChange {
  readonly entity: EntityId;
  readonly paths: readonly string[];
}

export type InodeLookup = PidChange | CgroupPathsChange;

interface IpClaim {
  readonly entity: EntityId;
  readonly source: string;
  /** When the entity first claimed this address: of two live claimants, the later one is the current holder. */
  readonly since: number;
}

const EMPTY: readonly string[] = [];

export class OriginIndex {
  /** entity -> source -> facts. Its keys are the entities the index knows, all in the store. */
  private readonly facts = new Map<EntityId, Map<string, OriginFacts>>();
  private readonly ipClaims = new Map<string, IpClaim[]>();
  private readonly inodes = new Map<number, EntityId>();
  private readonly inodeOf = new Map<EntityId, { readonly inode: number; readonly pid: number }>();
  private claims = 0;

  constructor(private readonly store: StoreView) {}

  /**
   * Takes the batch the store has just processed. Returns the containers whose init PID is new
   * (started, restarted), for the caller to look up their cgroup inode and call setInode(), and
   * those with no PID whose candidate cgroup paths are new (setInodeFromPaths()).
   */
  apply(infos: readonly TagInfo[]): InodeLookup[] {
    const changes: InodeLookup[] = [];
    for (const info of infos) {
      // A delete keeps the facts: the entity stays queryable through its grace, and so findable.
      if (info === null || typeof info !== 'object' || info.deleteEntity) continue;
      if (!this.store.hasSource(info.entity, info.source)) continue;
      const change = this.record(info.entity, info.source, info.origin);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Forgets every entity the store no longer has (call after each prune). */
  sweep(): number {
    let dropped = 0;
    for (const entity of [...this.facts.keys()]) {
      if (this.store.has(entity)) continue;
      this.forget(entity);
      dropped++;
    }
    for (const entity of [...this.inodeOf.keys()]) if (!this.store.has(entity)) this.dropInode(entity);
    return dropped;
  }

  /** Records a container's cgroup inode, unless its PID has changed since the lookup began. */
  setInode(entity: EntityId, pid: number, inode: number): void {
    if (!this.store.has(entity) || this.pidOf(entity) !== pid) return;
    this.holdInode(entity, pid, inode);
  }

  /** `pid` 0: found from cgroup paths. */
  private holdInode(entity: EntityId, pid: number, inode: number): void {
    this.dropInode(entity);
    const previous = this.inodes.get(inode);
    // The kernel may reuse a removed cgroup's inode: the newest directory holds it.
    if (previous !== undefined) this.inodeOf.delete(previous);
    this.inodes.set(inode, entity);
    this.inodeOf.set(entity, { inode, pid });
  }

  /** Records an inode found from candidate paths, unless a PID or other paths have come since. */
  setInodeFromPaths(entity: EntityId, paths: readonly string[], inode: number): void {
    if (!this.store.has(entity) || this.pidOf(entity) !== undefined || pathsKey(this.cgroupPathsOf(entity)) !== pathsKey(paths)) return;
    this.holdInode(entity, 0, inode);
  }

  /** The entity whose cgroup directory has this inode. */
  byInode(inode: number): EntityId | undefined {
    return this.live(this.inodes.get(inode));
  }

  /** The current holder of an address: of the live entities claiming it, the one that claimed it last. */
  byIp(ip: string): EntityId | undefined {
    const claims = this.ipClaims.get(ip);
    if (!claims) return undefined;
    let best: IpClaim | undefined;
    for (const claim of claims) if ((!best || claim.since > best.since) && this.store.has(claim.entity)) best = claim;
    return best?.entity;
  }

  /**
   * A pod's container by name: with `init` true among its init containers, false among the others,
   * undefined among all (regular first). The pod's entity is `container` undefined.
   */
  byPodContainer(podUid: string, name: string | undefined, init: boolean | undefined): { pod: EntityId; container: EntityId | undefined } | undefined {
    const pod = POD_PREFIX + podUid;
    if (!this.store.has(pod)) return undefined;
    if (name === undefined) return { pod, container: undefined };
    const kinds: readonly PodContainerKind[] = init === true ? ['init'] : init === false ? ['regular', 'ephemeral'] : ['regular', 'init', 'ephemeral'];
    const bySource = this.facts.get(pod);
    for (const kind of kinds) {
      for (const facts of bySource?.values() ?? []) {
        const found = facts.podContainers?.find((c: PodContainerFact) => c.kind === kind && c.name === name);
        if (found && this.store.has(found.entity)) return { pod, container: found.entity };
      }
    }
    return { pod, container: undefined };
  }

  /** The init PID a source reported for a running container (undefined when none is running). */
  pidOf(entity: EntityId): number | undefined {
    for (const facts of this.facts.get(entity)?.values() ?? []) if (facts.pid !== undefined && facts.pid > 0) return facts.pid;
    return undefined;
  }

  /** A source's candidate cgroup paths for the entity (the first source that has any). */
  cgroupPathsOf(entity: EntityId): readonly string[] | undefined {
    for (const facts of this.facts.get(entity)?.values() ?? []) if ((facts.cgroupPaths?.length ?? 0) > 0) return facts.cgroupPaths;
    return undefined;
  }

  /** Entities with facts, addresses and inodes held (for metrics and tests). */
  get sizes(): { entities: number; ips: number; inodes: number } {
    return { entities: this.facts.size, ips: this.ipClaims.size, inodes: this.inodes.size };
  }

  /** Every (entity, address) pair held, for tests that compare the index with a model. */
  *ipEntries(): Generator<[string, EntityId]> {
    for (const [ip, claims] of this.ipClaims) for (const c of claims) yield [ip, c.entity];
  }

  private live(entity: EntityId | undefined): EntityId | undefined {
    return entity !== undefined && this.store.has(entity) ? entity : undefined;
  }

  private record(entity: EntityId, source: string, facts: OriginFacts | undefined): InodeLookup | undefined {
    const pidBefore = this.pidOf(entity);
    const pathsBefore = pathsKey(this.cgroupPathsOf(entity));
    let bySource = this.facts.get(entity);
    const before = bySource?.get(source);
    this.reclaimIps(entity, source, before?.ips ?? EMPTY, facts?.ips ?? EMPTY);
    if (facts === undefined || isEmpty(facts)) {
      bySource?.delete(source);
      if (bySource?.size === 0) this.facts.delete(entity);
    } else {
      if (!bySource) this.facts.set(entity, (bySource = new Map()));
      bySource.set(source, facts);
    }
    const pid = this.pidOf(entity);
    if (pid !== undefined) return pid !== pidBefore ? { entity, pid } : undefined;
    const paths = this.cgroupPathsOf(entity);
    return paths !== undefined && (pathsKey(paths) !== pathsBefore || pidBefore !== undefined) ? { entity, paths } : undefined;
  }

  /** Moves a source's address claims for an entity from `before` to `after`, keeping the age of those it keeps. */
  private reclaimIps(entity: EntityId, source: string, before: readonly string[], after: readonly string[]): void {
    if (before === after) return;
    for (const ip of before) if (!after.includes(ip)) this.unclaim(ip, entity, source);
    for (const ip of after) {
      if (before.includes(ip)) continue;
      const claims = this.ipClaims.get(ip);
      const claim = { entity, source, since: ++this.claims };
      if (claims) claims.push(claim);
      else this.ipClaims.set(ip, [claim]);
    }
  }

  private unclaim(ip: string, entity: EntityId, source: string): void {
    const claims = this.ipClaims.get(ip);
    if (!claims) return;
    const kept = claims.filter((c) => c.entity !== entity || c.source !== source);
    if (kept.length === 0) this.ipClaims.delete(ip);
    else this.ipClaims.set(ip, kept);
  }

  private forget(entity: EntityId): void {
    for (const [source, facts] of this.facts.get(entity) ?? []) for (const ip of facts.ips ?? EMPTY) this.unclaim(ip, entity, source);
    this.facts.delete(entity);
    this.dropInode(entity);
  }

  private dropInode(entity: EntityId): void {
    const held = this.inodeOf.get(entity);
    if (!held) return;
    this.inodeOf.delete(entity);
    if (this.inodes.get(held.inode) === entity) this.inodes.delete(held.inode);
  }
}

function isEmpty(facts: OriginFacts): boolean {
  return (facts.pid === undefined || facts.pid === 0) && (facts.ips?.length ?? 0) === 0 && (facts.podContainers?.length ?? 0) === 0 && (facts.cgroupPaths?.length ?? 0) === 0;
}

function pathsKey(paths: readonly string[] | undefined): string {
  return paths === undefined ? '' : paths.join('\n');
}
