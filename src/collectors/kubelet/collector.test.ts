import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { silentLogger } from '../../logger.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import type { TagInfo } from '../../types.js';
import type { CollectorContext } from '../collector.js';
import { KubeletClient } from './client.js';
import { KubeletCollector } from './collector.js';
import { kubeletExtractOptions } from './extract.js';
import { hasOpenssl, makeSelfSignedCert } from '../../test-support/certs.js';
import { FakeKubelet } from './test-support/fake-kubelet.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests edit the raw PodList JSON */
const fixtureText = readFileSync(new URL('./testdata/pods_k8s-1.35_containerd.json', import.meta.url), 'utf8');
const freshList = (): { items: any[] } => JSON.parse(fixtureText) as { items: any[] };
const HPA_POD = 'kubernetes_pod_uid://3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4';
const HPA_CONTAINER = 'container_id://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83';
const NEW_ID = 'ab'.repeat(32);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(options: { minRepollIntervalMs?: number; timeoutMs?: number } = {}): Promise<{
  fake: FakeKubelet;
  collector: KubeletCollector;
  ctx: CollectorContext;
  pushes: TagInfo[][];
  clock: ManualClock;
  synced: () => number;
}> {
  const fake = await FakeKubelet.start();
  fake.body = fixtureText;
  const collector = new KubeletCollector({
    client: new KubeletClient({ url: fake.url, tlsVerify: true, timeoutMs: options.timeoutMs ?? 2_000 }),
    extract: kubeletExtractOptions(),
    pollIntervalMs: 60_000,
    autodetect: false,
    minRepollIntervalMs: options.minRepollIntervalMs ?? 1_000,
  });
  const clock = new ManualClock(1_000_000);
  const pushes: TagInfo[][] = [];
  let synced = 0;
  const controller = new AbortController();
  const ctx: CollectorContext = {
    sink: { push: (infos) => void pushes.push([...infos]) },
    clock,
    logger: silentLogger,
    signal: controller.signal,
    knows: () => false,
    requestFetch: () => undefined,
    markSynced: () => void synced++,
  };
  cleanups.push(async () => {
    controller.abort();
    await collector.close();
    await fake.close();
  });
  return { fake, collector, ctx, pushes, clock, synced: () => synced };
}

function entitiesOf(infos: TagInfo[] | undefined, deleted = false): string[] {
  return (infos ?? []).filter((i) => Boolean(i.deleteEntity) === deleted).map((i) => i.entity).sort();
}

