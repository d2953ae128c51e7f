import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { defaultConfig, resolveConfig } from '../../config.js';
import { compileRules } from '../../rules.js';
import { silentLogger } from '../../logger.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { collectorsFromConfig } from '../registry.js';
import { DockerClient } from './client.js';
import { DockerCollector, formatSince } from './collector.js';
import { FakeDocker } from './test-support/fake-docker.js';
import { BUSYBOX_LOW, E2E, GRACE, PODMAN_E2E, T1, eventLine, harness, json, lines, until } from './test-support/harness.js';

describe('DockerCollector: initial sync', () => {
  it('lists, inspects and tags running containers, then marks synced and healthy', async () => {
    const h = await harness({
      setup: (fake) => {
        fake.put(json('captures/dockerd-20.10/container_inspect.json'));
        fake.put(json('captures/podman-4.3/container_inspect.json'));
        fake.put(json('captures/dockerd-20.10/e2e_inspect_stopped.json'));
      },
    });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    expect(h.tagger.tagSync(`container_id://${T1}`, 'high')).toEqual([...BUSYBOX_LOW, `container_id:${T1}`, 'container_name:t1']);
    expect(h.tagger.tagSync('container_id://3a781b532670ebc371643bc2f7c4c7cad1681550fa8562176a37e849668f9990', 'low')).toEqual([
      'docker_image:localhost/busybox:latest',
      'env:prod',
      'image_id:sha256:ba83b8e632f743504a0db91afa2ee1440de4f2e58f2fc298126f9888e73add16',
      'image_name:localhost/busybox',
      'image_tag:latest',
      'short_image:busybox',
    ]);
    // The stopped container is not listed, so not tagged.
    expect(h.tagger.store.has(`container_id://${E2E}`)).toBe(false);
    await until(() => h.collector.health().healthy);
    expect(h.collector.health().message).toContain('API 1.41');
    const events = h.fake.eventRequests();
    expect(events).toHaveLength(1);
    const since = Number(/since=([\d.]+)/.exec(events[0] as string)?.[1]);
    expect(Math.abs(since * 1000 - (Date.now() - 1_000))).toBeLessThan(3_000);
  });

  it('formats since as seconds.nanoseconds', () => {
    expect(formatSince(1795843303562)).toBe('1795843303.562000000');
    expect(formatSince(-5)).toBe('0.000000000');
  });
});

