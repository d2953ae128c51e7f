import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { deletionTagInfo } from '../taglist.js';
import { SourcePriority, type EntityEvent, type TagInfo } from '../types.js';
import { TagStore } from './tag-store.js';

const C1 = `container_id://${'a'.repeat(64)}`;
const C2 = `container_id://${'b'.repeat(64)}`;
const POD = 'kubernetes_pod_uid://0a8e3b6e-1c0f-4b0e-9d5e-7a1b2c3d4e5f';

function info(source: string, entity: string, low: string[], orchestrator: string[] = [], high: string[] = [], standard: string[] = []): TagInfo {
  return { source, entity, low, orchestrator, high, standard };
}

function setup(grace = 1_000, tombstone = 5_000): { clock: ManualClock; store: TagStore } {
  const clock = new ManualClock(1_000_000);
  return { clock, store: new TagStore({ clock, deletionGraceMs: grace, tombstoneTtlMs: tombstone }) };
}

describe('TagStore', () => {
  it('1. new tags from a source replace only that source’s tags', () => {
    const { store } = setup();
    store.processTagInfo([info('docker', C1, ['image_name:nginx', 'short_image:nginx']), info('kubelet', C1, ['kube_namespace:default'])]);
    store.processTagInfo([info('docker', C1, ['image_name:redis'])]);
    expect([...(store.lookup(C1, 'low') ?? [])].sort()).toEqual(['image_name:redis', 'kube_namespace:default']);
    expect(store.getEntity(C1)?.sources.kubelet?.low).toEqual(['kube_namespace:default']);
  });

  it('2. a query returns every level up to the cardinality, deduplicated', () => {
    const { store } = setup();
    store.processTagInfo([
      info('docker', C1, ['image_name:nginx'], [], ['container_id:aaa', 'container_name:web']),
      info('ecs', C1, ['image_name:nginx', 'task_family:web'], ['task_arn:arn1']),
    ]);
    expect(store.lookup(C1, 'low')).toEqual(['image_name:nginx', 'task_family:web']);
    expect(store.lookup(C1, 'orchestrator')).toEqual(['image_name:nginx', 'task_family:web', 'task_arn:arn1']);
    expect([...(store.lookup(C1, 'high') ?? [])].sort()).toEqual(['container_id:aaa', 'container_name:web', 'image_name:nginx', 'task_arn:arn1', 'task_family:web']);
  });

  it('2. the higher-priority source wins a tag name; equal priorities keep both values', () => {
    const { store } = setup();
    store.processTagInfo([
      info('docker', C1, ['env:dev', 'image_name:nginx'], [], [], ['env:dev']),
      info('kubelet', C1, ['env:prod'], [], [], ['env:prod']),
      info('containerd', C1, ['image_name:nginx-alt']),
    ]);
    const low = [...(store.lookup(C1, 'low') ?? [])].sort();
    // kubelet (node orchestrator) beats docker (runtime) on env; docker and containerd tie on image_name.
    expect(low).toEqual(['env:prod', 'image_name:nginx', 'image_name:nginx-alt']);
    expect(store.standard(C1)).toEqual(['env:prod']);
    store.processTagInfo([{ ...info('custom', C1, ['env:cluster']), priority: SourcePriority.ClusterOrchestrator }]);
    expect(store.lookup(C1, 'low')).toContain('env:cluster');
    expect(store.lookup(C1, 'low')).not.toContain('env:prod');
  });

  it('3. a deleted entity stays queryable through the grace, then the first prune removes it', () => {
    const { clock, store } = setup(1_000);
    store.processTagInfo([info('docker', C1, ['a:1']), info('kubelet', C1, ['b:2'])]);
    store.processTagInfo([deletionTagInfo('docker', C1)]);
    clock.advance(999);
    expect(store.prune()).toBe(0);
    expect(store.lookup(C1, 'low')).toEqual(['a:1', 'b:2']);
    clock.advance(1);
    expect(store.prune()).toBe(1);
    expect(store.lookup(C1, 'low')).toBeUndefined();
    expect(store.has(C1)).toBe(false);
  });

  it('4. adds from other sources do not cancel a delete; an add from the deleting source does', () => {
    const { clock, store } = setup(1_000);
    store.processTagInfo([info('docker', C1, ['a:1']), info('docker', C2, ['a:2'])]);
    store.processTagInfo([deletionTagInfo('docker', C1), deletionTagInfo('docker', C2)]);
    store.processTagInfo([info('kubelet', C1, ['b:1'])]); // other source: delete still wins
    store.processTagInfo([info('docker', C2, ['a:3'])]); // restarted container: cancelled
    clock.advance(1_000);
    store.prune();
    expect(store.has(C1)).toBe(false);
    expect(store.lookup(C2, 'low')).toEqual(['a:3']);
    expect(store.counters.deletesCancelled).toBe(1);
  });

  it('5. a tombstone drops adds from other sources until it expires; the deleting source revives', () => {
    const { clock, store } = setup(1_000, 5_000);
    store.processTagInfo([info('docker', C1, ['a:1'])]);
    store.processTagInfo([deletionTagInfo('docker', C1)]);
    clock.advance(1_000);
    store.prune();
    store.processTagInfo([info('ecs', C1, ['task_family:x'])]);
    expect(store.has(C1)).toBe(false);
    expect(store.counters.tombstoneDrops).toBe(1);
    store.processTagInfo([info('docker', C1, ['a:2'])]);
    expect(store.lookup(C1, 'low')).toEqual(['a:2']);
    expect(store.tombstone(C1)).toBeUndefined();

    store.processTagInfo([deletionTagInfo('docker', C1)]);
    clock.advance(1_000);
    store.prune();
    clock.advance(5_000);
    store.prune(); // tombstone expired
    store.processTagInfo([info('ecs', C1, ['task_family:x'])]);
    expect(store.lookup(C1, 'low')).toEqual(['task_family:x']);
  });

  it('6. queries return the same frozen array until the entity changes', () => {
    const { store } = setup();
    store.processTagInfo([info('docker', C1, ['a:1'], ['o:1'], ['h:1'])]);
    const low = store.lookup(C1, 'low');
    const high = store.lookup(C1, 'high');
    expect(Object.isFrozen(low)).toBe(true);
    expect(store.lookup(C1, 'low')).toBe(low);
    expect(store.lookup(C1, 'high')).toBe(high);
    store.processTagInfo([info('docker', C1, ['a:1'], ['o:1'], ['h:1'])]); // identical: nothing recomputed
    expect(store.lookup(C1, 'high')).toBe(high);
    expect(store.counters.unchangedUpdates).toBe(1);
    store.processTagInfo([info('docker', C1, ['a:2'])]);
    expect(store.lookup(C1, 'high')).not.toBe(high);
  });

  it('7. a subscription gets the snapshot, then changes in order, filtered by cardinality and prefix', async () => {
    const { clock, store } = setup(1_000);
    store.processTagInfo([info('docker', C1, ['a:1']), info('kubelet', POD, ['kube_namespace:default'])]);
    const sub = store.subscribe({ cardinality: 'low', prefixes: ['container_id://'] });
    const snapshot = await sub.next();
    expect(snapshot).toEqual([{ type: 'added', entity: { id: C1, tags: { low: ['a:1'], orchestrator: [], high: [], standard: [] } }, version: expect.any(Object) }]);
    const firstVersion = snapshot?.[0]?.type === 'added' ? snapshot[0].version : undefined;
    store.processTagInfo([info('docker', C1, ['a:1'], [], ['container_name:x'])]); // high only: invisible at low
    store.processTagInfo([info('docker', C2, ['a:2']), info('kubelet', POD, ['kube_namespace:other'])]);
    store.processTagInfo([info('docker', C1, ['a:9'])]);
    store.processTagInfo([deletionTagInfo('docker', C1)]);
    clock.advance(1_000);
    store.prune();
    const events: EntityEvent[] = [];
    for (const batch of sub.drain()) events.push(...batch);
    expect(events.map((e) => `${e.type} ${e.entity.id}`)).toEqual([`added ${C2}`, `modified ${C1}`, `deleted ${C1}`]);
    // The version names one state of the tags: a change makes a new one, a snapshot now the same one.
    const modified = events[1];
    expect(modified?.type === 'modified' && modified.version).toBeTruthy();
    expect(modified?.type === 'modified' ? modified.version : undefined).not.toBe(firstVersion);
    const again = [...store.snapshotBatches(sub)].flat().find((e) => e.entity.id === C2);
    expect(again?.type === 'added' ? again.version : undefined).toBe(events[0]?.type === 'added' ? events[0].version : 'none');
    sub.close();
    expect(store.subscriberCount).toBe(0);
  });

  it('7. a subscriber too far behind is dropped with a reason and the store keeps going', () => {
    const { store } = setup();
    const sub = store.subscribe({ cardinality: 'high', maxPendingEvents: 3 });
    for (let i = 0; i < 5; i++) store.processTagInfo([info('docker', C1, [`a:${i}`])]);
    expect(sub.closed).toBe(true);
    expect(sub.reason).toMatch(/overflow/);
    expect(store.subscriberCount).toBe(0);
    expect(store.counters.subscriberDrops).toBe(1);
    expect(store.lookup(C1, 'low')).toEqual(['a:4']);
  });

  it('8. list() and getEntity() show each source’s tags and a pending delete', () => {
    const { store } = setup(1_000);
    store.processTagInfo([info('docker', C1, ['a:1'], [], ['h:1']), info('kubelet', C1, ['b:1'], ['o:1'])]);
    store.processTagInfo([deletionTagInfo('kubelet', C1)]);
    const e = store.getEntity(C1);
    expect(e?.sources.docker).toEqual({ low: ['a:1'], orchestrator: [], high: ['h:1'], standard: [] });
    expect(e?.sources.kubelet?.orchestrator).toEqual(['o:1']);
    expect(e?.pendingDelete?.sources).toEqual(['kubelet']);
    expect(store.list().map((x) => x.id)).toEqual([C1]);
  });

  it('9. shared tag strings are stored once, and a sweep drops those no entity uses', () => {
    const { clock, store } = setup(0);
    const ids = Array.from({ length: 100 }, (_, i) => `container_id://${i.toString(16).padStart(64, '0')}`);
    store.processTagInfo(ids.map((id) => info('kubelet', id, [['kube_namespace', 'default'].join(':')], [], [`container_id:${id.slice(-8)}`])));
    expect(store.distinctTags).toBe(1); // high-cardinality tags are unique per entity and not pooled
    const a = store.lookup(ids[0] as string, 'low')?.[0];
    const b = store.lookup(ids[99] as string, 'low')?.[0];
    expect(a).toBe('kube_namespace:default');
    expect(a === b).toBe(true);
    store.processTagInfo(ids.map((id) => deletionTagInfo('kubelet', id)));
    clock.advance(1);
    store.prune();
    expect(store.size).toBe(0);
    store.compact();
    expect(store.distinctTags).toBe(0);
  });

  it('9. prune sweeps the pool once it has doubled, so churn cannot grow it without bound', () => {
    const { clock, store } = setup(0);
    for (let round = 0; round < 20; round++) {
      const ids = Array.from({ length: 200 }, (_, i) => `container_id://${(round * 1000 + i).toString(16).padStart(64, '0')}`);
      store.processTagInfo(ids.map((id, i) => info('kubelet', id, [`kube_namespace:ns-${round}`], [`pod_name:pod-${round}-${i}`])));
      store.processTagInfo(ids.map((id) => deletionTagInfo('kubelet', id)));
      clock.advance(1);
      store.prune();
    }
    // 20 rounds made 4,020 distinct tags; after each prune at most about twice the live ones remain.
    expect(store.size).toBe(0);
    expect(store.distinctTags).toBeLessThan(2_100);
  });

  it('resolves a 12-hex short ID to the full container ID it knows', () => {
    const { store } = setup();
    store.processTagInfo([info('docker', C1, ['a:1'])]);
    expect(store.resolveShortId('AAAAAAAAAAAA')).toBe(C1);
    expect(store.resolveShortId('bbbbbbbbbbbb')).toBeUndefined();
  });

  it('skips malformed TagInfo and counts it, keeping the rest of the batch', () => {
    const { store } = setup();
    const seen: string[] = [];
    store.onMalformed = (_info, reason) => seen.push(reason);
    const bad = [
      { source: '', entity: C1, low: [], orchestrator: [], high: [], standard: [] },
      { source: 'docker', entity: 'nope', low: [], orchestrator: [], high: [], standard: [] },
      { source: 'docker', entity: C1, low: [42], orchestrator: [], high: [], standard: [] },
      { source: 'docker', entity: C1, low: 'x', orchestrator: [], high: [], standard: [] },
      null,
    ] as unknown as TagInfo[];
    store.processTagInfo([...bad, info('docker', C2, ['ok:1'])]);
    expect(store.counters.malformed).toBe(5);
    expect(seen).toHaveLength(5);
    expect(store.lookup(C2, 'low')).toEqual(['ok:1']);
    expect(store.has(C1)).toBe(false);
  });
});

describe('TagStore short IDs', () => {
  const A = `container_id://${'c'.repeat(12)}${'1'.repeat(52)}`;
  const B = `container_id://${'c'.repeat(12)}${'2'.repeat(52)}`;

  it('resolves a short ID only while exactly one known container has it', () => {
    const { store, clock } = setup(0, 1);
    store.processTagInfo([info('docker', A, ['a:1'])]);
    expect(store.resolveShortId('c'.repeat(12))).toBe(A);
    // Two containers share the prefix: neither wins, whichever came last.
    store.processTagInfo([info('docker', B, ['b:1'])]);
    expect(store.resolveShortId('C'.repeat(12))).toBeUndefined();
    // Removing one makes the other the only one again.
    store.processTagInfo([deletionTagInfo('docker', B)]);
    clock.advance(1);
    store.prune();
    expect(store.resolveShortId('c'.repeat(12))).toBe(A);
    store.remove(A);
    expect(store.resolveShortId('c'.repeat(12))).toBeUndefined();
  });
});