describe('KubeletCollector polling and diff', () => {
  it('first poll pushes every pod and container, marks synced; an identical poll pushes nothing', async () => {
    const { collector, ctx, pushes, synced } = await setup();
    await collector.pull(ctx);
    expect(pushes.length).toBe(1);
    expect(entitiesOf(pushes[0]).length).toBe(48);
    // e2e-container-creating restarted: its previous container ID (lastState) is deleted.
    expect(entitiesOf(pushes[0], true)).toEqual(['container_id://68acd6c031804d3992302cb76c9feec17b419b2616f770501fca8fc92a3fff10']);
    expect(synced()).toBe(1);
    expect(collector.health().healthy).toBe(true);
    await collector.pull(ctx);
    expect(pushes.length).toBe(1);
    expect(collector.counters.podsExtracted).toBe(24);
  });

  it('tells pod -> containers listeners, after the push, which pods changed (the cluster tags follow)', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    const seen: Array<{ uids: readonly string[]; pushed: number }> = [];
    const unlisten = collector.onPodsChanged((uids) => seen.push({ uids, pushed: pushes.length }));
    await collector.pull(ctx);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.uids).toHaveLength(24);
    expect(seen[0]?.pushed).toBe(1);
    const uid = HPA_POD.slice('kubernetes_pod_uid://'.length);
    expect(collector.containersOf(uid)).toEqual([HPA_CONTAINER]);
    expect(collector.containersOf('no-such-pod')).toEqual([]);
    await collector.pull(ctx);
    expect(seen).toHaveLength(1);
    // A container of that pod restarts with a new ID: only that pod is reported.
    const list = freshList();
    const pod = list.items.find((p) => p.metadata.uid === uid);
    pod.status.containerStatuses[0].containerID = `containerd://${NEW_ID}`;
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(seen[1]?.uids).toEqual([uid]);
    expect(collector.containersOf(uid)).toEqual([`container_id://${NEW_ID}`]);
    unlisten();
    fake.body = fixtureText;
    await collector.pull(ctx);
    expect(seen).toHaveLength(2);
  });

  it('ignores churn in fields no tag comes from (resourceVersion, conditions, restart counts)', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    const list = freshList();
    for (const pod of list.items) {
      pod.metadata.resourceVersion = '999999';
      pod.status.conditions = [];
      for (const cs of pod.status.containerStatuses ?? []) cs.restartCount = 42;
    }
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(pushes.length).toBe(1);
  });

  it('a reordered body (kubelet walks a map) is matched pod by pod: nothing parsed, nothing pushed', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    const list = freshList();
    list.items.reverse();
    fake.body = JSON.stringify(list);
    const extracted = collector.counters.podsExtracted;
    await collector.pull(ctx);
    // The fixture's layout differs from JSON.stringify's for some pods: those are parsed once
    // (and found unchanged by fingerprint); after that every pod matches by its bytes.
    expect(pushes.length).toBe(1);
    const before = collector.counters.podsUnchangedBytes;
    await collector.pull(ctx);
    expect(pushes.length).toBe(1);
    expect(collector.counters.podsUnchangedBytes - before).toBe(24);
    expect(collector.counters.podsExtracted).toBe(extracted);
    // Deleting a pod is still seen when the rest match by bytes.
    list.items.splice(3, 1);
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(entitiesOf(pushes[1], true).length).toBeGreaterThan(0);
    expect(collector.counters.podsUnchangedBytes - before).toBe(24 + 23);
  });

  it('one malformed pod among byte-identical ones fails the whole poll and keeps the state', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    const compact = JSON.stringify(freshList());
    fake.body = compact;
    await collector.pull(ctx);
    const at = compact.lastIndexOf('"phase":"Running"');
    fake.body = `${compact.slice(0, at)}"phase":Running${compact.slice(at + '"phase":"Running"'.length)}`;
    await expect(collector.pull(ctx)).rejects.toThrow(/item/);
    expect(collector.counters.malformedPolls).toBe(1);
    expect(collector.health().healthy).toBe(false);
    fake.body = compact;
    await collector.pull(ctx);
    expect(pushes.length).toBe(1);
    expect(collector.health().healthy).toBe(true);
  });

  it('a changed pod: only that pod and its containers are pushed', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    const list = freshList();
    list.items[0].metadata.labels['tags.datadoghq.com/env'] = 'staging';
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(entitiesOf(pushes[1])).toEqual([HPA_CONTAINER, HPA_POD].sort());
    expect(pushes[1]?.find((i) => i.entity === HPA_POD)?.standard).toEqual(['env:staging']);
  });

  it('a pod that disappears: its pod and container entities are deleted', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    const list = freshList();
    list.items.splice(0, 1);
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(pushes[1]?.length).toBe(2);
    expect(entitiesOf(pushes[1], true)).toEqual([HPA_CONTAINER, HPA_POD].sort());
    expect(pushes[1]?.every((i) => i.source === 'kubelet')).toBe(true);
  });

  it('a restarted container: new ID tagged, old ID (lastState) deleted', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    const list = freshList();
    const cs = list.items[0].status.containerStatuses[0];
    cs.lastState = { terminated: { exitCode: 137, containerID: cs.containerID } };
    cs.containerID = `containerd://${NEW_ID}`;
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(entitiesOf(pushes[1])).toEqual([`container_id://${NEW_ID}`, HPA_POD].sort());
    expect(entitiesOf(pushes[1], true)).toEqual([HPA_CONTAINER]);
  });

  it('failed or malformed polls keep the last good state, are counted, and show in health', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    await collector.pull(ctx);
    for (const bad of ['garbage', 'truncated', 'not-a-podlist', 'status-500', 'forbidden'] as const) {
      fake.misbehave = bad;
      await expect(collector.pull(ctx), bad).rejects.toThrow();
      expect(collector.health().healthy).toBe(false);
      expect(collector.health().message).toContain('keeping the last good state: 24 pods');
    }
    expect(collector.health().message).toContain('nodes/proxy');
    expect(collector.counters.failedPolls).toBe(5);
    expect(collector.counters.malformedPolls).toBe(3);
    expect(pushes.length).toBe(1);
    fake.misbehave = 'none';
    await collector.pull(ctx);
    expect(pushes.length).toBe(1); // nothing was lost, so nothing to re-push
    expect(collector.health().healthy).toBe(true);
  });

  it('a poll that times out keeps the state', async () => {
    const { fake, collector, ctx, pushes } = await setup({ timeoutMs: 300 });
    await collector.pull(ctx);
    fake.misbehave = 'hang';
    await expect(collector.pull(ctx)).rejects.toMatchObject({ code: 'TAGGER_TIMEOUT' });
    expect(pushes.length).toBe(1);
    expect(collector.health().message).toMatch(/timed out/);
  });

  it('skips malformed items but keeps the rest of the poll', async () => {
    const { fake, collector, ctx, pushes } = await setup();
    const list = freshList();
    list.items.push('garbage', null, { metadata: { name: 'no-uid' } });
    fake.body = JSON.stringify(list);
    await collector.pull(ctx);
    expect(entitiesOf(pushes[0]).length).toBe(48);
    expect(collector.counters.malformedPods).toBe(3);
  });
});

