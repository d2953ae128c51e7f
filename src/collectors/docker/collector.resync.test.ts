/**
 * The resync against the fake daemon: subscribe before the list, hold what arrives, apply it
 * once the list is in; containers known only from events; the shared inspect bound.
 */
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../rules.js';
import { E2E, GRACE, T1, eventLine, harness, json, until } from './test-support/harness.js';

const ID = (n: number): string => n.toString(16).padStart(64, 'a');

describe('DockerCollector: resync while events flow', () => {
  it('subscribes before it lists: a start and a die during a slow resync are both applied', async () => {
    let sent = false;
    const h = await harness({
      setup: (fake) => {
        fake.put(json('captures/dockerd-20.10/container_inspect.json'));
        fake.inspectDelayMs = 100;
        // While the collector lists and inspects t1, e2e starts and t1 dies.
        fake.onList = () => {
          if (sent) return;
          sent = true;
          fake.put(json('captures/dockerd-20.10/e2e_inspect.json'));
          fake.write(`${eventLine(E2E, 'start', { image: 'local/busybox:latest', name: 'e2e' })}\n`);
        };
        fake.onInspect = (id) => {
          if (id !== T1 || !fake.containers.get(T1)) return;
          fake.setRunning(T1, false);
          fake.write(`${eventLine(T1, 'die', { exitCode: '137' })}\n`);
        };
      },
    });
    await h.tagger.ready();
    await until(() => h.collector.counters.events >= 2);
    await h.collector.whenIdle();
    const paths = h.fake.requests.map((r) => r.path);
    expect(paths.findIndex((p) => p.includes('/events'))).toBeLessThan(paths.findIndex((p) => p.includes('/containers/json')));
    expect(h.tagger.getEntity(`container_id://${E2E}`)?.pendingDelete).toBeUndefined();
    expect(h.tagger.tagSync(`container_id://${E2E}`, 'low')).toContain('env:prod');
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeDefined();
    expect(h.collector.explain(`container_id://${T1}`)).toEqual(['the container died with exit code 137']);
  });

  it('a held die older than the list does not undo what the list saw: it is checked by an inspect', async () => {
    const h = await harness({
      setup: (fake) => {
        fake.put(json('captures/dockerd-20.10/container_inspect.json'));
        // t1 died and was started again before the list; the stream delivers the die now and the start later.
        fake.onList = () => fake.write(`${eventLine(T1, 'die', { exitCode: '1' })}\n`);
      },
    });
    await h.tagger.ready();
    await until(() => h.collector.counters.events >= 1);
    await h.collector.whenIdle();
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeUndefined();
    expect(h.fake.requests.filter((r) => r.path.endsWith(`${T1}/json`))).toHaveLength(2);
    // A held removal is final; a held die of a container nobody saw alive tags nothing.
    h.fake.endStreams();
    h.fake.onList = () => {
      h.fake.write(`${eventLine(T1, 'destroy')}\n${eventLine(E2E, 'die', { exitCode: '0' })}\n`);
      h.fake.containers.delete(T1);
    };
    await until(() => h.collector.counters.sessions === 2 && h.collector.counters.events >= 3);
    await until(() => h.collector.health().healthy);
    await h.collector.whenIdle();
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeDefined();
    expect(h.tagger.store.has(`container_id://${E2E}`)).toBe(false);
  });

  it('a held die whose checking inspect fails is believed: the container is deleted', async () => {
    let t1Inspects = 0;
    const h = await harness({
      setup: (fake) => {
        fake.put(json('captures/dockerd-20.10/container_inspect.json'));
        fake.onList = () => fake.write(`${eventLine(T1, 'die', { exitCode: '137' })}\n`);
        // The resync's inspect answers; the one checking the held die fails.
        fake.inspectFault = (id) => (id === T1 && ++t1Inspects === 2 ? 500 : undefined);
      },
    });
    await h.tagger.ready();
    await until(() => h.collector.counters.inspectErrors === 1);
    await h.collector.whenIdle();
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeDefined();
  });

  it('a container tagged from its start event whose inspect fails is deleted by the next resync once it has died', async () => {
    const x = ID(7);
    const h = await harness({ setup: (fake) => (fake.inspectFault = (id) => (id === x ? 500 : undefined)) });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put({ ...json('captures/dockerd-20.10/e2e_inspect.json'), Id: x, Name: '/x' });
    h.fake.write(`${eventLine(x, 'start', { image: 'local/busybox:latest', name: 'x' })}\n`);
    await until(() => h.collector.counters.inspectErrors === 1);
    expect(h.tagger.tagSync(`container_id://${x}`, 'high')).toContain('container_name:x');
    // The stream drops; meanwhile x dies (its die is never delivered) and the daemon recovers.
    h.fake.endStreams();
    h.fake.setRunning(x, false);
    h.fake.inspectFault = undefined;
    await until(() => h.collector.counters.sessions === 2 && h.collector.health().healthy);
    await h.collector.whenIdle();
    expect(h.tagger.getEntity(`container_id://${x}`)?.pendingDelete).toBeDefined();
    h.tagger.store.prune(h.clock.now() + GRACE + 1);
    expect(h.tagger.store.has(`container_id://${x}`)).toBe(false);
  });

  it('a start whose inspect failed is inspected again by the next resync while it still runs', async () => {
    const x = ID(8);
    const h = await harness({ collector: { envRules: compileRules({ app_tier: 'tier' }, 'env', 'docker.env_as_tags') }, setup: (fake) => (fake.inspectFault = (id) => (id === x ? 503 : undefined)) });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    const base = json('captures/dockerd-20.10/e2e_inspect.json');
    h.fake.put({ ...base, Id: x, Name: '/x', Config: { ...(base.Config as object), Env: ['APP_TIER=web'] } });
    h.fake.write(`${eventLine(x, 'start', { image: 'local/busybox:latest', name: 'x' })}\n`);
    await until(() => h.collector.counters.inspectErrors === 1);
    expect(h.tagger.tagSync(`container_id://${x}`, 'low')).not.toContain('tier:web');
    h.fake.inspectFault = undefined;
    h.fake.endStreams();
    await until(() => h.collector.counters.sessions === 2 && h.collector.health().healthy);
    await h.collector.whenIdle();
    expect(h.tagger.tagSync(`container_id://${x}`, 'low')).toContain('tier:web');
  });
});

describe('DockerCollector: the inspect bound', () => {
  it('inspects triggered by live events share the resync bound, and all complete', async () => {
    const h = await harness({ collector: { inspectConcurrency: 3 } });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.inspectDelayMs = 30;
    const ids = Array.from({ length: 40 }, (_, i) => ID(100 + i));
    for (const id of ids) h.fake.put({ ...json('captures/dockerd-20.10/e2e_inspect.json'), Id: id, Name: `/c${id.slice(-3)}` });
    h.fake.write(ids.map((id) => `${eventLine(id, 'start', { image: 'local/busybox:latest' })}\n`).join(''));
    await until(() => h.collector.counters.events === ids.length);
    await h.collector.whenIdle();
    expect(h.fake.maxInspectsInFlight).toBeLessThanOrEqual(3);
    expect(h.fake.maxInspectsInFlight).toBeGreaterThan(1);
    for (const id of ids) expect(h.tagger.tagSync(`container_id://${id}`, 'low')).toContain('env:prod');
    expect(h.collector.counters.inspectErrors).toBe(0);
  });
});
