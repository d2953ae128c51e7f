import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { silentLogger } from '../../logger.js';
import { compileRules } from '../../rules.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import type { EntityId, TagInfo } from '../../types.js';
import type { CollectorContext } from '../collector.js';
import { ContainerdClient } from './client.js';
import { ContainerdCollector } from './collector.js';
import { FakeContainerd, loadRecording, toWireContainer, type Recording } from './test-support/fake-containerd.js';
import { waitForValue } from '../../test-support/wait.js';

const GRACE = 60_000;
const FAST = { initialMs: 20, maxMs: 100 };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const waitFor = <T,>(check: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> => waitForValue(check, what, timeoutMs);

async function fake(recording: Recording = loadRecording('ctr-session-1.6.json'), start = true): Promise<FakeContainerd> {
  const f = new FakeContainerd(recording);
  if (start) await f.start();
  cleanups.push(() => f.close());
  return f;
}

function collectorFor(f: FakeContainerd, extra: Partial<ConstructorParameters<typeof ContainerdCollector>[0]> = {}): ContainerdCollector {
  const api = new ContainerdClient({ socket: f.socket, callTimeoutMs: 2_000 });
  return new ContainerdCollector({ api, socket: f.socket, excludeNamespaces: ['moby'], backoff: FAST, ...extra });
}

async function taggerWith(collector: ContainerdCollector, clock = new ManualClock(1_000_000)): Promise<LocalTagger> {
  const tagger = new LocalTagger({ collectors: [collector], clock, deletionGraceMs: GRACE, logger: silentLogger });
  cleanups.push(() => tagger.stop());
  await tagger.start();
  return tagger;
}

const RUNNING = 'container_id://rec-running';
const EXITING = 'container_id://rec-exit';

describe('ContainerdCollector against a fake containerd replaying a recorded session', () => {
  it('lists, then follows create/start/exec/pause/update/exit/delete in order', async () => {
    const f = await fake();
    const clock = new ManualClock(1_000_000);
    const collector = collectorFor(f, { labelRules: compileRules({ team: 'team' }, 'label', 'containerd.labels_as_tags') });
    const tagger = await taggerWith(collector, clock);
    await tagger.ready();

    // From the initial list: labels team=core, com.datadoghq.tags.env=staging; env DD_SERVICE, DD_VERSION.
    expect(tagger.tagSync(RUNNING, 'high')).toEqual([
      'env:staging',
      'image_name:docker.io/local/busybox',
      'image_tag:latest',
      'service:web',
      'short_image:busybox',
      'team:core',
      'version:2.1',
      'container_id:rec-running',
      'container_name:rec-running',
    ]);
    expect(tagger.health().collectors.containerd?.healthy).toBe(true);

    await f.subscribed();
    f.replayThrough('/tasks/start', 'rec-exit');
    await waitFor(() => tagger.tagSync(EXITING, 'low').includes('env:prod'), 'rec-exit tags');
    expect(tagger.tagSync(EXITING, 'low')).toContain('version:1.2');

    // An exec's exit (id e1), pause and resume leave rec-running alone; the label update shows.
    f.replayThrough('/containers/update', 'rec-running');
    await waitFor(() => tagger.tagSync(RUNNING, 'low').includes('team:platform'), 'updated label');
    expect(tagger.tagSync(RUNNING, 'low')).not.toContain('team:core');
    expect(tagger.getEntity(RUNNING)?.pendingDelete).toBeUndefined();

    f.replayThrough('/tasks/exit', 'rec-exit');
    const pending = await waitFor(() => tagger.getEntity(EXITING)?.pendingDelete, 'rec-exit delete');
    expect(pending.sources).toEqual(['containerd']);
    expect(collector.exitOf(EXITING)?.exitCode).toBe(3);
    expect(collector.explain(EXITING)).toEqual([expect.stringContaining('its task exited with code 3')]);
    expect(tagger.tagSync(EXITING, 'low')).toContain('env:prod'); // still there through the grace

    f.replay(f.remaining);
    await waitFor(() => collector.exitOf(RUNNING), 'rec-running exit');
    expect(collector.exitOf(RUNNING)).toMatchObject({ exitCode: 137, namespace: 'default' });
    expect(collector.exitOf(EXITING)?.exitCode).toBe(3); // the later TaskDelete keeps it

    clock.advance(GRACE + 1);
    tagger.store.prune();
    expect(tagger.tagSync(RUNNING, 'high')).toEqual([]);
    expect(tagger.tagSync(EXITING, 'high')).toEqual([]);
    expect(f.calls.missingNamespace).toBe(0);
  });

  it('after the stream ends with code 14: resubscribes, re-lists, deletes what vanished, adds what came', async () => {
    const f = await fake();
    const collector = collectorFor(f);
    const tagger = await taggerWith(collector);
    await tagger.ready();
    await f.subscribed(1);
    expect(tagger.tagSync(RUNNING, 'low')).toContain('service:web');

    // While the stream is down, rec-running goes and `late` starts; no event will tell.
    f.containers.delete('default/rec-running');
    f.tasks.delete('default/rec-running');
    const late = toWireContainer({ ...(f.recording.containers['default/rec-exit'] as NonNullable<Recording['containers'][string]>), id: 'late' });
    f.containers.set('default/late', late);
    f.tasks.set('default/late', { containerId: 'late', id: 'late', pid: 42, status: 'RUNNING', exitStatus: 0 });
    f.dropStreams();

    await f.subscribed(2);
    await waitFor(() => tagger.getEntity(RUNNING)?.pendingDelete, 'vanished container deleted');
    await waitFor(() => tagger.tagSync('container_id://late', 'low').includes('env:prod'), 'new container added');
    expect(collector.counters.sessions).toBe(2);
    await waitFor(() => tagger.health().collectors.containerd?.healthy, 'healthy again');
  });

  it('keeps retrying while containerd is absent, says so in health, and syncs once it appears', async () => {
    const f = await fake(undefined, false);
    const collector = collectorFor(f);
    const tagger = await taggerWith(collector);
    await tagger.ready(); // readiness does not wait for an absent engine
    const health = await waitFor(() => {
      const h = tagger.health().collectors.containerd;
      return h && !h.healthy && h.message.includes('retrying') ? h : undefined;
    }, 'unhealthy');
    expect(health.message).toContain(f.socket);
    await f.start();
    await waitFor(() => tagger.tagSync(RUNNING, 'low').includes('service:web'), 'tags once containerd is up', 8_000);
    expect(tagger.health().collectors.containerd?.healthy).toBe(true);
  });

  it('with containerd.namespaces set, lists and follows only those', async () => {
    const f = await fake();
    const collector = collectorFor(f, { namespaces: ['k8s.io'] });
    const tagger = await taggerWith(collector);
    await tagger.ready();
    await f.subscribed();
    f.replayThrough('/tasks/start', 'rec-exit');
    f.replayThrough('/containers/update');
    await new Promise((r) => setTimeout(r, 100));
    expect(tagger.list()).toEqual([]);
    expect(collector.counters.events).toBe(0);
  });
});

describe('ContainerdCollector.fetch and kubelet hand-off', () => {
  function ctxRecording(knows: (e: EntityId) => boolean = () => false): { ctx: CollectorContext; pushes: TagInfo[]; requested: EntityId[]; abort: () => void } {
    const pushes: TagInfo[] = [];
    const requested: EntityId[] = [];
    const controller = new AbortController();
    const ctx: CollectorContext = {
      sink: { push: (infos) => pushes.push(...infos) },
      clock: new ManualClock(0),
      logger: silentLogger,
      signal: controller.signal,
      knows,
      requestFetch: (e) => requested.push(e),
      markSynced: () => undefined,
    };
    return { ctx, pushes, requested, abort: () => controller.abort() };
  }

  it('finds a container in any watched namespace; a stopped one comes with its delete', async () => {
    const f = await fake();
    const c = f.containers.get('default/rec-running');
    const t = f.tasks.get('default/rec-running');
    if (!c || !t) throw new Error('fixture');
    f.containers.delete('default/rec-running');
    f.tasks.delete('default/rec-running');
    f.containers.set('k8s.io/rec-running', c);
    f.tasks.set('k8s.io/rec-running', t);
    f.containers.set('k8s.io/done', { ...c, id: 'done' });
    f.tasks.set('k8s.io/done', { ...t, id: 'done', containerId: 'done', status: 'STOPPED', exitStatus: 2 });
    f.containers.set('k8s.io/sbx', { ...c, id: 'sbx', labels: { 'io.cri-containerd.kind': 'sandbox' } });
    const collector = collectorFor(f);
    cleanups.push(() => collector.close());
    const { ctx } = ctxRecording();
    const signal = new AbortController().signal;

    const found = await collector.fetch(RUNNING, ctx, signal);
    expect(found.found && found.infos.map((i) => [i.entity, i.deleteEntity ?? false])).toEqual([[RUNNING, false]]);
    expect(found.found && found.infos[0]?.low).toContain('service:web');

    const done = await collector.fetch('container_id://done', ctx, signal);
    expect(done.found && done.infos.map((i) => i.deleteEntity ?? false)).toEqual([false, true]);
    expect(collector.exitOf('container_id://done')).toMatchObject({ exitCode: 2, namespace: 'k8s.io' });

    expect(await collector.fetch('container_id://sbx', ctx, signal)).toEqual({ found: false });
    expect(await collector.fetch('container_id://nope', ctx, signal)).toEqual({ found: false });
  });

  it("tags image_id with the image's config digest, read from containerd once per image name", async () => {
    const f = await fake();
    const c = f.containers.get('default/rec-running');
    if (!c) throw new Error('fixture');
    const manifest = readFileSync(new URL('./testdata/oci-manifest-busybox.json', import.meta.url));
    const manifestDigest = 'sha256:eae484084f48d10581cb40cfc28091b46ac5f19452332856fe01e758efc5e5fe';
    f.images.set(`default/${c.image}`, { name: c.image, labels: {}, target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length } });
    f.blobs.set(manifestDigest, manifest);
    f.containers.set('default/twin', { ...c, id: 'twin' });
    f.tasks.set('default/twin', { ...f.tasks.get('default/rec-running')!, id: 'twin', containerId: 'twin' });
    f.containers.set('default/other', { ...c, id: 'other', image: 'docker.io/library/absent:1' });
    f.tasks.set('default/other', { ...f.tasks.get('default/rec-running')!, id: 'other', containerId: 'other' });
    const collector = collectorFor(f);
    cleanups.push(() => collector.close());
    const { ctx } = ctxRecording();
    const signal = new AbortController().signal;

    const first = await collector.fetch(RUNNING, ctx, signal);
    const twin = await collector.fetch('container_id://twin', ctx, signal);
    const image = 'image_id:sha256:d85eec6fc3934590b85916053508450ea9c9f0eb3470a411eeb3d25273c50bfb';
    expect(first.found && first.infos[0]?.low).toContain(image);
    expect(twin.found && twin.infos[0]?.low).toContain(image);
    expect(f.calls.getImage).toBe(1);
    expect(f.calls.readContent).toBe(1);

    // An image containerd does not know leaves image_id out; the container is still tagged.
    const other = await collector.fetch('container_id://other', ctx, signal);
    expect(other.found && other.infos[0]?.low.filter((t) => t.startsWith('image_id:'))).toEqual([]);
    expect(other.found && other.infos[0]?.low).toContain('image_tag:1');
    expect(collector.counters).toMatchObject({ imageLookups: 2, imageLookupErrors: 0 });

    // A manifest whose blob is gone is the same: no image_id, no error.
    f.blobs.delete(manifestDigest);
    f.images.set('default/docker.io/local/gone:1', { name: 'docker.io/local/gone:1', labels: {}, target: { mediaType: '', digest: manifestDigest, size: 1 } });
    f.containers.set('default/gone', { ...c, id: 'gone', image: 'docker.io/local/gone:1' });
    const gone = await collector.fetch('container_id://gone', ctx, signal);
    expect(gone.found && gone.infos[0]?.low.some((t) => t.startsWith('image_id:'))).toBe(false);
  });

  it('skips sandboxes and asks for the kubelet re-poll when a pod container starts before its pod is known', async () => {
    const f = await fake();
    const base = f.containers.get('default/rec-running');
    if (!base) throw new Error('fixture');
    const podLabels = { 'io.kubernetes.pod.uid': 'pod-uid-1', 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.container.name': 'app' };
    f.containers.set('k8s.io/sbx1', { ...base, id: 'sbx1', image: 'docker.io/local/pause:latest', labels: { ...podLabels, 'io.cri-containerd.kind': 'sandbox' } });
    f.containers.set('k8s.io/app1', { ...base, id: 'app1', labels: { ...podLabels, 'io.cri-containerd.kind': 'container' } });
    const collector = collectorFor(f, { namespaces: ['k8s.io'] });
    cleanups.push(() => collector.close());
    const { ctx, pushes, requested, abort } = ctxRecording((e) => e === 'kubernetes_pod_uid://known');
    const running = collector.run(ctx);
    cleanups.push(async () => {
      abort();
      await running;
    });
    await f.subscribed();
    await waitFor(() => collector.health().healthy, 'first list done');
    expect(pushes).toEqual([]); // app1 has no task yet, sbx1 is a sandbox
    // TaskStart payloads: field 1 container_id, field 2 pid.
    const start = (id: string): Buffer => Buffer.concat([Buffer.from([0x0a, id.length]), Buffer.from(id), Buffer.from([0x10, 7])]);
    f.tasks.set('k8s.io/sbx1', { containerId: 'sbx1', id: 'sbx1', pid: 6, status: 'RUNNING', exitStatus: 0 });
    f.send({ namespace: 'k8s.io', topic: '/tasks/start', timestamp: { seconds: 1, nanos: 0 }, event: { type_url: 'containerd.events.TaskStart', value: start('sbx1') } });
    f.tasks.set('k8s.io/app1', { containerId: 'app1', id: 'app1', pid: 7, status: 'RUNNING', exitStatus: 0 });
    f.send({ namespace: 'k8s.io', topic: '/tasks/start', timestamp: { seconds: 1, nanos: 0 }, event: { type_url: 'containerd.events.TaskStart', value: start('app1') } });
    await waitFor(() => requested.length > 0, 'kubelet request');
    expect(requested).toEqual(['container_id://app1']);
    expect(pushes.map((p) => p.entity)).toEqual(['container_id://app1']);
    expect(pushes[0]?.orchestrator).toEqual(['pod_name:web-0']);
    expect(pushes[0]?.low).toEqual(expect.arrayContaining(['kube_namespace:shop', 'kube_container_name:app']));
  });

  it('follows containerd again after the tagger is stopped and started (close() does not end it for good)', async () => {
    const f = await fake();
    const collector = collectorFor(f);
    const tagger = await taggerWith(collector);
    await tagger.ready();
    await f.subscribed(1);
    await tagger.stop();
    expect(tagger.health().collectors['containerd']?.state).toBe('stopped');
    await tagger.start();
    // A second Subscribe and a healthy, listing session: before, run() returned at once on the closed channel.
    await f.subscribed(2);
    await waitFor(() => collector.health().healthy, 'healthy after restart');
    f.replayThrough('/tasks/exit', 'rec-exit');
    await waitFor(() => tagger.store.getEntity(EXITING)?.pendingDelete, 'the exit seen after restart');
  });
});
