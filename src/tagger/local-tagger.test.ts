import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Collector, CollectorContext, DetectResult, FetchResult } from '../collectors/collector.js';
import { deletionTagInfo } from '../taglist.js';
import { silentLogger, type Logger } from '../logger.js';
import { LocalTagger } from './local-tagger.js';
import { until } from '../test-support/wait.js';
import { collectWarnings } from '../test-support/warnings.js';
import type { TagInfo } from '../types.js';

const C1 = `container_id://${'1'.repeat(64)}`;
const C2 = `container_id://${'2'.repeat(64)}`;

function tags(source: string, entity: string, low: string[], high: string[] = []): TagInfo {
  return { source, entity, low, orchestrator: [], high, standard: [] };
}

/** A fetch-only collector whose answers the test controls, counting calls. */
class FakeFetcher implements Collector {
  readonly fetchPrefixes = ['container_id://'];
  calls = 0;
  constructor(
    readonly name: string,
    private readonly answer: (entity: string, signal: AbortSignal) => Promise<FetchResult>,
  ) {}
  async fetch(entity: string, _ctx: CollectorContext, signal: AbortSignal): Promise<FetchResult> {
    this.calls++;
    return this.answer(entity, signal);
  }
  health() {
    return { healthy: true, message: 'ok' };
  }
}

/** A streamer that pushes what the test gives it, then waits for stop. */
class FakeStreamer implements Collector {
  readonly name = 'docker';
  ctx: CollectorContext | undefined;
  constructor(private readonly initial: TagInfo[]) {}
  async run(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    ctx.sink.push(this.initial);
    ctx.markSynced();
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  health() {
    return { healthy: true, message: 'streaming' };
  }
}

const taggers: LocalTagger[] = [];
function make(options: ConstructorParameters<typeof LocalTagger>[0]): LocalTagger {
  const t = new LocalTagger(options);
  taggers.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(taggers.splice(0).map((t) => t.stop()));
});

