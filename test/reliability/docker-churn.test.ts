/**
 * Churn soak on the real dockerd of scripts/engines/start.sh: CHURN_CONTAINERS containers are
 * created and removed over about SOAK_MS through the Engine API (bounded concurrency), while a
 * client loop queries tagSync / tag at a high rate and a store subscription stays open. Checked:
 * no query throws; every container is tagged soon after its start returns (p50 / p99 / max
 * measured); after the grace and a prune the store holds exactly the live containers; and once
 * all are gone the heap is back within 10% of its baseline. Sized for the CI budget (the whole
 * reliability suite in under 5 minutes on 2 cores); see docs/reliability.md for scaling.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/collectors/docker/client.js';
import { DockerCollector } from '../../src/collectors/docker/collector.js';
import { compileRules } from '../../src/rules.js';
import type { Subscription } from '../../src/store/subscriptions.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import type { Cardinality } from '../../src/types.js';
import {
  CONTAINER,
  EngineApi,
  NO_DOCKER,
  NO_DOCKER_MESSAGE,
  RUN_LABEL,
  allInStore,
  dockerEngineEnv,
  forEachLimit,
  heapSpaceDelta,
  heapSpaces,
  liveInStore,
  percentile,
  settledHeap,
  sleep,
  until,
} from './docker-support.js';

const CHURN_CONTAINERS = 500;
const SOAK_MS = 150_000;
/** Engine API operations (create+start, or remove) in flight at once. */
const CONCURRENCY = 4;
/** Every KEEP_EVERY-th container lives until the end-of-soak check. */
const KEEP_EVERY = 5;
const LIFETIME_MS: readonly [number, number] = [2_000, 15_000];
/** The warm-up churn before the heap baseline. */
const WARM_CONTAINERS = 20;
/** Start returned -> tagged: every container within this, p99 well below. */
const TAG_LATENCY_GOAL_MS = 1_000;
const GRACE_MS = 1_000;
/** Tombstone and fetch-memo TTL in this test. */
const TTL_MS = 2_000;
const PRUNE_MS = 100;
const RUN_ID = randomBytes(4).toString('hex');
const RUN_TAG = `reliability_run:${RUN_ID}`;
const ENV = dockerEngineEnv();

if (!ENV) {
  describe('docker churn soak on real dockerd', () => {
    it('needs dockerd', () => {
      throw new Error(NO_DOCKER_MESSAGE);
    });
  });
}

