/**
 * The Docker collector's resync and its inspect bound against REAL engines (see
 * test-support/engines.ts). Containers are named `docker-resync-<run>-…`, labelled with this
 * run's ID, made and removed through the Engine API (test-support/engine-api.ts), and all
 * removed in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRules } from '../../rules.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { until as waitUntil } from '../../test-support/wait.js';
import { DockerClient } from './client.js';
import { DockerCollector } from './collector.js';
import { EngineApi, forEachLimit } from './test-support/engine-api.js';
import { ENGINES, engineAvailable } from './test-support/engines.js';
import type { ContainerInspect } from './types.js';

const RUN_ID = randomBytes(4).toString('hex');
const RUN_LABEL = 'tagger.test.run';
const until = (check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> => waitUntil(check, timeoutMs, 'condition', 50);

/**
 * A real client whose inspects wait at a gate while it is shut: the injected delay that keeps a
 * resync going (it has listed, and is inspecting) for as long as the test makes events.
 */
class GatedClient extends DockerClient {
  private gate: Promise<void> | undefined;
  private open: () => void = () => undefined;
  private reached: () => void = () => undefined;
  /** Resolves at the first inspect that meets the shut gate. */
  readonly waiting: Promise<void>;

  constructor(host: string) {
    super(host);
    this.gate = new Promise((resolve) => (this.open = resolve));
    this.waiting = new Promise((resolve) => (this.reached = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.open();
  }

  override async inspect(id: string, signal?: AbortSignal): Promise<ContainerInspect | undefined> {
    if (this.gate) {
      this.reached();
      await this.gate;
    }
    return super.inspect(id, signal);
  }
}

for (const engine of ENGINES) {
  if (!engineAvailable(engine)) continue;
  describe(`docker collector resync on real ${engine.name}`, () => {
    const host = engine.host ?? '';
    const image = engine.image ?? '';
    const label = `${RUN_LABEL}=resync-${engine.name}-${RUN_ID}`;
    const labels = { [RUN_LABEL]: `resync-${engine.name}-${RUN_ID}` };
    const name = (what: string): string => `docker-resync-${RUN_ID}-${engine.name}-${what}`;
    const api = new EngineApi(host);
    const taggers: LocalTagger[] = [];
    const labelRules = compileRules({ [RUN_LABEL]: 'test_run' }, 'label', 'docker.labels_as_tags');
    const envRules = compileRules({ app_tier: 'tier' }, 'env', 'docker.env_as_tags');

    afterAll(async () => {
      for (const t of taggers) await t.stop();
      await api.removeAll(label);
      await api.close();
    }, 120_000);

    const run = async (what: string, env: readonly string[] = []): Promise<string> => {
      const id = await api.create(image, name(what), labels, env);
      await api.start(id);
      return id;
    };
    /** Live in the store (no pending delete) and ours: the IDs the collector models as running. */
    const live = (tagger: LocalTagger): string[] =>
      tagger
        .list()
        .filter((e) => e.pendingDelete === undefined && e.tags.low.includes(`test_run:${labels[RUN_LABEL]}`))
        .map((e) => e.id.slice('container_id://'.length))
        .sort();

    it('more than 1,000 container events during a resync: the store ends equal to `docker ps -a`', async () => {
      const before = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => run(`pre-${i}`)));
      const client = new GatedClient(host);
      const collector = new DockerCollector({ client, labelRules, envRules });
      const tagger = new LocalTagger({ collectors: [collector], deletionGraceMs: 60_000, pruneIntervalMs: 3_600_000 });
      taggers.push(tagger);
      await tagger.start();
      await client.waiting; // listed; the resync now inspects, and waits
      let events = 0; // dockerd's container events for what follows (Podman sends more)
      // Early changes, soon out of dockerd's 256-event backlog: new containers, deaths, removals, a restart.
      const started = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => run(`early-${i}`)));
      events += 2 * started.length;
      await Promise.all(before.slice(0, 3).map((id) => api.kill(id)));
      events += 2 * 3;
      await Promise.all(before.slice(3, 6).map((id) => api.remove(id)));
      events += 3 * 3;
      await api.restart(before[6] as string);
      events += 4;
      // A flood: 520 containers created and removed (create, destroy).
      await forEachLimit(Array.from({ length: 520 }, (_, i) => i), 16, async (i) => {
        const id = await api.create(image, name(`flood-${i}`), labels);
        await api.remove(id);
      });
      events += 2 * 520;
      // Late changes: two more start, two early ones die, three are created and never started.
      const late = await Promise.all([0, 1].map((i) => run(`late-${i}`)));
      await Promise.all(started.slice(0, 2).map((id) => api.kill(id)));
      await Promise.all([0, 1, 2].map((i) => api.create(image, name(`created-${i}`), labels)));
      events += 2 * 2 + 2 * 2 + 3;
      expect(events).toBeGreaterThan(1_000);
      const received = collector.counters.events;
      client.release();
      await tagger.ready();

      const truth = async (): Promise<string[]> => (await api.list(label)).filter((c) => c.running).map((c) => c.id).sort();
      let expected: string[] = [];
      await until(async () => {
        expected = await truth();
        return JSON.stringify(live(tagger)) === JSON.stringify(expected);
      }, 30_000);
      expect(live(tagger)).toEqual(expected);
      // What the engine says, container by container: running ones are live, the rest are not.
      const all = await api.list(label);
      const liveSet = new Set(live(tagger));
      for (const c of all) expect(liveSet.has(c.id)).toBe(c.running);
      expect(expected).toEqual([...started.slice(2), ...late, ...before.slice(6)].sort());
      // The stream was open and held them (dockerd would have replayed only its last 256).
      expect(received).toBeGreaterThanOrEqual(events);
      await collector.whenIdle();
      expect(collector.counters.inspectErrors).toBe(0);
    }, 180_000);

