import { describe, expect, it } from 'vitest';
import type { TagInfo } from '../types.js';
import { TagStore } from './tag-store.js';

const info = (n: number, low: string[] = ['a:1']): TagInfo => ({ source: 'docker', entity: `container_id://c${n}`, low, orchestrator: [], high: [], standard: [] });

describe('Subscription bound', () => {
  it('does not count the snapshot against the live-event bound', async () => {
    const store = new TagStore();
    store.processTagInfo(Array.from({ length: 12 }, (_, n) => info(n)));
    const sub = store.subscribe({ cardinality: 'low', maxPendingEvents: 10 });
    // A consumer that awaits something before its first read: live changes still fit the bound.
    store.processTagInfo([info(0, ['a:2'])]);
    store.processTagInfo([info(1, ['a:2'])]);
    expect(sub.closed).toBe(false);
    expect((await sub.next())?.length).toBe(12);
    expect((await sub.next())?.[0]).toMatchObject({ type: 'modified', entity: { id: 'container_id://c0' } });
    expect(sub.pending).toBe(1);
    sub.close();
  });

  it('still closes a subscriber whose live events pass the bound', () => {
    const store = new TagStore();
    store.processTagInfo(Array.from({ length: 12 }, (_, n) => info(n)));
    const sub = store.subscribe({ cardinality: 'low', maxPendingEvents: 10 });
    for (let n = 0; n < 11; n++) store.processTagInfo([info(n, ['a:2'])]);
    expect(sub.reason).toMatch(/^overflow/);
  });
});