/** Deterministic lifetimes, so runs are comparable. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tracked {
  readonly name: string;
  id?: string;
  startedAt?: number;
  taggedAt?: number;
  removed?: boolean;
}

describe.skipIf(!ENV)('docker churn soak on real dockerd', () => {
  const env = ENV ?? NO_DOCKER;
  const label = `${RUN_LABEL}=${RUN_ID}`;
  const labels = { [RUN_LABEL]: RUN_ID };
  const api = new EngineApi(env.socketPath, env.image);
  let collector: DockerCollector;
  let tagger: LocalTagger;
  let subscription: Subscription | undefined;

  beforeAll(async () => {
    collector = new DockerCollector({ client: new DockerClient(env.host), labelRules: compileRules({ [RUN_LABEL]: 'reliability_run' }, 'label', 'docker.labels_as_tags') });
    // Tombstones and remembered fetch outcomes are kept for a TTL: short ones here, so that the
    // heap check after the soak sees them gone, as a daemon's would be after its (longer) TTLs.
    tagger = new LocalTagger({ collectors: [collector], deletionGraceMs: GRACE_MS, pruneIntervalMs: PRUNE_MS, tombstoneTtlMs: TTL_MS, notFoundTtlMs: TTL_MS, errorTtlMs: TTL_MS });
    await tagger.start();
    await tagger.ready();
    await until(() => collector.health().healthy, 15_000, 'collector healthy');
  });

  afterAll(async () => {
    subscription?.close();
    await tagger?.stop();
    await api.cleanup(label);
  });

  interface ChurnPlan {
    readonly count: number;
    readonly durationMs: number;
    /** Every keepEvery-th container is never removed here (0: none kept). */
    readonly keepEvery: number;
    readonly lifetimeMs: readonly [number, number];
    readonly prefix: string;
    readonly seed: number;
  }

  interface ChurnResult {
    readonly tracked: readonly Tracked[];
    readonly soakMs: number;
    readonly queries: number;
    readonly queryErrors: number;
    readonly apiErrors: number;
    /** Removals still due when the hard cap hit, made after it (0 on an engine that keeps pace). */
    readonly overrunRemovals: number;
    /** Creates dispatched before the hard cap (plan.count unless the engine fell far behind). */
    readonly createsCompleted: number;
  }

  /**
   * Creates plan.count containers over 3/4 of plan.durationMs (CONCURRENCY API calls at most in
   * flight), removes each after its lifetime unless kept, while a client loop queries all of them;
   * returns when every create and removal is done (hard cap: durationMs + 30 s).
   */
  async function churn(plan: ChurnPlan): Promise<ChurnResult> {
    const random = mulberry32(plan.seed);
    const tracked: Tracked[] = Array.from({ length: plan.count }, (_, i) => ({ name: `rel-${RUN_ID}-${plan.prefix}${i}` }));
    const lifetimes = tracked.map(() => plan.lifetimeMs[0] + random() * (plan.lifetimeMs[1] - plan.lifetimeMs[0]));
    const createEvery = (plan.durationMs * 0.75) / plan.count; // the last quarter lets lifetimes run out
    const soakStart = Date.now();
    const soakDeadline = soakStart + plan.durationMs + 30_000; // hard cap on the whole churn
    let apiErrors = 0;
    let inflight = 0;
    const ops: Array<Promise<void>> = [];
    const removals: Array<{ at: number; c: Tracked }> = [];
    const dispatch = (op: () => Promise<void>): void => {
      inflight++;
      ops.push(
        op()
          .catch(() => {
            apiErrors++;
          })
          .finally(() => {
            inflight--;
          }),
      );
    };

    const removeTracked = async (c: Tracked): Promise<void> => {
      await api.remove(c.id as string);
      c.removed = true;
    };

    // The client: tagSync at every cardinality on every known ID, tag() now and then, until told to stop.
    let querying = true;
    let queries = 0;
    let queryErrors = 0;
    const cards: readonly Cardinality[] = ['low', 'orchestrator', 'high'];
    const client = (async () => {
      let round = 0;
      while (querying) {
        round++;
        const now = Date.now();
        for (const c of tracked) {
          if (!c.id) continue;
          try {
            for (const card of cards) {
              const tags = tagger.tagSync(CONTAINER + c.id, card);
              queries++;
              if (card === 'high' && c.taggedAt === undefined && c.startedAt !== undefined && tags.includes(`container_name:${c.name}`)) c.taggedAt = now;
            }
            if (round % 20 === 0) {
              await tagger.tag(CONTAINER + c.id.slice(0, 12), 'low'); // short ID: resolved through the store
              queries++;
            }
          } catch {
            queryErrors++;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    let next = 0;
    while (Date.now() < soakDeadline) {
      const now = Date.now();
      // Removals first: on a slow engine the creates fall behind their schedule, and a backlog
      // of creates must not starve the removals (the live count would grow past the plan's).
      removals.sort((a, b) => a.at - b.at);
      while (inflight < CONCURRENCY && removals.length > 0 && (removals[0] as { at: number }).at <= now) {
        const { c } = removals.shift() as { c: Tracked };
        dispatch(() => removeTracked(c));
      }
      while (inflight < CONCURRENCY && next < plan.count && now >= soakStart + next * createEvery) {
        const c = tracked[next] as Tracked;
        const keep = plan.keepEvery > 0 && next % plan.keepEvery === 0;
        const lifetime = lifetimes[next] as number;
        next++;
        dispatch(async () => {
          const id = await api.run(c.name, labels);
          c.id = id;
          c.startedAt = Date.now();
          if (!keep) removals.push({ at: c.startedAt + lifetime, c });
        });
      }
      // Every create has completed (so every removal was scheduled) and every removal is done.
      if (next >= plan.count && removals.length === 0 && inflight === 0) break;
      await sleep(20);
    }
    // The hard cap hit (a slow engine): the creates in flight still schedule their removals, and
    // every removal still due is made now, so the end state is the plan's whatever the pace.
    await Promise.all(ops);
    const overrunRemovals = removals.length;
    await forEachLimit(removals.splice(0).map((r) => r.c), CONCURRENCY, (c) => removeTracked(c).catch(() => void apiErrors++));
    const soakMs = Date.now() - soakStart;
    // Give the last starts time to be tagged, then stop the client.
    await until(() => tracked.every((c) => !c.id || c.taggedAt !== undefined || c.removed), 5_000, 'last containers tagged').catch(() => undefined);
    querying = false;
    await client;
    return { tracked, soakMs, queries, queryErrors, apiErrors, overrunRemovals, createsCompleted: next };
  }

  it(`${CHURN_CONTAINERS} containers churned over ${SOAK_MS / 1000} s under a query flood: no query fails, all tagged in time, store exact, heap back`, async () => {
    // ---- warm-up and baseline, with the subscription open ----
    let subscriptionEvents = 0;
    subscription = tagger.subscribe({ cardinality: 'high', prefixes: [CONTAINER], name: 'soak' });
    const sub = subscription;
    const consuming = (async () => {
      for await (const batch of sub) subscriptionEvents += batch.length;
    })();
    // The same path, smaller, so the baseline already holds what a first run allocates for good
    // (JIT code, pools, caches); only what the soak itself leaves behind counts against it.
    const warm = await churn({ count: WARM_CONTAINERS, durationMs: 8_000, keepEvery: 0, lifetimeMs: [1_000, 3_000], prefix: 'warm', seed: 1 });
    expect(warm.queryErrors + warm.apiErrors).toBe(0);
    await until(() => allInStore(tagger, RUN_TAG).length === 0, 10_000, 'warm-up pruned');
    const heapBefore = await settledHeap();
    const spacesBefore = heapSpaces();

    // ---- the soak ----
    const { tracked, soakMs, queries, queryErrors, apiErrors, overrunRemovals, createsCompleted } = await churn({
      count: CHURN_CONTAINERS,
      durationMs: SOAK_MS,
      keepEvery: KEEP_EVERY,
      lifetimeMs: LIFETIME_MS,
      prefix: 'c',
      seed: 0x7a66e2,
    });

    expect(queryErrors).toBe(0);
    expect(apiErrors).toBe(0);
    const started = tracked.filter((c) => c.id !== undefined);
    expect(started.length).toBe(CHURN_CONTAINERS);
    // Every container that lived past the goal was seen tagged, and within the goal.
    const latencies = started.filter((c) => c.taggedAt !== undefined).map((c) => Math.max(0, (c.taggedAt as number) - (c.startedAt as number)));
    const untagged = started.filter((c) => c.taggedAt === undefined && !c.removed);
    expect(untagged.map((c) => c.name)).toEqual([]);
    expect(latencies.length).toBeGreaterThanOrEqual(CHURN_CONTAINERS * 0.95);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const max = Math.max(...latencies);
    expect(max).toBeLessThanOrEqual(TAG_LATENCY_GOAL_MS);

    // After the grace and a prune: exactly the live (kept) containers, nothing pending.
    const kept = started.filter((_, i) => i % KEEP_EVERY === 0).map((c) => c.id as string).sort();
    await until(async () => JSON.stringify(allInStore(tagger, RUN_TAG)) === JSON.stringify(await api.running(label)), 10_000, 'store exactly the live containers');
    expect(await api.running(label)).toEqual(kept);
    expect(liveInStore(tagger, RUN_TAG)).toEqual(kept);

    // Everything goes; the heap comes back (the subscription still open).
    await forEachLimit(kept, CONCURRENCY, (id) => api.remove(id));
    await until(() => allInStore(tagger, RUN_TAG).length === 0, 10_000, 'all pruned');
    await until(() => tagger.store.tombstoneCount === 0 && tagger.fetchMemoCount === 0, 10_000, 'tombstones and fetch memos expired');
    expect(subscription.closed).toBe(false);
    const heapAfter = await settledHeap();
    const spacesAfter = heapSpaces();
    const growth = (heapAfter - heapBefore) / heapBefore;
    // The limit is on data: code space grows as V8 compiles more of the program during the soak
    // (about +0.6 MB here, bounded by the code, not by the containers that came and went).
    const dataBefore = heapBefore - (spacesBefore.code_space ?? 0);
    const dataGrowth = (heapAfter - (spacesAfter.code_space ?? 0) - dataBefore) / dataBefore;
    subscription.close();
    await consuming;
    expect(subscriptionEvents).toBeGreaterThanOrEqual(2 * CHURN_CONTAINERS);

    console.log(
      `[reliability] docker.churn containers=${CHURN_CONTAINERS} soak_ms=${soakMs} concurrency=${CONCURRENCY} queries=${queries} ` +
        `queries_per_s=${Math.round(queries / (soakMs / 1000))} tag_latency_p50_ms=${p50} p99_ms=${p99} max_ms=${max} ` +
        `heap_before_mb=${(heapBefore / 2 ** 20).toFixed(1)} heap_after_mb=${(heapAfter / 2 ** 20).toFixed(1)} growth_pct=${(growth * 100).toFixed(1)} data_growth_pct=${(dataGrowth * 100).toFixed(1)} spaces=${heapSpaceDelta(spacesBefore, spacesAfter)} ` +
        `overrun_removals=${overrunRemovals} creates=${createsCompleted} subscription_events=${subscriptionEvents} sessions=${collector.counters.sessions} inspects=${collector.counters.inspects}`,
    );
    // Checked last, so the figures above are printed even when it fails.
    expect(dataGrowth).toBeLessThan(0.1);
  }, SOAK_MS + 120_000);
});
