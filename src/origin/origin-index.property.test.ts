/**
 * The origin index beside a real TagStore, against a plain reference model: random sequences of
 * adds (with origin facts), dead reports, deletes, prunes, clock steps and inode lookups (by PID,
 * and by the kubelet's candidate cgroup paths) from several sources. After every step each lookup (every address, pod container and inode) must
 * give the model's answer, and never an entity the store does not have; after a prune the index
 * holds no entity the store has removed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { TagStore } from '../store/tag-store.js';
import type { TagInfo } from '../types.js';
import { OriginIndex } from './origin-index.js';
import type { OriginFacts, PodContainerKind } from './types.js';

const GRACE = 100;
const TOMBSTONE = 300;
const CONTAINERS = ['container_id://c1', 'container_id://c2', 'container_id://c3'];
const PODS = ['kubernetes_pod_uid://p1', 'kubernetes_pod_uid://p2'];
const SOURCES = ['docker', 'kubelet'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const NAMES = ['app', 'init', 'side'];
const KINDS: PodContainerKind[] = ['regular', 'init', 'ephemeral'];
const INODES = [11, 12, 13];

type Op =
  | { kind: 'add' | 'dead'; source: string; entity: string; origin: OriginFacts | undefined }
  | { kind: 'delete'; source: string; entity: string }
  | { kind: 'prune'; sweep: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'inode'; entity: string; pidDelta: number; inode: number }
  | { kind: 'inodeFromPaths'; entity: string; stale: boolean; inode: number };

const PATH_SETS: ReadonlyArray<readonly string[]> = [['/a'], ['/b'], ['/a', '/b']];
const pathsKey = (paths: readonly string[] | undefined): string => (paths ?? []).join(',');

const ipsArb = fc.uniqueArray(fc.constantFrom(...IPS), { maxLength: 2 });
const containerFactsArb: fc.Arbitrary<OriginFacts | undefined> = fc.option(
  fc.record({ pid: fc.integer({ min: 0, max: 3 }), ips: ipsArb }),
  { nil: undefined },
);
const podFactsArb: fc.Arbitrary<OriginFacts | undefined> = fc.option(
  fc.record({
    ips: ipsArb,
    podContainers: fc.uniqueArray(
      fc.record({ name: fc.constantFrom(...NAMES), kind: fc.constantFrom(...KINDS), entity: fc.constantFrom(...CONTAINERS) }),
      { maxLength: 3, selector: (c) => `${c.kind}/${c.name}` },
    ),
  }),
  { nil: undefined },
);
const addArb = (kind: 'add' | 'dead'): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant(kind), source: fc.constant('docker'), entity: fc.constantFrom(...CONTAINERS), origin: containerFactsArb }),
    // The orchestrator knows no PIDs; addresses, and where the container's cgroup may be.
    fc.record({
      kind: fc.constant(kind),
      source: fc.constant('kubelet'),
      entity: fc.constantFrom(...CONTAINERS),
      origin: fc.option(fc.record({ ips: ipsArb, cgroupPaths: fc.constantFrom(...PATH_SETS) }, { requiredKeys: ['ips'] }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant(kind), source: fc.constant('kubelet'), entity: fc.constantFrom(...PODS), origin: podFactsArb }),
  );
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: addArb('add') },
  { weight: 1, arbitrary: addArb('dead') },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), source: fc.constantFrom(...SOURCES), entity: fc.constantFrom(...CONTAINERS, ...PODS) }) },
  // Not every prune is followed by a sweep here: lookups must stay right in between.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('prune' as const), sweep: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 250 }) }) },
  // pidDelta 0: the lookup of the current PID finishes; otherwise one of a PID since replaced.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inode' as const), entity: fc.constantFrom(...CONTAINERS), pidDelta: fc.constantFrom(0, 0, 1), inode: fc.constantFrom(...INODES) }) },
  // stale: a lookup of paths the container no longer has finishes.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inodeFromPaths' as const), entity: fc.constantFrom(...CONTAINERS), stale: fc.boolean(), inode: fc.constantFrom(...INODES) }) },
);

interface ModelEntity {
  facts: Map<string, OriginFacts | undefined>;
  deletes: Map<string, number>;
}

/** The store's lifecycle and the index's rules, written as plainly as possible. */
class Model {
  entities = new Map<string, ModelEntity>();
  tombstones = new Map<string, { sources: Set<string>; expiresAt: number }>();
  /** `entity|source|ip` -> when that claim began (a step number). */
  claims = new Map<string, number>();
  inodes = new Map<number, string>();
  step = 0;

  add(op: { source: string; entity: string; origin: OriginFacts | undefined }, dead: boolean, now: number): void {
    const tomb = this.tombstones.get(op.entity);
    if (tomb) {
      if (dead || !tomb.sources.has(op.source)) return;
      this.tombstones.delete(op.entity);
    }
    const e: ModelEntity = this.entities.get(op.entity) ?? { facts: new Map(), deletes: new Map() };
    this.entities.set(op.entity, e);
    if (!dead) e.deletes.delete(op.source);
    const before = new Set(e.facts.get(op.source)?.ips ?? []);
    const after = new Set(op.origin?.ips ?? []);
    for (const ip of before) if (!after.has(ip)) this.claims.delete(`${op.entity}|${op.source}|${ip}`);
    for (const ip of after) if (!before.has(ip)) this.claims.set(`${op.entity}|${op.source}|${ip}`, ++this.step);
    e.facts.set(op.source, op.origin);
    if (dead) this.delete(op.source, op.entity, now);
  }

  delete(source: string, entity: string, now: number): void {
    const e = this.entities.get(entity);
    if (e && !e.deletes.has(source)) e.deletes.set(source, now + GRACE);
  }