describe('KubeletCollector fetch on a miss', () => {
  function withNewContainer(): string {
    const list = freshList();
    list.items[0].status.containerStatuses.push({ name: 'late', containerID: `containerd://${NEW_ID}`, image: 'busybox:1' });
    return JSON.stringify(list);
  }

  it('re-polls at once for an unknown container, shared by concurrent misses', async () => {
    const { fake, collector, ctx, pushes, clock } = await setup();
    await collector.pull(ctx);
    fake.body = withNewContainer();
    fake.delayMs = 50;
    clock.advance(1_000);
    const signal = new AbortController().signal;
    const results = await Promise.all([collector.fetch(`container_id://${NEW_ID}`, ctx, signal), collector.fetch(`container_id://${NEW_ID}`, ctx, signal), collector.fetch(`container_id://${'cd'.repeat(32)}`, ctx, signal)]);
    expect(results.map((r) => r.found)).toEqual([true, true, false]);
    expect(fake.podRequests).toBe(2);
    expect(collector.counters.repolls).toBe(1);
    expect(entitiesOf(pushes[1])).toContain(`container_id://${NEW_ID}`);
  });

  it('is rate-limited: a second miss within the interval does not poll', async () => {
    const { collector, ctx, clock, fake } = await setup();
    await collector.pull(ctx);
    const signal = new AbortController().signal;
    clock.advance(500);
    expect((await collector.fetch(`container_id://${'cd'.repeat(32)}`, ctx, signal)).found).toBe(false);
    expect(fake.podRequests).toBe(1);
    expect(collector.counters.repollsSkipped).toBe(1);
    clock.advance(600);
    expect((await collector.fetch(`container_id://${'cd'.repeat(32)}`, ctx, signal)).found).toBe(false);
    expect(fake.podRequests).toBe(2);
  });

  it('a known entity answers without a request', async () => {
    const { collector, ctx, fake } = await setup();
    await collector.pull(ctx);
    expect((await collector.fetch(HPA_CONTAINER, ctx, new AbortController().signal)).found).toBe(true);
    expect((await collector.fetch(HPA_POD, ctx, new AbortController().signal)).found).toBe(true);
    expect(fake.podRequests).toBe(1);
  });

  it('stops waiting when the fetch signal aborts, without cancelling the shared poll', async () => {
    const { collector, ctx, fake } = await setup();
    fake.delayMs = 300;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    expect((await collector.fetch(HPA_CONTAINER, ctx, controller.signal)).found).toBe(false);
    expect(Date.now() - started).toBeLessThan(250);
    await collector.pull(ctx); // joins the poll still in flight
    expect(fake.podRequests).toBe(1);
    expect(collector.entityCount).toBe(48);
  });
});

