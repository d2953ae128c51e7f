/**
 * Deferred entries (TagStore.defer) against the plain path: a store fed encoded entries must answer
 * everything exactly as a store fed the same entries decoded, whatever runs in between (other
 * sources, deletes, prunes, removals, subscriptions) and whichever queries decode what, when.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Cardinality, TagInfo } from '../types.js';
import type { DeferredDecoding } from './deferred.js';
import { TagStore } from './tag-store.js';
import { followEvents } from './test-support/follow.js';

const hex = (c: string): string => c.repeat(64);
const IDS = [`container_id://${hex('a')}`, `container_id://${hex('b')}`, 'kubernetes_pod_uid://p1', 'ecs_task://t1'];
const CARDS: Cardinality[] = ['low', 'orchestrator', 'high'];
const REMOTE = 'remote';

interface Levels {
  low: string[];
  orchestrator: string[];
  high: string[];
  standard: string[];
}

const decoding: DeferredDecoding = {
  source: REMOTE,
  decode: (id, encoded) => ({ source: REMOTE, entity: id, ...(JSON.parse(encoded) as Levels) }),
};

const tagArb = fc.tuple(fc.constantFrom('a', 'b', 'env'), fc.constantFrom('1', '2')).map(([n, v]) => `${n}:${v}`);
const listArb = fc.uniqueArray(tagArb, { maxLength: 3 });
const levelsArb: fc.Arbitrary<Levels> = fc.record({ low: listArb, orchestrator: listArb, high: listArb, standard: listArb });
const idArb = fc.constantFrom(...IDS);

type Op =
  | { kind: 'put'; id: string; levels: Levels }
  | { kind: 'other'; source: string; id: string; levels: Levels }
  | { kind: 'delete'; source: string; id: string }
  | { kind: 'remove'; id: string }
  | { kind: 'prune' }
  | { kind: 'advance'; ms: number }
  | { kind: 'query'; id: string; card: Cardinality }
  | { kind: 'short'; id: string }
  | { kind: 'subscribe'; card: Cardinality };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), id: idArb, levels: levelsArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('other' as const), source: fc.constantFrom('docker', 'kubelet'), id: idArb, levels: levelsArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), source: fc.constantFrom(REMOTE, 'docker'), id: idArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: idArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'prune' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 50, max: 250 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('query' as const), id: idArb, card: fc.constantFrom(...CARDS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('short' as const), id: idArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), card: fc.constantFrom(...CARDS) }) },
);

describe('TagStore deferred entries', () => {
  it('answer every query as decoded entries do', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), (ops) => {
        const clock = new ManualClock(0);
        const lazy = new TagStore({ clock, deletionGraceMs: 100, tombstoneTtlMs: 200, deferred: decoding });
        const eager = new TagStore({ clock, deletionGraceMs: 100, tombstoneTtlMs: 200 });
        const subs: Array<{ card: Cardinality; lazy: ReturnType<TagStore['subscribe']>; eager: ReturnType<TagStore['subscribe']>; lazyView: Map<string, string[]>; eagerView: Map<string, string[]> }> = [];
        let deferredSeen = 0;
        for (const op of ops) {
          switch (op.kind) {
            case 'put': {
              lazy.defer(op.id, JSON.stringify(op.levels));
              eager.processTagInfo([{ source: REMOTE, entity: op.id, ...op.levels }]);
              break;
            }
            case 'other': {
              const info: TagInfo = { source: op.source, entity: op.id, ...op.levels };
              lazy.processTagInfo([info]);
              eager.processTagInfo([info]);
              break;
            }
            case 'delete': {
              const info: TagInfo = { source: op.source, entity: op.id, low: [], orchestrator: [], high: [], standard: [], deleteEntity: true };
              lazy.processTagInfo([info]);
              eager.processTagInfo([info]);
              break;
            }
            case 'remove':
              expect(lazy.remove(op.id)).toBe(eager.remove(op.id));
              break;
            case 'prune':
              expect(lazy.prune()).toBe(eager.prune());
              break;
            case 'advance':
              clock.advance(op.ms);
              break;
            case 'query':
              expect(lazy.lookup(op.id, op.card)).toEqual(eager.lookup(op.id, op.card));
              break;
            case 'short': {
              const short = op.id.slice('container_id://'.length, 'container_id://'.length + 12);
              expect(lazy.resolveShortId(short)).toBe(eager.resolveShortId(short));
              break;
            }
            case 'subscribe': {
              const sub = { card: op.card, lazy: lazy.subscribe({ cardinality: op.card }), eager: eager.subscribe({ cardinality: op.card }), lazyView: new Map<string, string[]>(), eagerView: new Map<string, string[]>() };
              expect(lazy.deferredCount).toBe(0);
              subs.push(sub);
              break;
            }
          }
          deferredSeen = Math.max(deferredSeen, lazy.deferredCount);
          // What needs no decoding is compared after every step; it must not decode either.
          const before = lazy.deferredCount;
          expect(lazy.size).toBe(eager.size);
          expect([...lazy.ids()].sort()).toEqual([...eager.ids()].sort());
          for (const id of IDS) expect(lazy.has(id)).toBe(eager.has(id));
          expect(lazy.countBySourceAndKind()).toEqual(eager.countBySourceAndKind());
          expect(lazy.deferredCount).toBe(before);
          for (const s of subs) {
            followEvents(s.lazy.drain(), s.lazyView);
            followEvents(s.eager.drain(), s.eagerView);
            expect(s.lazyView).toEqual(s.eagerView);
          }
        }
        for (const id of IDS) {
          for (const card of CARDS) expect(lazy.lookup(id, card)).toEqual(eager.lookup(id, card));
          expect(lazy.standard(id)).toEqual(eager.standard(id));
          expect(lazy.hasSource(id, REMOTE)).toBe(eager.hasSource(id, REMOTE));
          expect(lazy.getEntity(id)).toEqual(eager.getEntity(id));
        }
        expect(lazy.list().sort((a, b) => a.id.localeCompare(b.id))).toEqual(eager.list().sort((a, b) => a.id.localeCompare(b.id)));
        expect(lazy.deferredCount).toBe(0);
        return deferredSeen >= 0;
      }),
      { numRuns: 500 },
    );
  });

  it('decodes an entry only when it is used, and counts and drops a malformed one', () => {
    const decoded: string[] = [];
    const malformed: string[] = [];
    const store = new TagStore({
      deferred: {
        source: REMOTE,
        decode: (id, encoded) => {
          decoded.push(id);
          return decoding.decode(id, encoded);
        },
      },
    });
    store.onMalformed = (_info, reason) => malformed.push(reason);
    const [a = '', b = ''] = IDS;
    store.defer(a, JSON.stringify({ low: ['x:1'], orchestrator: [], high: ['h:1'], standard: [] }));
    store.defer(b, '{"low":[');
    expect(store.size).toBe(2);
    expect(store.deferredCount).toBe(2);
    expect(decoded).toEqual([]);
    expect(store.lookup(a, 'low')).toEqual(['x:1']);
    expect(store.lookup(a, 'high')).toEqual(['x:1', 'h:1']);
    expect(decoded).toEqual([a]);
    expect(store.lookup(b, 'low')).toBeUndefined();
    expect(store.counters.malformed).toBe(1);
    expect(malformed).toHaveLength(1);
    expect(store.size).toBe(1);
    expect(() => new TagStore().defer(a, '{}')).toThrow(/deferred option/);
  });
});