    it('a burst of 200 starts: every container has its full tags, env included, within seconds', async () => {
      const collector = new DockerCollector({ client: new DockerClient(host), labelRules, envRules });
      const tagger = new LocalTagger({ collectors: [collector], deletionGraceMs: 60_000, pruneIntervalMs: 3_600_000 });
      taggers.push(tagger);
      await tagger.start();
      await tagger.ready();
      await until(() => collector.health().healthy, 10_000);
      const full = (id: string): boolean => {
        const low = tagger.tagSync(`container_id://${id}`, 'low');
        return low.includes('env:burst') && low.includes('tier:web') && low.includes(`test_run:${labels[RUN_LABEL]}`);
      };
      // Each container's lag: from its start returning to its full tags (env rules need the inspect).
      const startedAt = new Map<string, number>();
      const lag = new Map<string, number>();
      const watch = setInterval(() => {
        for (const [id, at] of startedAt) if (!lag.has(id) && full(id)) lag.set(id, Date.now() - at);
      }, 10);
      const t0 = Date.now();
      const ids: string[] = [];
      let startedAll = 0;
      try {
        await forEachLimit(Array.from({ length: 200 }, (_, i) => i), 16, async (i) => {
          const id = await run(`burst-${i}`, ['DD_ENV=burst', 'APP_TIER=web']);
          startedAt.set(id, Date.now());
          ids.push(id);
        });
        startedAll = Date.now();
        await until(() => ids.every(full) && lag.size === ids.length, 30_000);
      } finally {
        clearInterval(watch);
      }
      const tagged = Date.now();
      const lags = [...lag.values()].sort((a, b) => a - b);
      const pct = (p: number): number => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? -1;
      console.log(
        `[${engine.name}] 200 starts (16 at a time) took ${startedAll - t0} ms; all fully tagged ${tagged - startedAll} ms after the last start returned; ` +
          `per container, start returned -> full tags: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${lags.at(-1) ?? -1} ms`,
      );
      expect(pct(0.99)).toBeLessThan(5_000);
      expect(tagged - startedAll).toBeLessThan(5_000);
      await collector.whenIdle();
      expect(collector.counters.inspectErrors).toBe(0);
    }, 180_000);
  });
}