  prune(now: number): void {
    for (const [id, e] of this.entities) {
      if (![...e.deletes.values()].some((t) => t <= now)) continue;
      this.entities.delete(id);
      this.tombstones.set(id, { sources: new Set(e.deletes.keys()), expiresAt: now + TOMBSTONE });
      for (const key of [...this.claims.keys()]) if (key.startsWith(`${id}|`)) this.claims.delete(key);
      for (const [inode, holder] of this.inodes) if (holder === id) this.inodes.delete(inode);
    }
    for (const [id, t] of this.tombstones) if (t.expiresAt <= now) this.tombstones.delete(id);
  }

  pid(entity: string): number | undefined {
    const p = this.entities.get(entity)?.facts.get('docker')?.pid;
    return p === 0 ? undefined : p;
  }

  setInode(entity: string, pid: number, inode: number): void {
    if (!this.entities.has(entity) || this.pid(entity) !== pid) return;
    this.hold(entity, inode);
  }

  paths(entity: string): readonly string[] | undefined {
    return this.entities.get(entity)?.facts.get('kubelet')?.cgroupPaths;
  }

  /** Only while no PID is known, and only for the paths the container has now. */
  setInodeFromPaths(entity: string, paths: readonly string[], inode: number): void {
    if (!this.entities.has(entity) || this.pid(entity) !== undefined || pathsKey(this.paths(entity)) !== pathsKey(paths)) return;
    this.hold(entity, inode);
  }

  private hold(entity: string, inode: number): void {
    for (const [i, holder] of this.inodes) if (holder === entity) this.inodes.delete(i);
    this.inodes.set(inode, entity);
  }

  byIp(ip: string): string | undefined {
    let best: [string, number] | undefined;
    for (const [key, since] of this.claims) {
      const [entity, , claimed] = key.split('|');
      if (claimed === ip && this.entities.has(entity as string) && (!best || since > best[1])) best = [entity as string, since];
    }
    return best?.[0];
  }

  byPodContainer(pod: string, name: string, init: boolean | undefined): { pod: string; container: string | undefined } | undefined {
    const e = this.entities.get(pod);
    if (!e) return undefined;
    const kinds: PodContainerKind[] = init === true ? ['init'] : init === false ? ['regular', 'ephemeral'] : ['regular', 'init', 'ephemeral'];
    for (const kind of kinds) {
      const found = e.facts.get('kubelet')?.podContainers?.find((c) => c.kind === kind && c.name === name);
      if (found && this.entities.has(found.entity)) return { pod, container: found.entity };
    }
    return { pod, container: undefined };
  }
}

function info(source: string, entity: string, origin: OriginFacts | undefined, deleteEntity = false): TagInfo {
  return { source, entity, low: [`src:${source}`], orchestrator: [], high: [], standard: [], ...(origin ? { origin } : {}), ...(deleteEntity ? { deleteEntity } : {}) };
}

describe('OriginIndex agrees with the store through random adds, deletes and prunes', () => {
  it('every lookup matches the reference model and names only stored entities', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const clock = new ManualClock(1_000);
        const store = new TagStore({ clock, deletionGraceMs: GRACE, tombstoneTtlMs: TOMBSTONE });
        const index = new OriginIndex(store);
        const model = new Model();
        for (const op of ops) {
          if (op.kind === 'add' || op.kind === 'dead') {
            const batch = op.kind === 'add' ? [info(op.source, op.entity, op.origin)] : [info(op.source, op.entity, op.origin), info(op.source, op.entity, undefined, true)];
            store.processTagInfo(batch);
            index.apply(batch);
            model.add(op, op.kind === 'dead', clock.now());
          } else if (op.kind === 'delete') {
            const batch = [info(op.source, op.entity, undefined, true)];
            store.processTagInfo(batch);
            index.apply(batch);
            model.delete(op.source, op.entity, clock.now());
          } else if (op.kind === 'prune') {
            store.prune();
            model.prune(clock.now());
            if (op.sweep) {
              index.sweep();
              const withFacts = [...model.entities.values()].filter((e) => [...e.facts.values()].some((f) => f && ((f.pid ?? 0) > 0 || (f.ips?.length ?? 0) > 0 || (f.podContainers?.length ?? 0) > 0 || (f.cgroupPaths?.length ?? 0) > 0)));
              expect(index.sizes.entities).toBe(withFacts.length);
              for (const [, entity] of index.ipEntries()) expect(store.has(entity)).toBe(true);
            }
          } else if (op.kind === 'advance') {
            clock.advance(op.ms);
          } else if (op.kind === 'inode') {
            const pid = (model.pid(op.entity) ?? 0) + op.pidDelta;
            index.setInode(op.entity, pid, op.inode);
            model.setInode(op.entity, pid, op.inode);
          } else if (op.kind === 'inodeFromPaths') {
            const current = model.paths(op.entity) ?? ['/a'];
            const paths = op.stale ? (PATH_SETS.find((p) => pathsKey(p) !== pathsKey(current)) as readonly string[]) : current;
            index.setInodeFromPaths(op.entity, paths, op.inode);
            model.setInodeFromPaths(op.entity, paths, op.inode);
          }
          for (const id of [...CONTAINERS, ...PODS]) expect(store.has(id)).toBe(model.entities.has(id));
          for (const ip of IPS) expect(index.byIp(ip)).toBe(model.byIp(ip));
          for (const inode of INODES) expect(index.byInode(inode)).toBe(model.inodes.get(inode));
          for (const pod of PODS) {
            for (const name of NAMES) {
              for (const init of [true, false, undefined]) expect(index.byPodContainer(pod.slice('kubernetes_pod_uid://'.length), name, init)).toEqual(model.byPodContainer(pod, name, init));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
