/**
 * The lifecycle promise, through a real LocalTagger with a collector that both streams and fetches
 * (as the Docker and containerd collectors do): random starts, deaths, removals, queries, clock steps
 * and prunes against a plain model. After a death the tags stay through the grace, then go whoever
 * queries; only evidence of life (a start event, a fetch that finds the container running) brings
 * them back. A fetch of a dead container never revives it while its tombstone stands.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Collector, CollectorContext, FetchResult } from '../collectors/collector.js';
import { deletionTagInfo } from '../taglist.js';
import { LocalTagger } from './local-tagger.js';
import type { TagInfo } from '../types.js';

const GRACE = 100;
const IDS = ['a', 'b'].map((c) => `container_id://${c.repeat(64)}`);

type EngineState = 'running' | 'exited' | 'removed';
type Op =
  | { kind: 'start' | 'kill' | 'remove' | 'query'; entity: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'prune' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('start' as const, 'kill' as const, 'remove' as const), entity: fc.constantFrom(...IDS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('query' as const), entity: fc.constantFrom(...IDS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 250 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'prune' as const }) },
);

function infoOf(entity: string): TagInfo {
  return { source: 'docker', entity, low: ['image_name:app'], orchestrator: [], high: [`container_id:${entity.slice(-6)}`], standard: [] };
}

/** A container engine in memory, followed by events and inspected on a miss like dockerd. */
class FakeEngine implements Collector {
  readonly name = 'docker';
  readonly fetchPrefixes = ['container_id://'];
  readonly state = new Map<string, EngineState>();
  ctx: CollectorContext | undefined;
  async run(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    ctx.markSynced();
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  /** Inspect: a running container's tags; a stopped one's with its delete (Docker's toInfos). */
  async fetch(entity: string): Promise<FetchResult> {
    const s = this.state.get(entity);
    if (s === undefined || s === 'removed') return { found: false };
    return { found: true, infos: s === 'running' ? [infoOf(entity)] : [infoOf(entity), deletionTagInfo('docker', entity)] };
  }
  health() {
    return { healthy: true, message: 'ok' };
  }
}

/** What the tags of each container must be: visible, dying (with its deadline) or gone. */
type Seen = { kind: 'visible' } | { kind: 'dying'; until: number } | { kind: 'gone'; tombstoned: boolean };

class Model {
  readonly seen = new Map<string, Seen>(IDS.map((id) => [id, { kind: 'gone', tombstoned: false }]));

  die(id: string, now: number): void {
    if (this.seen.get(id)?.kind === 'visible') this.seen.set(id, { kind: 'dying', until: now + GRACE });
  }

  /** A query's fetch: only a container the engine still has and the store does not. */
  query(id: string, engine: EngineState | undefined, now: number): boolean {
    const s = this.seen.get(id) as Seen;
    if (s.kind === 'gone' && engine === 'running') this.seen.set(id, { kind: 'visible' });
    // A dead container never seen (or long forgotten) is shown for one grace, as from its death.
    if (s.kind === 'gone' && !s.tombstoned && engine === 'exited') this.seen.set(id, { kind: 'dying', until: now + GRACE });
    return (this.seen.get(id) as Seen).kind !== 'gone';
  }

  prune(now: number): void {
    for (const [id, s] of this.seen) if (s.kind === 'dying' && s.until <= now) this.seen.set(id, { kind: 'gone', tombstoned: true });
  }
}

describe('LocalTagger lifecycle against a model', () => {
  it('keeps a dead container through its grace, then drops it for good whoever queries, until it lives again', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 50 }), async (ops) => {
        const clock = new ManualClock(0);
        const engine = new FakeEngine();
        // Tombstones outlive the run and misses are never cached: every query of a dead container fetches.
        const tagger = new LocalTagger({ collectors: [engine], clock, deletionGraceMs: GRACE, tombstoneTtlMs: 1e9, notFoundTtlMs: 0, pruneIntervalMs: 1e9 });
        await tagger.start();
        await tagger.ready();
        const ctx = engine.ctx as CollectorContext;
        const model = new Model();
        try {
          for (const op of ops) {
            const now = clock.now();
            if (op.kind === 'start') {
              engine.state.set(op.entity, 'running');
              ctx.sink.push([infoOf(op.entity)]);
              model.seen.set(op.entity, { kind: 'visible' });
            } else if (op.kind === 'kill' || op.kind === 'remove') {
              const was = engine.state.get(op.entity);
              if (was === undefined || was === 'removed' || (op.kind === 'kill' && was !== 'running')) continue;
              engine.state.set(op.entity, op.kind === 'kill' ? 'exited' : 'removed');
              ctx.sink.push([deletionTagInfo('docker', op.entity)]);
              model.die(op.entity, now);
            } else if (op.kind === 'query') {
              const got = await tagger.tag(op.entity, 'high');
              const expected = model.query(op.entity, engine.state.get(op.entity), now);
              expect(got.length > 0, `${op.entity} visible after ${JSON.stringify(ops.slice(0, ops.indexOf(op) + 1))}`).toBe(expected);
            } else if (op.kind === 'advance') {
              clock.advance(op.ms);
            } else {
              tagger.prune();
              model.prune(clock.now());
            }
          }
        } finally {
          await tagger.stop();
        }
      }),
      { numRuns: 500 },
    );
  });
});