describe('DockerCollector: fixture event streams', () => {
  it('dockerd create -> start -> kill -> die -> stop -> destroy: tagged, kept through the grace, then gone', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put({ ...json('captures/dockerd-20.10/e2e_inspect.json'), State: { Status: 'created', Running: false } });
    const stream = lines('captures/dockerd-20.10/events_stream.jsonl');
    await h.replay(stream.slice(0, 3)); // create, network connect, start
    expect(h.tagger.tagSync(`container_id://${E2E}`, 'high')).toEqual([...BUSYBOX_LOW, `container_id:${E2E}`, 'container_name:e2e']);
    expect(h.tagger.getEntity(`container_id://${E2E}`)?.pendingDelete).toBeUndefined();
    await h.replay(stream.slice(3)); // kill, kill, die, disconnect, stop, destroy
    const entity = h.tagger.getEntity(`container_id://${E2E}`);
    expect(entity?.pendingDelete?.sources).toEqual(['docker']);
    expect(h.tagger.tagSync(`container_id://${E2E}`, 'low')).toEqual(BUSYBOX_LOW);
    h.tagger.store.prune(h.clock.now() + GRACE - 1);
    expect(h.tagger.store.has(`container_id://${E2E}`)).toBe(true);
    h.tagger.store.prune(h.clock.now() + GRACE + 1);
    expect(h.tagger.store.has(`container_id://${E2E}`)).toBe(false);
    // Only start needed an inspect; kill, stop, destroy did not.
    expect(h.fake.requests.filter((r) => r.path.endsWith(`${E2E}/json`))).toHaveLength(1);
  });

  it('podman create -> init -> start -> stop -> die -> cleanup x2 -> remove', async () => {
    const h = await harness({ template: 'captures/podman-4.3/e2e_inspect.json' });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put(json('captures/podman-4.3/e2e_inspect.json'));
    h.fake.setRunning(PODMAN_E2E, false);
    const stream = lines('captures/podman-4.3/e2e_events.jsonl');
    await h.replay(stream.slice(0, 3));
    expect(h.tagger.tagSync(`container_id://${PODMAN_E2E}`, 'high')).toEqual([
      'docker_image:localhost/busybox:latest',
      'env:prod',
      'image_id:sha256:42528423fc4e41f96b3189fc324fc486528ad8fb6905e2d15ab3a71a54f5686d',
      'image_name:localhost/busybox',
      'image_tag:latest',
      'short_image:busybox',
      `container_id:${PODMAN_E2E}`,
      'container_name:e2e',
    ]);
    await h.replay(stream.slice(3));
    expect(h.tagger.getEntity(`container_id://${PODMAN_E2E}`)?.pendingDelete?.sources).toEqual(['docker']);
    // create, init, stop, cleanup, cleanup changed nothing; start inspected; die and remove deleted.
    expect(h.collector.counters.ignoredEvents).toBe(5);
  });

  it('dockerd CLI variants: a container seen only dying is never tagged; the others are, then pending delete', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    await h.replay(lines('captures/dockerd-20.10/events_cli_variants.jsonl'));
    expect(h.tagger.store.has('container_id://f5ac438eb7e878884d6771c3b52900b6d90972911a128b6b573d446d2e5c54dc')).toBe(false);
    const second = h.tagger.getEntity('container_id://eab950e4378eb2f3c18e4e9b42b003eb730b52a3bbab94a179c963c336d3ed62');
    expect(second?.tags.high).toContain('container_name:nice_sinoussi');
    expect(second?.pendingDelete).toBeDefined();
    const third = h.tagger.getEntity('container_id://5f8f34d651d80b763a8b5e4f5491fdca7537a8313ef5a6d0740259ab0582d4ab');
    expect(third?.tags.high).toContain('container_name:t2');
    expect(third?.tags.low).toContain('docker_image:local/busybox:latest');
    expect(third?.pendingDelete).toBeDefined();
  });

  it('compose 2019: compose tags; the paused container stays, the stopped one is pending delete', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    await h.replay(lines('docker/events_compose_2019_docker19.03.jsonl'));
    const beep1 = h.tagger.getEntity('container_id://278ed6f4ebac945e50fda4266d3d6bafef47a09fd874127902a20684e9c57b91');
    const beep2 = h.tagger.getEntity('container_id://cbac46d62ceec9e1d920ed4eb2dcb18f7426ab7ae8e5e8f7b7b0a01cacdce5ed');
    // The fake builds the inspect from the template, whose image ID it keeps; Docker gives an untagged reference no image_tag.
    expect(beep1?.tags.low).toEqual(['compose_project:sojus', 'compose_service:beep', 'docker_image:sojus_beep', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:sojus_beep', 'short_image:sojus_beep']);
    expect(beep1?.tags.high).toContain('container_name:sojus_beep_1');
    expect(beep1?.pendingDelete).toBeUndefined();
    expect(beep2?.tags.high).toContain('container_name:sojus_beep_2');
    expect(beep2?.pendingDelete).toBeDefined();
  });

  it('the 2025 Fluent Bit run --rm capture and the v1.24 docs example', async () => {
    const h = await harness({ collector: { labelRules: compileRules({ 'com.example.*': 'example' }, 'label', 'docker.labels_as_tags') } });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    await h.replay(lines('docker/events_run_rm_2025_fluentbit.jsonl'));
    await h.replay(lines('docker/events_docs_v1.24_example.jsonl'));
    const rm = h.tagger.getEntity('container_id://598100eb4e301ea850e9ef5243e3051fc340d9c1c5ec961c08b420e8cd18e412');
    expect(rm?.tags.low).toEqual(['docker_image:alpine', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:alpine', 'short_image:alpine']);
    expect(rm?.pendingDelete).toBeDefined();
    const docs = h.tagger.getEntity('container_id://ede54ee1afda366ab42f824e8a5ffd195155d853ceaec74a927f249ea270c743');
    expect(docs?.tags.low).toContain('example:some-label-value');
    expect(docs?.tags.high).toContain('container_name:my-container');
  });
});

describe('DockerCollector: event handling', () => {
  const PAUSE_ID = 'ab'.repeat(32);
  const pauseInspect = (): Record<string, unknown> => {
    const base = json('captures/dockerd-20.10/container_inspect.json') as { Config: Record<string, unknown> };
    return { ...base, Id: PAUSE_ID, Name: '/k8s_POD_web-0_shop_uid_0', Config: { ...base.Config, Image: 'registry.k8s.io/pause:3.9' } };
  };

  it('leaves pause containers untagged, listed or started (exclude_pause_container), unless turned off', async () => {
    const h = await harness({ setup: (fake) => fake.put(pauseInspect()) });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    expect(h.tagger.store.has(`container_id://${PAUSE_ID}`)).toBe(false);
    await h.replay([eventLine(PAUSE_ID, 'start', { image: 'registry.k8s.io/pause:3.9', name: 'k8s_POD_web-0_shop_uid_0' })]);
    expect(h.tagger.store.has(`container_id://${PAUSE_ID}`)).toBe(false);
    const kept = await harness({ setup: (fake) => fake.put(pauseInspect()), collector: { excludePauseContainers: false } });
    await kept.tagger.ready();
    expect(kept.tagger.tagSync(`container_id://${PAUSE_ID}`, 'low')).toContain('short_image:pause');
  });

  it('a die right after a start never lets the slow start inspect revive the container', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put(json('captures/dockerd-20.10/e2e_inspect.json'));
    h.fake.inspectDelayMs = 80;
    h.fake.write(`${eventLine(E2E, 'start')}\n${eventLine(E2E, 'die', { exitCode: '0' })}\n`);
    await until(() => h.collector.counters.events === 2);
    await h.collector.whenIdle();
    expect(h.tagger.getEntity(`container_id://${E2E}`)?.pendingDelete).toBeDefined();
    expect(h.collector.explain(`container_id://${E2E}`)).toEqual(['the container died with exit code 0']);
    expect(h.collector.explain(`container_id://${'0'.repeat(64)}`)).toEqual([]);
  });

  it('a new container is tagged from its start event at once; the inspect then adds env tags', async () => {
    const h = await harness({ collector: { labelRules: compileRules({ team: 'team' }, 'label', 'docker.labels_as_tags') } });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put(json('captures/dockerd-20.10/e2e_inspect.json'));
    h.fake.inspectDelayMs = 300;
    h.fake.write(`${eventLine(E2E, 'start', { image: 'local/busybox:latest', name: 'e2e', service: 'web', team: 'core' })}\n`);
    await until(() => h.tagger.store.has(`container_id://${E2E}`));
    // From the event alone: image, name, labels; no env yet (only inspect returns it).
    expect(h.tagger.tagSync(`container_id://${E2E}`, 'high')).toEqual(['docker_image:local/busybox:latest', 'image_name:local/busybox', 'image_tag:latest', 'short_image:busybox', 'team:core', `container_id:${E2E}`, 'container_name:e2e']);
    await h.collector.whenIdle();
    expect(h.tagger.tagSync(`container_id://${E2E}`, 'low')).toContain('env:prod');
  });

  it('a start whose inspect is 404 (removed meanwhile) leaves nothing behind', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.write(`${eventLine('d'.repeat(64), 'start')}\n`); // no applyEvent: the daemon has no such container
    await until(() => h.collector.counters.events === 1);
    await h.collector.whenIdle();
    expect(h.tagger.store.has(`container_id://${'d'.repeat(64)}`)).toBe(false);
    expect(h.fake.requests.some((r) => r.path === `/v1.41/containers/${'d'.repeat(64)}/json`)).toBe(true);
  });

  it('rename updates container_name; health_status and exec_start need no inspect', async () => {
    const h = await harness({ setup: (fake) => fake.put(json('captures/dockerd-20.10/container_inspect.json')) });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    const inspects = (): number => h.fake.requests.filter((r) => r.path.endsWith(`${T1}/json`)).length;
    const before = inspects();
    await h.replay([eventLine(T1, 'health_status: healthy'), eventLine(T1, 'exec_start: sh -c date'), eventLine(T1, 'exec_die')]);
    expect(inspects()).toBe(before);
    await h.replay([eventLine(T1, 'rename', { name: 'renamed', oldName: '/t1' })]);
    expect(h.tagger.tagSync(`container_id://${T1}`, 'high')).toContain('container_name:renamed');
    expect(h.tagger.tagSync(`container_id://${T1}`, 'high')).not.toContain('container_name:t1');
  });

  it('restart (kill, die, stop, start, restart) keeps the tags and cancels the delete', async () => {
    const h = await harness({ setup: (fake) => fake.put(json('captures/dockerd-20.10/container_inspect.json')) });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    await h.replay([eventLine(T1, 'kill', { signal: '15' }), eventLine(T1, 'die', { exitCode: '143' }), eventLine(T1, 'stop')]);
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeDefined();
    await h.replay([eventLine(T1, 'start'), eventLine(T1, 'restart')]);
    expect(h.tagger.getEntity(`container_id://${T1}`)?.pendingDelete).toBeUndefined();
    expect(h.tagger.tagSync(`container_id://${T1}`, 'low')).toEqual(BUSYBOX_LOW);
  });

  it('resolves an image ID in Config.Image through the image RepoTags', async () => {
    const imageId = 'sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c';
    const h = await harness({
      setup: (fake) => {
        const base = json('captures/dockerd-20.10/container_inspect.json');
        fake.put({ ...base, Config: { ...(base.Config as object), Image: imageId, Env: [] } });
        fake.images.set(imageId, ['<none>:<none>', 'local/busybox:1.36']);
      },
    });
    await h.tagger.ready();
    expect(h.tagger.tagSync(`container_id://${T1}`, 'low')).toEqual(['docker_image:local/busybox:1.36', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:1.36', 'short_image:busybox']);
  });
});

describe('DockerCollector: reconnect, fetch, health', () => {
  it('after the stream ends it reconnects and resyncs: renamed, vanished and new containers', async () => {
    const other = { ...json('captures/dockerd-20.10/e2e_inspect.json') };
    const h = await harness({
      setup: (fake) => {
        fake.put(json('captures/dockerd-20.10/container_inspect.json'));
        fake.put(other);
      },
    });
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    expect(h.tagger.store.has(`container_id://${E2E}`)).toBe(true);
    // The daemon goes away; meanwhile t1 is renamed, e2e is removed, a third container starts.
    h.fake.endStreams();
    const t1 = h.fake.containers.get(T1);
    if (t1) t1.Name = '/t1-renamed';
    h.fake.containers.delete(E2E);
    const podman = json('captures/podman-4.3/container_inspect.json');
    h.fake.put(podman);
    await until(() => h.fake.eventRequests().length === 2 && h.fake.openStreams === 1);
    await h.collector.whenIdle();
    await until(() => h.collector.health().healthy);
    expect(h.tagger.tagSync(`container_id://${T1}`, 'high')).toContain('container_name:t1-renamed');
    expect(h.tagger.getEntity(`container_id://${E2E}`)?.pendingDelete).toBeDefined();
    expect(h.tagger.store.has(`container_id://${String(podman.Id)}`)).toBe(true);
    expect(h.collector.counters.sessions).toBe(2);
    expect(h.collector.counters.resyncDeletes).toBe(1);
  });

  it('a daemon that stops answering /_ping while the stream is open is unhealthy until it answers again', async () => {
    const h = await harness({ collector: { livenessIntervalMs: 30, livenessTimeoutMs: 100 } });
    await h.tagger.ready();
    await until(() => h.collector.health().healthy);
    h.fake.hangPings = true;
    await until(() => !h.collector.health().healthy);
    expect(h.collector.health().message).toContain('is not answering');
    expect(h.collector.counters.pingFailures).toBeGreaterThan(0);
    expect(h.fake.openStreams).toBe(1); // the stream is kept: events resume when the daemon does
    h.fake.hangPings = false;
    await until(() => h.collector.health().healthy);
    expect(h.collector.counters.sessions).toBe(1);
  });

  it('fetches a container missed by the stream; a stopped one comes with its delete; an unknown one is empty', async () => {
    const h = await harness();
    await h.tagger.ready();
    await h.fake.waitForStreams(1);
    h.fake.put(json('captures/dockerd-20.10/container_inspect.json'));
    expect(await h.tagger.tag(`container_id://${T1}`, 'high')).toEqual([...BUSYBOX_LOW, `container_id:${T1}`, 'container_name:t1']);
    h.fake.put(json('captures/dockerd-20.10/e2e_inspect_stopped.json'));
    expect(await h.tagger.tag(`docker://${E2E}`, 'low')).toEqual(BUSYBOX_LOW);
    expect(h.tagger.getEntity(`container_id://${E2E}`)?.pendingDelete).toBeDefined();
    expect(await h.tagger.tag(`container_id://${'e'.repeat(64)}`, 'low')).toEqual([]);
  });

  it('an API below 1.40 is refused: unhealthy with the reason, ready anyway, no list made', async () => {
    const h = await harness({ setup: (fake) => (fake.version = json('docker/version_docs_v1.24.json')) });
    await h.tagger.ready();
    await until(() => h.collector.health().message.includes('too old'));
    expect(h.collector.health().healthy).toBe(false);
    expect(h.fake.requests.some((r) => r.path.includes('/containers/json'))).toBe(false);
  });

  it('a daemon absent at start: unhealthy, retried, then connected', async () => {
    const h = await harness({ start: false });
    await h.tagger.ready();
    await until(() => h.collector.health().message.startsWith('cannot reach'));
    expect(h.collector.health().healthy).toBe(false);
    h.fake.put(json('captures/dockerd-20.10/container_inspect.json'));
    await h.fake.start();
    await until(() => h.collector.health().healthy);
    expect(h.tagger.store.has(`container_id://${T1}`)).toBe(true);
  });

  it('detect() answers through /_ping', async () => {
    const fake = await new FakeDocker(json('captures/dockerd-20.10/e2e_inspect.json')).start();
    const present = new DockerCollector({ client: new DockerClient(fake.host), autodetect: true });
    const absent = new DockerCollector({ client: new DockerClient('unix:///nonexistent/docker.sock'), autodetect: true });
    const plain = new DockerCollector({ client: new DockerClient(fake.host) });
    const signal = new AbortController().signal;
    expect(await present.detect?.(signal)).toEqual({ available: true });
    expect((await absent.detect?.(signal))?.available).toBe(false);
    expect(plain.detect).toBeUndefined();
    await Promise.all([present.close(), absent.close(), plain.close(), fake.close()]);
  });

  it('the registry builds it from docker.host and the rule keys', async () => {
    const fake = await new FakeDocker(json('captures/dockerd-20.10/e2e_inspect.json')).start();
    fake.put(json('captures/dockerd-20.10/container_inspect.json'));
    const config = resolveConfig({ docker: { host: fake.host, labels_as_tags: { TEAM: '+team' }, env_as_tags: { dd_env: 'dd_env' } } });
    const collectors = collectorsFromConfig({ config, clock: new ManualClock(0), logger: silentLogger, env: {} });
    expect(collectors.map((c) => c.name)).toContain('docker');
    const docker = collectors.find((c) => c.name === 'docker');
    expect(docker?.detect).toBeDefined();
    const tagger = new LocalTagger({ collectors: docker ? [docker] : [] });
    await tagger.start();
    await tagger.ready();
    expect(tagger.tagSync(`container_id://${T1}`, 'high')).toEqual([...BUSYBOX_LOW, 'dd_env:prod', `container_id:${T1}`, 'container_name:t1', 'team:core'].sort(byLevel));
    await tagger.stop();
    await fake.close();
    const forced = collectorsFromConfig({ config: resolveConfig({ docker: { enabled: true } }), clock: new ManualClock(0), logger: silentLogger, env: {} });
    expect(forced.find((c) => c.name === 'docker')?.detect).toBeUndefined();
    expect(collectorsFromConfig({ config: resolveConfig({ docker: { enabled: false } }), clock: new ManualClock(0), logger: silentLogger, env: {} }).some((c) => c.name === 'docker')).toBe(false);
    expect(defaultConfig().docker.host).toBe('unix:///var/run/docker.sock');
    expect(() => collectorsFromConfig({ config: resolveConfig({ docker: { host: 'ftp://nope' } }), clock: new ManualClock(0), logger: silentLogger, env: {} })).toThrow(/docker\.host/);
  });
});

/** Low tags first, then high, each sorted: the store's order for the tags above. */
function byLevel(a: string, b: string): number {
  const high = (t: string): number => (/^(container_id|container_name|team):/.test(t) ? 1 : 0);
  return high(a) - high(b) || (a < b ? -1 : a > b ? 1 : 0);
}