describe('LocalTagger', () => {
  it('serves a streamer’s tags and becomes ready once it has synced', async () => {
    const streamer = new FakeStreamer([tags('docker', C1, ['image_name:nginx'], ['container_name:web'])]);
    const tagger = make({ collectors: [streamer] });
    await tagger.start();
    await tagger.ready();
    expect(await tagger.tag(C1, 'low')).toEqual(['image_name:nginx']);
    expect(tagger.tagSync(`docker://${'1'.repeat(64)}`, 'high')).toEqual(['image_name:nginx', 'container_name:web']);
    expect(tagger.tagSync('1'.repeat(12), 'orch')).toEqual(['image_name:nginx']);
    expect(tagger.tagSync(C2, 'low')).toEqual([]);
    // Hits are counted in plain fields on the hot path and folded into `queries` at a scrape.
    expect(tagger.flushCounters().queries.get('low:miss')).toBe(1);
    expect(() => tagger.tagSync('bogus', 'low')).toThrow(/invalid entity/);
    expect(() => tagger.tagSync(C1, 'medium' as 'low')).toThrow(/invalid cardinality/);
    // `none` is a level that holds no tags (the Agent's NoneCardinality); the entity is still checked.
    expect(tagger.tagSync(C1, 'none')).toEqual([]);
    expect(await tagger.tag(C1, 'none')).toEqual([]);
    expect(() => tagger.tagSync('bogus', 'none')).toThrow(/invalid entity/);
  });

  it('fetches a miss once for concurrent callers and stores what it found, siblings included', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const ecs = new FakeFetcher('ecs', async (entity) => {
      await gate;
      return { found: true, infos: [tags('ecs', entity, ['task_family:web']), tags('ecs', C2, ['task_family:web'])] };
    });
    const tagger = make({ collectors: [ecs] });
    await tagger.start();
    const pending = [tagger.tag(C1), tagger.tag(C1), tagger.tag(C1)];
    release();
    const results = await Promise.all(pending);
    expect(results).toEqual([['task_family:web'], ['task_family:web'], ['task_family:web']]);
    expect(ecs.calls).toBe(1);
    expect(await tagger.tag(C2)).toEqual(['task_family:web']);
    expect(ecs.calls).toBe(1);
  });

  it('caches not-found for its TTL and errors for a shorter one', async () => {
    const clock = new ManualClock(0);
    let mode: 'missing' | 'broken' = 'missing';
    const ecs = new FakeFetcher('ecs', async () => {
      if (mode === 'broken') throw new Error('connection refused');
      return { found: false };
    });
    const tagger = make({ collectors: [ecs], clock, notFoundTtlMs: 60_000, errorTtlMs: 5_000 });
    await tagger.start();
    expect(await tagger.tag(C1)).toEqual([]);
    expect(await tagger.tag(C1)).toEqual([]);
    expect(ecs.calls).toBe(1);
    expect(tagger.fetchMemo('ecs', C1)?.outcome).toBe('not_found');
    clock.advance(60_000);
    mode = 'broken';
    expect(await tagger.tag(C1)).toEqual([]);
    expect(ecs.calls).toBe(2);
    expect(tagger.fetchMemo('ecs', C1)).toMatchObject({ outcome: 'error', reason: 'connection refused' });
    clock.advance(4_999);
    await tagger.tag(C1);
    expect(ecs.calls).toBe(2);
    clock.advance(1);
    await tagger.tag(C1);
    expect(ecs.calls).toBe(3);
    expect(tagger.counters.fetches.get('ecs:error')).toBe(2);
    // A prune forgets outcomes past their TTL, so the cache does not sit at its bound after churn.
    expect(tagger.fetchMemoCount).toBe(1);
    tagger.prune();
    expect(tagger.fetchMemoCount).toBe(1);
    clock.advance(5_000);
    tagger.prune();
    expect(tagger.fetchMemoCount).toBe(0);
  });

  it('asks a fetcher about an entity another source reported, and never overwrites real tags', async () => {
    const streamer = new FakeStreamer([tags('docker', C1, ['image_name:nginx']), tags('ecs', C2, ['task_family:real'])]);
    const ecs = new FakeFetcher('ecs', async (entity) => ({ found: true, infos: [tags('ecs', entity, ['task_family:web']), tags('ecs', C2, ['task_family:stale'])] }));
    const tagger = make({ collectors: [streamer, ecs] });
    await tagger.start();
    await tagger.ready();
    expect([...(await tagger.tag(C1))].sort()).toEqual(['image_name:nginx', 'task_family:web']);
    expect(await tagger.tag(C2)).toEqual(['task_family:real']);
    expect(ecs.calls).toBe(1);
  });

  it('tagSync answers at once and fetches a miss in the background', async () => {
    const ecs = new FakeFetcher('ecs', async (entity) => ({ found: true, infos: [tags('ecs', entity, ['task_family:web'])] }));
    const tagger = make({ collectors: [ecs] });
    await tagger.start();
    expect(tagger.tagSync(C1)).toEqual([]);
    await until(() => tagger.tagSync(C1).length > 0, 5_000, 'the background fetch');
    expect(tagger.tagSync(C1)).toEqual(['task_family:web']);
    expect(ecs.calls).toBe(1);
  });

  it('bounds a fetch that ignores its signal by the fetch timeout', async () => {
    const slow = new FakeFetcher('ecs', () => new Promise<FetchResult>(() => undefined));
    const tagger = make({ collectors: [slow], fetchTimeoutMs: 50 });
    await tagger.start();
    const started = Date.now();
    expect(await tagger.tag(C1)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(tagger.fetchMemo('ecs', C1)?.outcome).toBe('error');
  });

  it('retries detection of an absent source, and starts it when it appears', async () => {
    let present = false;
    let detections = 0;
    const streamer = new FakeStreamer([tags('docker', C1, ['a:1'])]);
    const late: Collector = {
      name: 'docker',
      detect: async (): Promise<DetectResult> => {
        detections++;
        return present ? { available: true } : { available: false, reason: 'no socket' };
      },
      run: (ctx) => streamer.run(ctx),
      health: () => streamer.health(),
    };
    const tagger = make({ collectors: [late] });
    await tagger.start();
    await tagger.ready(); // an absent source does not hold readiness
    await until(() => detections >= 1 && tagger.health().collectors.docker?.message === 'not detected: no socket', 5_000, 'a failed detection');
    expect(tagger.health().collectors.docker).toMatchObject({ state: 'detecting', message: 'not detected: no socket' });
    present = true;
    await until(() => tagger.store.has(C1), 10_000, 'the source detected and running');
    expect(detections).toBeGreaterThanOrEqual(2);
    expect(tagger.tagSync(C1)).toEqual(['a:1']);
    expect(tagger.health().collectors.docker?.state).toBe('running');
  });

  it('a source that refuses access is unhealthy with the reason, never "not detected", and recovers when allowed', async () => {
    let allowed = false;
    const streamer = new FakeStreamer([tags('docker', C1, ['a:1'])]);
    const refused: Collector = {
      name: 'docker',
      detect: async (): Promise<DetectResult> =>
        allowed ? { available: true } : { available: false, reason: 'connect EACCES /var/run/docker.sock', denied: true },
      run: (ctx) => streamer.run(ctx),
      health: () => streamer.health(),
    };
    // A detect() that throws an access error is classified the same way.
    const tokenUnreadable: Collector = {
      name: 'kubelet',
      detect: () => Promise.reject(Object.assign(new Error('open /token: permission denied'), { code: 'EACCES' })),
      health: () => ({ healthy: true, message: 'unused' }),
    };
    const tagger = make({ collectors: [refused, tokenUnreadable] });
    await tagger.start();
    await tagger.ready();
    await until(() => tagger.health().collectors.docker?.message.startsWith('access denied') === true && tagger.health().collectors.kubelet?.message.startsWith('access denied') === true, 5_000, 'both detections refused');
    const health = tagger.health();
    expect(health.healthy).toBe(false);
    expect(health.collectors.docker).toMatchObject({ healthy: false, state: 'detecting', message: 'access denied: connect EACCES /var/run/docker.sock' });
    expect(health.collectors.kubelet).toMatchObject({ healthy: false, message: 'access denied: open /token: permission denied (EACCES)' });
    allowed = true;
    await until(() => tagger.health().collectors.docker?.state === 'running', 10_000, 'the source allowed and running');
    expect(tagger.health().collectors.docker?.healthy).toBe(true);
  });

  it('prunes on its interval and adds global tags on request', async () => {
    const streamer = new FakeStreamer([tags('docker', C1, ['a:1'])]);
    const tagger = make({ collectors: [streamer], deletionGraceMs: 0, pruneIntervalMs: 20, globalTags: { low: ['cluster_name:prod'] } });
    await tagger.start();
    await tagger.ready();
    expect(tagger.tagSync(C1, 'low', { includeGlobal: true })).toEqual(['a:1', 'cluster_name:prod']);
    streamer.ctx?.sink.push([deletionTagInfo('docker', C1)]);
    await until(() => !tagger.store.has(C1), 5_000, 'the prune');
    expect(tagger.store.has(C1)).toBe(false);
  });

  it("answers the Agent's global entity ID, internal://global-entity-id, with the global entity's tags", async () => {
    const tagger = make({ collectors: [new FakeStreamer([tags('static', 'internal://global', ['env:prod'])])] });
    await tagger.start();
    await tagger.ready();
    expect(tagger.tagSync('internal://global-entity-id')).toEqual(['env:prod']);
    expect(await tagger.tag('internal://global-entity-id')).toEqual(['env:prod']);
  });

  it('keeps polling a puller after a failed poll, keeping its last good state', async () => {
    let polls = 0;
    const puller: Collector = {
      name: 'kubelet',
      pullIntervalMs: 10,
      pull: async (ctx) => {
        polls++;
        if (polls === 2) throw new Error('kubelet timed out');
        if (polls === 1) ctx.sink.push([tags('kubelet', C1, ['kube_namespace:default'])]);
      },
      health: () => ({ healthy: true, message: 'ok' }),
    };
    const tagger = make({ collectors: [puller] });
    await tagger.start();
    await tagger.ready();
    await until(() => polls >= 3, 5_000, 'three polls');
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(tagger.counters.collectorErrors.get('kubelet')).toBe(1);
    expect(tagger.tagSync(C1)).toEqual(['kube_namespace:default']);
    // What `tagger status` shows of it: synced since (the polls after the failure), pushed once,
    // and the failure among its recent errors with the reason.
    const status = tagger.health().collectors['kubelet'];
    expect(status?.lastSyncAt).toBeGreaterThan(0);
    expect(status?.lastUpdateAt).toBeLessThanOrEqual(status?.lastSyncAt as number);
    expect(status?.recentErrors.map((e) => [e.message, e.count])).toEqual([['poll failed; keeping the last good state: kubelet timed out', 1]]);
  });
});

