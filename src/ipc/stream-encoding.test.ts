import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { TagStore } from '../store/tag-store.js';
import type { Cardinality, EntityEvent } from '../types.js';
import { encodeEvent } from './protocol.js';
import { RecentEncodings, StreamEncoder } from './stream-encoding.js';

describe('StreamEncoder', () => {
  const encoder = new StreamEncoder({ clock: new ManualClock(0) });
  const encoded = (batch: readonly EntityEvent[], cardinality: Cardinality): string => [...encoder.chunks([batch], cardinality)].join('');
  /** What the stream must say: each event's type and entity, as JSON.stringify writes them (no version). */
  const plain = (batch: readonly EntityEvent[]): string => batch.map((ev) => `${JSON.stringify({ type: ev.type, entity: ev.entity })}\n`).join('');

  it('writes what protocol.encodeEvent writes', () => {
    const events: EntityEvent[] = [
      { type: 'added', entity: { id: 'container_id://c1', tags: { low: ['a:1'], orchestrator: [], high: ['b:"2"'], standard: [] } }, version: {} },
      { type: 'deleted', entity: { id: 'container_id://c2' } },
    ];
    expect(encoded(events, 'high')).toBe(events.map((ev) => encodeEvent(ev)).join(''));
  });
  it('a cached encoding never outlives the tags it encodes, nor crosses cardinalities', () => {
    const ids = ['container_id://c1', 'container_id://c2', 'kubernetes_pod_uid://p1'];
    const tagList = fc.uniqueArray(fc.constantFrom('a:1', 'a:2', 'b:1', 'env:prod', 'x:"q"'), { maxLength: 3 });
    const update = fc.record({ source: fc.constantFrom('docker', 'kubelet'), entity: fc.constantFrom(...ids), low: tagList, orchestrator: tagList, high: tagList, standard: tagList, remove: fc.boolean() });
    fc.assert(
      fc.property(fc.array(update, { maxLength: 25 }), (updates) => {
        const store = new TagStore();
        const cards: Cardinality[] = ['low', 'orchestrator', 'high'];
        const subs = cards.map((cardinality) => store.subscribe({ cardinality }));
        const check = (): void => {
          subs.forEach((sub, i) => {
            for (const batch of sub.drain()) {
              expect(encoded(batch, cards[i] as Cardinality)).toBe(plain(batch));
            }
            // Each later snapshot reuses the cache, and must still say what the store says now.
            for (const batch of store.snapshotBatches(sub)) expect(encoded(batch, cards[i] as Cardinality)).toBe(plain(batch));
          });
        };
        for (const { remove, ...info } of updates) {
          if (remove) store.remove(info.entity);
          else store.processTagInfo([info]);
          check();
        }
      }),
      { numRuns: 300 },
    );
  });
  it('splits a snapshot into chunks no larger than the cap (whole lines only)', () => {
    const events: EntityEvent[] = Array.from({ length: 100 }, (_, i) => ({ type: 'added', entity: { id: `ecs_task://t${i}`, tags: { low: [`n:${i}`], orchestrator: [], high: [], standard: [] } } }));
    const line = encodeEvent(events[0] as EntityEvent).length;
    const chunks = [...encoder.chunks([events.slice(0, 50), events.slice(50)], 'low', line * 10)];
    expect(chunks.length).toBeGreaterThanOrEqual(10);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(line * 10 + 10);
      expect(c.endsWith('\n')).toBe(true);
    }
    const lines = chunks.join('').trim().split('\n');
    expect(lines).toHaveLength(100);
    expect(JSON.parse(lines[99] as string)).toMatchObject({ entity: { id: 'ecs_task://t99' } });
  });
});

describe('RecentEncodings', () => {
  it('keeps an encoding while it is used, and forgets it after a whole idle period', () => {
    const clock = new ManualClock(0);
    const cache = new RecentEncodings(100, clock);
    const used = {};
    const idle = {};
    cache.set(used, 'u');
    cache.set(idle, 'i');
    clock.set(150);
    cache.turn();
    // One period on: both are still there (last used within the period before).
    expect(cache.get(used)).toBe('u');
    clock.set(260);
    cache.turn();
    expect(cache.get(used)).toBe('u');
    expect(cache.get(idle)).toBeUndefined();
    // A long silence (no turn for two periods) forgets everything at the next turn.
    clock.set(1_000);
    cache.turn();
    expect(cache.get(used)).toBeUndefined();
    // Without a turn nothing is forgotten, however late.
    cache.set(idle, 'j');
    clock.set(5_000);
    expect(cache.get(idle)).toBe('j');
    cache.clear();
    expect(cache.get(idle)).toBeUndefined();
  });
});