describe('KubeletCollector detect', () => {
  it('available when the kubelet answers, unavailable with a reason when nothing listens', async () => {
    const fake = await FakeKubelet.start({ token: 'x' });
    const make = (url: string): KubeletCollector => new KubeletCollector({ client: new KubeletClient({ url, tlsVerify: true }), extract: kubeletExtractOptions(), pollIntervalMs: 5_000, autodetect: true });
    const up = make(fake.url);
    expect(await up.detect?.(new AbortController().signal)).toEqual({ available: true }); // a 401 still proves a kubelet
    await up.close();
    await fake.close();
    const down = make(fake.url);
    const result = await down.detect?.(new AbortController().signal);
    expect(result?.available).toBe(false);
    expect(result && !result.available ? result.reason : '').toContain(fake.url);
    await down.close();
    const manual = new KubeletCollector({ client: new KubeletClient({ url: fake.url, tlsVerify: true }), extract: kubeletExtractOptions(), pollIntervalMs: 5_000, autodetect: false });
    expect(manual.detect).toBeUndefined();
    await manual.close();
  });
});

describe.skipIf(!hasOpenssl() && process.env.CI !== 'true')('KubeletCollector in a LocalTagger, over HTTPS with a token', () => {
  it('serves pod tags for containers, including one started after the last poll', async () => {
    const cert = makeSelfSignedCert('IP:127.0.0.1');
    const dir = mkdtempSync(join(tmpdir(), 'tagger-kubelet-it-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'ca.crt'), cert.cert);
    writeFileSync(join(dir, 'token'), 'sa-token');
    const fake = await FakeKubelet.start({ tls: cert, token: 'sa-token' });
    fake.body = fixtureText;
    const collector = new KubeletCollector({
      client: new KubeletClient({ url: fake.url, tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), tlsVerify: true }),
      extract: kubeletExtractOptions({ labels: { app: 'app' } }),
      pollIntervalMs: 60_000,
      autodetect: true,
      minRepollIntervalMs: 0,
    });
    const tagger = new LocalTagger({ collectors: [collector] });
    cleanups.push(async () => {
      await tagger.stop();
      await fake.close();
    });
    await tagger.start();
    await tagger.ready();
    expect(await tagger.tag(HPA_CONTAINER, 'orchestrator')).toEqual([
      'app:hpa',
      'image_id:docker.io/library/nginx@sha256:54f2a904c251d5a34adf545a72d32515a15e08418dae0266e23be2e18c66fefa',
      'image_name:docker.io/library/nginx',
      'image_tag:alpine',
      'kube_container_name:php-apache',
      'kube_deployment:e2e-hpa',
      'kube_namespace:scraper',
      'kube_ownerref_kind:replicaset',
      'kube_qos:Burstable',
      'kube_replica_set:e2e-hpa-6cd8d99884',
      'pod_phase:running',
      'short_image:nginx',
      'kube_ownerref_name:e2e-hpa-6cd8d99884',
      'pod_name:e2e-hpa-6cd8d99884-tggnr',
    ]);
    const list = freshList();
    list.items[6].status.containerStatuses.push({ name: 'late', containerID: `containerd://${NEW_ID}`, image: 'busybox:1' });
    fake.body = JSON.stringify(list);
    const tags = await tagger.tag(`containerd://${NEW_ID}`, 'high');
    expect(tags).toEqual(expect.arrayContaining(['kube_container_name:late', 'kube_stateful_set:e2e-statefulset', 'pod_name:e2e-statefulset-0', `container_id:${NEW_ID}`, 'display_container_name:late_e2e-statefulset-0']));
    expect(fake.authorizations.every((a) => a === 'Bearer sa-token')).toBe(true);
    expect(tagger.health().collectors.kubelet?.healthy).toBe(true);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