describe('LocalTagger under a flood of misses', () => {
  it('fetches many entities at once without a listener per fetch on the stop signal, and stop() ends them', async () => {
    const warnings = collectWarnings();
    const slow = new FakeFetcher('ecs', (_entity, signal) => new Promise<FetchResult>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })));
    const tagger = make({ collectors: [slow], fetchTimeoutMs: 60_000 });
    await tagger.start();
    const ids = Array.from({ length: 50 }, (_, i) => `container_id://${i.toString(16).padStart(64, '0')}`);
    const pending = ids.map((id) => tagger.tag(id));
    await until(() => slow.calls >= 50, 5_000, 'every fetch started');
    expect(slow.calls).toBe(50);
    await tagger.stop();
    expect(await Promise.all(pending)).toEqual(ids.map(() => []));
    expect(await warnings.stop()).not.toContain('MaxListenersExceededWarning');
  });
});

describe('LocalTagger supervising a streamer', () => {
  /** A logger that keeps what the tagger logs at error level about restarts. */
  function restartLog(): { logger: Logger; restarts: Array<{ error: string; delayMs: number }> } {
    const restarts: Array<{ error: string; delayMs: number }> = [];
    const logger: Logger = {
      ...silentLogger,
      child: () => logger,
      error: (fields, msg) => {
        if (typeof fields === 'object' && msg?.includes('restarting')) restarts.push({ error: String(fields['error']), delayMs: Number(fields['delayMs']) });
      },
    };
    return { logger, restarts };
  }

  it('backs off, and logs why, when run() returns at once without syncing', async () => {
    let runs = 0;
    const quitter: Collector = {
      name: 'docker',
      run: async () => {
        runs++;
      },
      health: () => ({ healthy: false, message: 'gave up' }),
    };
    const { logger, restarts } = restartLog();
    const tagger = make({ collectors: [quitter], logger });
    await tagger.start();
    await until(() => restarts.length >= 3, 10_000, 'three restarts');
    // 250, 500, 1000 ms (±20% jitter): growing, never reset by a run that did nothing.
    expect(restarts[1]?.delayMs).toBeGreaterThan(restarts[0]?.delayMs ?? Infinity);
    expect(restarts[2]?.delayMs).toBeGreaterThan(restarts[1]?.delayMs ?? Infinity);
    expect(restarts[0]?.error).toBe('run() returned before it synced');
    expect(runs).toBeGreaterThanOrEqual(restarts.length);
    expect(tagger.counters.collectorErrors.get('docker')).toBe(restarts.length);
  });

  it('starts the backoff over after a run that synced', async () => {
    const quitter: Collector = {
      name: 'docker',
      run: async (ctx) => {
        ctx.markSynced();
      },
      health: () => ({ healthy: true, message: 'ok' }),
    };
    const { logger, restarts } = restartLog();
    const tagger = make({ collectors: [quitter], logger });
    await tagger.start();
    await until(() => restarts.length >= 3, 10_000, 'three restarts');
    for (const r of restarts) expect(r.delayMs).toBeLessThanOrEqual(300);
    expect(restarts[0]?.error).toBe('run() returned');
  });
});

describe('LocalTagger short IDs', () => {
  it('resolves a containerd container named with exactly 12 hex characters by its own name', async () => {
    const named = `container_id://${'deadbeefcafe'}`;
    const streamer = new FakeStreamer([tags('containerd', named, ['image_name:app']), tags('docker', C1, ['image_name:other'])]);
    const tagger = make({ collectors: [streamer] });
    await tagger.start();
    await tagger.ready();
    expect(tagger.tagSync(named)).toEqual(['image_name:app']);
    expect(tagger.getEntity('deadbeefcafe')?.id).toBe(named);
    expect(tagger.getEntity(named)?.id).toBe(named);
  });

  it('asks a fetcher about a short ID nobody knows yet, and answers with what it found', async () => {
    const docker = new FakeFetcher('docker', async (entity) => (entity === `container_id://${'1'.repeat(12)}` ? { found: true, infos: [tags('docker', C1, ['image_name:nginx'])] } : { found: false }));
    const tagger = make({ collectors: [docker] });
    await tagger.start();
    expect(await tagger.tag('1'.repeat(12))).toEqual(['image_name:nginx']);
    expect(docker.calls).toBe(1);
    expect(tagger.tagSync(C1)).toEqual(['image_name:nginx']);
  });
});
