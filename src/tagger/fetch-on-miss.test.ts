import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { FetchResult } from '../collectors/collector.js';
import { silentLogger } from '../logger.js';
import type { EntityId, TagInfo } from '../types.js';
import { FetchOnMiss, type Fetcher } from './fetch-on-miss.js';

const entity = (n: number): EntityId => `ecs_task://t${n}`;

function setup(maxMemos: number): { engine: FetchOnMiss; clock: ManualClock; asked: EntityId[] } {
  const clock = new ManualClock(0);
  const asked: EntityId[] = [];
  const fetcher: Fetcher = {
    name: 'ecs',
    isFetcher: true,
    canFetch: () => true,
    fetch: async (id): Promise<FetchResult> => {
      asked.push(id);
      return { found: false };
    },
  };
  const stored: TagInfo[] = [];
  const engine = new FetchOnMiss({
    fetchers: [fetcher],
    store: { hasSource: () => false, processTagInfo: (infos) => stored.push(...infos) },
    clock,
    logger: silentLogger,
    counts: new Map(),
    track: () => undefined,
    notFoundTtlMs: 1_000,
    maxMemos,
  });
  engine.start(new AbortController().signal);
  return { engine, clock, asked };
}

describe('FetchOnMiss memo', () => {
  it('is bounded: past the bound the least recently remembered outcome goes, reads do not reorder', async () => {
    const { engine } = setup(2);
    await engine.fetchMissing(entity(1));
    await engine.fetchMissing(entity(2));
    expect(engine.memo('ecs', entity(1))?.outcome).toBe('not_found'); // a read: 1 stays the oldest
    await engine.fetchMissing(entity(3));
    expect(engine.memoCount).toBe(2);
    expect(engine.memo('ecs', entity(1))).toBeUndefined();
    expect(engine.memo('ecs', entity(2))).toBeDefined();
    expect(engine.memo('ecs', entity(3))).toBeDefined();
  });

  it('expires at `until` on the injected clock, for queries and for prune', async () => {
    const { engine, clock, asked } = setup(10);
    await engine.fetchMissing(entity(1));
    expect(engine.needsFetch(entity(1))).toBe(false);
    clock.advance(999);
    expect(engine.needsFetch(entity(1))).toBe(false);
    engine.prune(clock.now());
    expect(engine.memoCount).toBe(1);
    clock.advance(1);
    expect(engine.needsFetch(entity(1))).toBe(true);
    engine.prune(clock.now());
    expect(engine.memoCount).toBe(0);
    await engine.fetchMissing(entity(1));
    expect(asked).toEqual([entity(1), entity(1)]);
  });
});
