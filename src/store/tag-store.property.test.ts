/**
 * The store against a plain reference model: random sequences of adds, deletes, prunes and
 * clock steps from several sources, comparing every query (all entities, all cardinalities),
 * and a subscriber's replica, after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { tagName } from '../tags.js';
import { priorityOf, type Cardinality, type TagInfo } from '../types.js';
import { TagStore } from './tag-store.js';
import { followEvents } from './test-support/follow.js';

const GRACE = 100;
const TOMBSTONE = 300;
const ENTITIES = ['container_id://c1', 'container_id://c2', 'kubernetes_pod_uid://p1'];
const SOURCES = ['docker', 'containerd', 'kubelet', 'ecs'];
const CARDS: Cardinality[] = ['low', 'orchestrator', 'high'];

type Op =
  | { kind: 'add'; source: string; entity: string; low: string[]; orchestrator: string[]; high: string[]; standard: string[] }
  | { kind: 'dead'; source: string; entity: string; low: string[]; orchestrator: string[]; high: string[]; standard: string[] }
  | { kind: 'delete'; source: string; entity: string }
  | { kind: 'prune' }
  | { kind: 'advance'; ms: number };

const tagArb = fc.tuple(fc.constantFrom('a', 'b', 'env', 'image_name'), fc.constantFrom('1', '2', '3')).map(([n, v]) => `${n}:${v}`);
const listArb = fc.uniqueArray(tagArb, { maxLength: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), source: fc.constantFrom(...SOURCES), entity: fc.constantFrom(...ENTITIES), low: listArb, orchestrator: listArb, high: listArb, standard: listArb }) },
  // A dead report: a source's tags and its delete in one batch (an inspect of an exited container).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dead' as const), source: fc.constantFrom(...SOURCES), entity: fc.constantFrom(...ENTITIES), low: listArb, orchestrator: listArb, high: listArb, standard: listArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), source: fc.constantFrom(...SOURCES), entity: fc.constantFrom(...ENTITIES) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'prune' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 250 }) }) },
);

interface ModelEntity {
  sources: Map<string, TagInfo>;
  deletes: Map<string, number>;
}

/** The semantics written as plainly as possible. */
class Model {
  entities = new Map<string, ModelEntity>();
  tombstones = new Map<string, { sources: Set<string>; expiresAt: number }>();

  add(info: TagInfo): void {
    const tomb = this.tombstones.get(info.entity);
    if (tomb) {
      if (!tomb.sources.has(info.source)) return;
      this.tombstones.delete(info.entity);
    }
    const e = this.entities.get(info.entity) ?? { sources: new Map(), deletes: new Map() };
    this.entities.set(info.entity, e);
    e.deletes.delete(info.source);
    e.sources.set(info.source, info);
  }

  /** Tags that come with their own delete are no evidence of life: no revival, no cancelled delete. */
  dead(info: TagInfo, now: number): void {
    if (this.tombstones.has(info.entity)) return;
    const e = this.entities.get(info.entity) ?? { sources: new Map(), deletes: new Map() };
    this.entities.set(info.entity, e);
    e.sources.set(info.source, info);
    this.delete(info.source, info.entity, now);
  }

  delete(source: string, entity: string, now: number): void {
    const e = this.entities.get(entity);
    if (e && !e.deletes.has(source)) e.deletes.set(source, now + GRACE);
  }

  prune(now: number): void {
    for (const [id, e] of this.entities) {
      const due = [...e.deletes.values()].some((t) => t <= now);
      if (due) {
        this.entities.delete(id);
        this.tombstones.set(id, { sources: new Set(e.deletes.keys()), expiresAt: now + TOMBSTONE });
      }
    }
    for (const [id, t] of this.tombstones) if (t.expiresAt <= now) this.tombstones.delete(id);
  }

  query(entity: string, card: Cardinality): string[] | undefined {
    const e = this.entities.get(entity);
    if (!e) return undefined;
    const best = new Map<string, number>();
    for (const info of e.sources.values()) {
      for (const tag of [...info.low, ...info.orchestrator, ...info.high, ...info.standard]) {
        best.set(tagName(tag), Math.max(best.get(tagName(tag)) ?? -1, priorityOf(info)));
      }
    }
    const out = new Set<string>();
    for (const info of e.sources.values()) {
      const levels = card === 'low' ? [info.low] : card === 'orchestrator' ? [info.low, info.orchestrator] : [info.low, info.orchestrator, info.high];
      for (const tag of levels.flat()) if (best.get(tagName(tag)) === priorityOf(info)) out.add(tag);
    }
    return [...out].sort();
  }
}

/** Applies one op to the store and the model alike. */
function applyOp(op: Op, store: TagStore, model: Model, clock: ManualClock): void {
  if (op.kind === 'add') {
    const { kind: _kind, ...info } = op;
    store.processTagInfo([info]);
    model.add(info);
  } else if (op.kind === 'dead') {
    const { kind: _kind, ...info } = op;
    store.processTagInfo([info, { ...info, deleteEntity: true }]);
    model.dead(info, clock.now());
  } else if (op.kind === 'delete') {
    store.processTagInfo([{ source: op.source, entity: op.entity, low: [], orchestrator: [], high: [], standard: [], deleteEntity: true }]);
    model.delete(op.source, op.entity, clock.now());
  } else if (op.kind === 'prune') {
    store.prune();
    model.prune(clock.now());
  } else {
    clock.advance(op.ms);
  }
}

describe('TagStore against a reference model', () => {
  it('answers every query as the model does, and a subscriber replica stays equal', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const clock = new ManualClock(0);
        const store = new TagStore({ clock, deletionGraceMs: GRACE, tombstoneTtlMs: TOMBSTONE });
        const model = new Model();
        const sub = store.subscribe({ cardinality: 'high' });
        const replica = new Map<string, string[]>();
        for (const op of ops) {
          applyOp(op, store, model, clock);
          followEvents(sub.drain(), replica);
          for (const id of ENTITIES) {
            for (const card of CARDS) {
              const got = store.lookup(id, card);
              expect(got === undefined ? undefined : [...got].sort()).toEqual(model.query(id, card));
              if (got) expect(new Set(got).size).toBe(got.length);
            }
            expect(replica.get(id)).toEqual(model.query(id, 'high'));
          }
        }
        sub.close();
      }),
      { numRuns: 400 },
    );
  });

  it('a subscriber that reads its snapshot in batches while the store changes converges on the store', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.array(opArb, { maxLength: 30 }), fc.constantFrom(...CARDS), (before, during, card) => {
        const clock = new ManualClock(0);
        const store = new TagStore({ clock, deletionGraceMs: GRACE, tombstoneTtlMs: TOMBSTONE });
        const model = new Model();
        const apply = (op: Op): void => applyOp(op, store, model, clock);
        before.forEach(apply);
        const sub = store.subscribe({ cardinality: card, snapshot: false });
        expect(sub.drain()).toEqual([]);
        const replica = new Map<string, string[]>();
        // One entity per batch, one store change between batches: the worst interleaving.
        const batches = store.snapshotBatches(sub, 1);
        for (const op of during) {
          const next = batches.next();
          if (!next.done) followEvents([next.value], replica);
          apply(op);
        }
        followEvents(batches, replica);
        followEvents(sub.drain(), replica);
        for (const id of ENTITIES) expect(replica.get(id)).toEqual(model.query(id, card));
        sub.close();
      }),
      { numRuns: 400 },
    );
  });
});
