/**
 * Kubelet and ECS faults against fake servers, with the real collectors in a real LocalTagger.
 *
 * Kubelet: a good state is established from a real PodList, then each fault is injected in turn
 * (500, a hang past the timeout, a TCP reset mid-body, truncated JSON, HTML, a body that is not a
 * PodList, 50 MB bodies, TLS certificate swaps, 401/403) and removed again. After each: the tags
 * are unchanged, the error is counted by the collector and by the tagger, health says why, nothing
 * rejects unhandled, and the collector recovers. Valid JSON under a wrong content type must work,
 * and a PodList of 5000 pods must be accepted and tagged; its poll time and heap are measured.
 *
 * ECS: the agent introspection and task metadata v4 endpoints fail together (500, hang, reset,
 * HTML, truncated JSON): tag() answers [] within the fetch timeout, and a flood of 1000 misses
 * costs a bounded number of requests, counted at the fakes, because the error is cached.
 *
 * Figures are printed as one JSON line at the end (`[reliability:kubelet-ecs]`) for
 * docs/reliability.md. The heap checks need --expose-gc (vitest.reliability.config.ts sets it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcsClient } from '../../src/collectors/ecs/client.js';
import { EcsCollector } from '../../src/collectors/ecs/collector.js';
import { KubeletClient } from '../../src/collectors/kubelet/client.js';
import { KubeletCollector } from '../../src/collectors/kubelet/collector.js';
import { kubeletExtractOptions } from '../../src/collectors/kubelet/extract.js';
import { hasOpenssl, makeSelfSignedCert, type TestCert } from '../../src/test-support/certs.js';
import { REQUIRE_ALL } from '../../src/test-support/required.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { FaultServer, type Fault } from './support/fault-server.js';
import { until } from '../../src/test-support/wait.js';

const kubeletData = (name: string): string => readFileSync(new URL(`../../src/collectors/kubelet/testdata/${name}`, import.meta.url), 'utf8');
const ecsData = (name: string): string => readFileSync(new URL(`../../src/collectors/ecs/testdata/${name}`, import.meta.url), 'utf8');

const gc = (globalThis as { gc?: () => void }).gc;
/** heapUsed after two full collections, in MB; undefined without --expose-gc. */
function settledHeapMb(): number | undefined {
  if (!gc) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

const figures: Record<string, number | string> = { heap_checks: gc ? 'on' : 'skipped: run without --expose-gc' };
const round = (n: number): number => Math.round(n * 10) / 10;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  console.log(`[reliability:kubelet-ecs] ${JSON.stringify(figures)}`);
});

const waitFor = (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => until(condition, timeoutMs, what);

// ---------------------------------------------------------------------------------------------
// Kubelet

const POLL_MS = 100;
const KUBELET_TIMEOUT_MS = 5_000; // the factory's minimum: a 5000-pod PodList over TLS must fit on a busy machine
const KUBELET_FETCH_TIMEOUT_MS = 500;
const FIXTURE = kubeletData('pods_k8s-1.35_containerd.json');
const FIXTURE_PODS = 24;
const FIXTURE_ENTITIES = 48;
const HPA_POD = 'kubernetes_pod_uid://3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4';
const HPA_CONTAINER = 'container_id://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83';
const ETCD_CONTAINER = 'container_id://104e1ed61ab8781f2e535a12c2d8084c79975d2a7931fe6b04c63f6cb45af71e';
const WATCHED = [HPA_POD, HPA_CONTAINER, ETCD_CONTAINER];

/* eslint-disable @typescript-eslint/no-explicit-any -- the PodList is edited as raw JSON */
/** Replaces every `containerID` value in a pod (status and lastState) with a fresh unique one. */
function renumberContainers(value: any, next: () => string): void {
  if (Array.isArray(value)) for (const v of value) renumberContainers(v, next);
  else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (key === 'containerID' && typeof value[key] === 'string') value[key] = `containerd://${next()}`;
      else renumberContainers(value[key], next);
    }
  }
}

/** The fixture's 24 pods unchanged, then clones of them (new UID, name and container IDs) up to `total`. */
function bigPodList(total: number): { body: Buffer; clonePods: string[]; cloneContainers: string[] } {
  const list = JSON.parse(FIXTURE) as { items: any[] };
  const originals = list.items.map((pod) => JSON.stringify(pod));
  const clonePods: string[] = [];
  const cloneContainers: string[] = [];
  let serial = 0;
  const next = (): string => `e${(serial++).toString(16).padStart(63, '0')}`;
  for (let i = list.items.length; i < total; i++) {
    const pod = JSON.parse(originals[i % originals.length] ?? '{}');
    pod.metadata.uid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    pod.metadata.name = `${pod.metadata.name}-${i}`;
    renumberContainers(pod, next);
    clonePods.push(`kubernetes_pod_uid://${pod.metadata.uid}`);
    for (const cs of pod.status?.containerStatuses ?? []) cloneContainers.push(`container_id://${String(cs.containerID).slice('containerd://'.length)}`);
    list.items.push(pod);
  }
  return { body: Buffer.from(JSON.stringify(list)), clonePods, cloneContainers };
}

/** The fixture PodList with its items, then `metadata.padding` made up to `bytes` in total. */
function paddedPodList(bytes: number): Buffer {
  const list = JSON.parse(FIXTURE) as { items: unknown[] };
  const head = Buffer.from('{"kind":"PodList","apiVersion":"v1","metadata":{"padding":"');
  const tail = Buffer.from(`"},"items":${JSON.stringify(list.items)}}`);
  const buf = Buffer.alloc(bytes, 'x');
  head.copy(buf, 0);
  tail.copy(buf, bytes - tail.length);
  return buf;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// The kubelet's TLS certificates are made with openssl: without it the suite skips, except in CI
// (CI=true or TAGGER_REQUIRE_ENGINES=1), where a silent skip would hide the whole suite.
if (!hasOpenssl() && REQUIRE_ALL) {
  describe('kubelet faults', () => {
    it('needs openssl', () => {
      throw new Error('openssl is not on PATH, and CI=true or TAGGER_REQUIRE_ENGINES=1 forbids skipping the kubelet fault suite: apt-get install -y openssl');
    });
  });
}

describe.skipIf(!hasOpenssl())('kubelet faults: the last good state is kept, errors counted, then recovery', () => {
  let dir: string;
  let tokenFile: string;
  let good: TestCert;
  let otherName: TestCert;
  let fake: FaultServer;
  let collector: KubeletCollector;
  let tagger: LocalTagger;
  let baselineHeap: number | undefined;

  const errorsCounted = (): number => tagger.counters.collectorErrors.get('kubelet') ?? 0;
  const health = (): { healthy: boolean; message: string } => tagger.health().collectors.kubelet ?? { healthy: false, message: 'missing' };
  const snapshot = (): { entities: number; tags: Array<readonly string[]> } => ({ entities: tagger.list().length, tags: WATCHED.map((id) => tagger.tagSync(id, 'high')) });

  /** Two full polls after now, the last one successful. */
  async function recovered(): Promise<void> {
    const polls = collector.stats.polls;
    await waitFor(() => collector.stats.polls >= polls + 2 && health().healthy, 4 * KUBELET_TIMEOUT_MS, 'a successful poll after the fault');
  }

  /** Injects a fault, checks it is counted and harmless, removes it, checks recovery. */
  async function faultCycle(apply: () => void, remove: () => void, message: RegExp, failures = 2, during?: () => Promise<void>): Promise<void> {
    const before = snapshot();
    const errors = errorsCounted();
    const failed = collector.stats.failedPolls;
    apply();
    await during?.();
    await waitFor(() => collector.stats.failedPolls >= failed + failures && errorsCounted() >= errors + failures, failures * KUBELET_TIMEOUT_MS + 5_000, `${failures} failed polls`);
    expect(health().healthy).toBe(false);
    expect(health().message).toMatch(message);
    expect(health().message).toContain(`keeping the last good state: ${FIXTURE_PODS} pods`);
    expect(snapshot()).toEqual(before);
    remove();
    await recovered();
    expect(snapshot()).toEqual(before);
    expect(tagger.health().collectors.kubelet?.state).toBe('running');
    expect(unhandled).toEqual([]);
  }

  const withFault = (fault: Fault): [() => void, () => void] => [() => void (fake.fault = fault), () => void (fake.fault = undefined)];

  beforeAll(async () => {
    good = makeSelfSignedCert('IP:127.0.0.1');
    otherName = makeSelfSignedCert('DNS:other.invalid', 'other-kubelet');
    dir = mkdtempSync(join(tmpdir(), 'tagger-rel-kubelet-'));
    tokenFile = join(dir, 'token');
    // The CA bundle trusts the good certificate and one issued for another name (see the TLS test).
    writeFileSync(join(dir, 'ca.crt'), good.cert + otherName.cert);
    writeFileSync(tokenFile, 'token-1\n');
    fake = await FaultServer.start({ tls: good });
    fake.token = 'token-1';
    fake.route('/pods', FIXTURE);
    fake.timedPath = '/pods';
    collector = new KubeletCollector({
      client: new KubeletClient({ url: fake.url, tokenFile, caFile: join(dir, 'ca.crt'), tlsVerify: true, timeoutMs: KUBELET_TIMEOUT_MS }),
      extract: kubeletExtractOptions(),
      pollIntervalMs: POLL_MS,
      autodetect: false,
      minRepollIntervalMs: 0,
    });
    tagger = new LocalTagger({ collectors: [collector], fetchTimeoutMs: KUBELET_FETCH_TIMEOUT_MS, deletionGraceMs: 200, pruneIntervalMs: 100, tombstoneTtlMs: 300 });
    await tagger.start();
    await tagger.ready();
  });

  afterAll(async () => {
    await tagger?.stop();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('good state: every pod and container of the PodList is tagged', async () => {
    expect(health().healthy).toBe(true);
    expect(tagger.list().length).toBe(FIXTURE_ENTITIES);
    expect(tagger.tagSync(HPA_CONTAINER, 'orchestrator')).toEqual(
      expect.arrayContaining(['kube_namespace:scraper', 'kube_deployment:e2e-hpa', 'kube_container_name:php-apache', 'pod_name:e2e-hpa-6cd8d99884-tggnr']),
    );
    expect(tagger.tagSync(ETCD_CONTAINER, 'orchestrator')).toEqual(expect.arrayContaining(['kube_namespace:kube-system', 'pod_name:etcd-datagen-1-35']));
    expect(errorsCounted()).toBe(0);
    baselineHeap = settledHeapMb();
    if (baselineHeap !== undefined) figures.kubelet_baseline_heap_mb = round(baselineHeap);
  });

  it('HTTP 500', () => faultCycle(...withFault({ kind: 'status', status: 500, body: 'internal error' }), /HTTP 500/));

  it('a hang past the timeout: polls time out, misses answer [] in time, no connections pile up', async () => {
    fake.resetCounts();
    const [apply, remove] = withFault({ kind: 'hang' });
    // A miss for an unknown container joins (or starts) a hung poll: it must give up at the fetch timeout.
    const probe = async (): Promise<void> => {
      await delay(2 * POLL_MS);
      const started = performance.now();
      expect(await tagger.tag(`container_id://${'ab'.repeat(32)}`, 'high')).toEqual([]);
      const took = performance.now() - started;
      figures.kubelet_miss_during_hang_ms = Math.round(took);
      expect(took).toBeLessThan(KUBELET_FETCH_TIMEOUT_MS + 400);
    };
    await faultCycle(apply, remove, /timed out after 5000 ms/, 1, probe);
    // undici's pool for the kubelet has two connections; timed-out requests close theirs.
    expect(fake.peakSockets).toBeLessThanOrEqual(2);
  });

  it('a TCP reset mid-body', () => faultCycle(...withFault({ kind: 'reset' }), /cannot reach/));

  it('truncated JSON', async () => {
    const malformed = collector.stats.malformedPolls;
    await faultCycle(...withFault({ kind: 'truncated' }), /cannot decode JSON/);
    expect(collector.stats.malformedPolls).toBeGreaterThanOrEqual(malformed + 2);
  });

  it('an HTML error page with status 200', () =>
    faultCycle(...withFault({ kind: 'body', parts: [Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>')], contentType: 'text/html' }), /cannot decode JSON/));

  it('JSON that is not a PodList', () => faultCycle(...withFault({ kind: 'body', parts: [Buffer.from('{"kind":"Status","status":"Failure","items":"none"}')] }), /no "items" array/));

  it('valid JSON under wrong content types is used anyway (content type is never relied on)', async () => {
    const errors = errorsCounted();
    const changed = JSON.parse(FIXTURE) as { items: Array<{ metadata: { labels: Record<string, string> } }> };
    const first = changed.items[0];
    if (!first) throw new Error('fixture has no pods');
    first.metadata.labels['tags.datadoghq.com/env'] = 'staging';
    fake.fault = { kind: 'body', parts: [Buffer.from(JSON.stringify(changed))], contentType: 'text/plain; charset=utf-8' };
    await waitFor(() => tagger.tagSync(HPA_CONTAINER, 'low').includes('env:staging'), 5_000, 'the text/plain PodList to apply');
    fake.fault = { kind: 'body', parts: [Buffer.from(FIXTURE)], contentType: 'text/html' };
    await waitFor(() => !tagger.tagSync(HPA_CONTAINER, 'low').includes('env:staging'), 5_000, 'the text/html PodList to apply');
    fake.fault = { kind: 'body', parts: [Buffer.from(JSON.stringify(changed))] }; // no content type at all
    await waitFor(() => tagger.tagSync(HPA_CONTAINER, 'low').includes('env:staging'), 5_000, 'the untyped PodList to apply');
    fake.fault = undefined;
    await waitFor(() => !tagger.tagSync(HPA_CONTAINER, 'low').includes('env:staging'), 5_000, 'the fixture to apply again');
    expect(errorsCounted()).toBe(errors);
    expect(health().healthy).toBe(true);
    expect(tagger.list().length).toBe(FIXTURE_ENTITIES);
  });

  it('50 MB bodies: a valid one is accepted; one cut short and one over the 64 MiB cap are errors; the heap settles', async () => {
    const before = snapshot();
    let big: Buffer | undefined = paddedPodList(50 * 1024 * 1024);
    const errors = errorsCounted();
    const times = fake.requestTimes.length;
    fake.fault = { kind: 'body', parts: [big] };
    await waitFor(() => fake.requestTimes.length >= times + 3, 30_000, 'polls of the 50 MB body');
    const [t0, t1] = [fake.requestTimes[times], fake.requestTimes[times + 1]];
    if (t0 !== undefined && t1 !== undefined) figures.kubelet_50mb_poll_ms = t1 - t0 - POLL_MS;
    expect(errorsCounted()).toBe(errors);
    expect(health().healthy).toBe(true);
    expect(snapshot()).toEqual(before);
    const cut = big.subarray(0, big.length - 4096);
    await faultCycle(() => void (fake.fault = { kind: 'body', parts: [cut] }), () => void (fake.fault = undefined), /cannot decode JSON/);
    // 50 MiB + 16 MiB: more than the client's 64 MiB cap, which bounds what one poll can hold.
    const over = [big, big.subarray(0, 16 * 1024 * 1024)];
    await faultCycle(() => void (fake.fault = { kind: 'body', parts: over }), () => void (fake.fault = undefined), /larger than 67108864 bytes/);
    big = undefined;
    const heap = settledHeapMb();
    if (heap !== undefined && baselineHeap !== undefined) {
      figures.kubelet_heap_after_50mb_mb = round(heap);
      expect(heap - baselineHeap).toBeLessThan(20);
    }
  });

  it('TLS: a certificate for another name, then an untrusted one, mid-run', async () => {
    const untrusted = makeSelfSignedCert('IP:127.0.0.1', 'impostor');
    await faultCycle(() => fake.setCertificate(otherName), () => fake.setCertificate(good), /TLS with kubelet .* failed/);
    await faultCycle(() => fake.setCertificate(untrusted), () => fake.setCertificate(good), /TLS with kubelet .* failed \((SELF_SIGNED|DEPTH_ZERO|UNABLE)/);
  });

  it('401 (token rotated at the kubelet), recovered by the rotated token file; 403', async () => {
    await faultCycle(() => void (fake.token = 'token-2'), () => writeFileSync(tokenFile, 'token-2\n'), /HTTP 401/);
    await faultCycle(...withFault({ kind: 'status', status: 403, body: 'Forbidden' }), /nodes\/proxy/);
  });

  it('a PodList of 5000 pods is accepted and tagged; poll time and heap measured; back to 24 pods the heap settles', async () => {
    const { body, clonePods, cloneContainers } = bigPodList(5000);
    figures.kubelet_5000_pods_body_mb = round(body.length / 1e6);
    const errors = errorsCounted();
    const before = snapshot().tags;
    const times = fake.requestTimes.length;
    const started = performance.now();
    fake.route('/pods', body);
    await waitFor(() => health().message.endsWith(': 5000 pods'), 30_000, 'the 5000-pod poll');
    figures.kubelet_5000_pods_until_tagged_ms = Math.round(performance.now() - started);
    await waitFor(() => fake.requestTimes.length >= times + 6, 30_000, 'steady polls of 5000 pods');
    const gaps = fake.requestTimes.slice(times, times + 6).map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] ?? t) - POLL_MS)).slice(1);
    figures.kubelet_5000_pods_first_poll_ms = gaps[0] ?? -1;
    figures.kubelet_5000_pods_steady_poll_ms = Math.max(...gaps.slice(1));
    expect(errorsCounted()).toBe(errors);
    // Every pod and container is in the store, and the originals are untouched.
    expect(tagger.list().length).toBe(5000 + FIXTURE_ENTITIES - FIXTURE_PODS + cloneContainers.length);
    expect(clonePods.every((id) => tagger.tagSync(id, 'orchestrator').length > 0)).toBe(true);
    expect(cloneContainers.every((id) => tagger.tagSync(id, 'orchestrator').length > 0)).toBe(true);
    expect(snapshot().tags).toEqual(before);
    // Clone 24 is the HPA pod again (the fixture's first pod), under a new name.
    expect(tagger.tagSync(cloneContainers[0] ?? '', 'orchestrator')).toEqual(
      expect.arrayContaining(['kube_namespace:scraper', 'kube_deployment:e2e-hpa', 'pod_name:e2e-hpa-6cd8d99884-tggnr-24']),
    );
    const loaded = settledHeapMb();
    if (loaded !== undefined && baselineHeap !== undefined) {
      figures.kubelet_5000_pods_heap_mb = round(loaded);
      figures.kubelet_5000_pods_heap_growth_mb = round(loaded - baselineHeap);
      expect(loaded - baselineHeap).toBeLessThan(150);
    }
    fake.route('/pods', FIXTURE);
    await waitFor(() => health().message.endsWith(`: ${FIXTURE_PODS} pods`), 10_000, 'the 24-pod poll');
    await waitFor(() => tagger.list().length === FIXTURE_ENTITIES && tagger.store.pendingDeleteCount === 0 && tagger.store.tombstoneCount === 0, 10_000, 'deleted pods pruned');
    expect(snapshot().tags).toEqual(before);
    const after = settledHeapMb();
    if (after !== undefined && baselineHeap !== undefined) {
      figures.kubelet_heap_after_5000_pods_mb = round(after);
      expect(after - baselineHeap).toBeLessThan(20);
    }
    expect(unhandled).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// ECS

const ECS_CLIENT_TIMEOUT_MS = 250;
const ECS_FETCH_TIMEOUT_MS = 1_000;
const ECS_ERROR_TTL_MS = 700;
const ECS_UNREACHABLE_MS = 400;
const ECS_LOCAL_TTL_MS = 100;
const CURL = 'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca';
const NGINX_ID = '79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920';

/** An introspection `/v1/tasks?dockerid=` answer (the docs example's shape) for a new container. */
function introspectionTaskFor(dockerId: string, n: number): string {
  const task = JSON.parse(ecsData('introspection_v1_tasks_dockerid_docs.json')) as { Arn: string; Containers: Array<{ DockerId: string; Name: string; DockerName: string }> };
  task.Arn = `arn:aws:ecs:us-west-2:012345678910:task/default/0000000000000000000000000000${n.toString().padStart(4, '0')}`;
  const container = task.Containers[0];
  if (!container) throw new Error('fixture has no container');
  task.Containers = [{ ...container, DockerId: dockerId, Name: `web-${n}`, DockerName: `ecs-web-${n}` }];
  return JSON.stringify(task);
}

describe('ECS faults: tag() answers [] within the fetch timeout; a miss flood costs a bounded number of requests', () => {
  let agent: FaultServer;
  let v4: FaultServer;
  let ecs: EcsCollector;
  let tagger: LocalTagger;
  let curlTags: readonly string[];
  let serial = 0;

  const fetches = (outcome: string): number => tagger.counters.fetches.get(`ecs:${outcome}`) ?? 0;
  const requests = (): number => agent.total + v4.total;

  beforeAll(async () => {
    agent = await FaultServer.start();
    agent.route('/v1/metadata', ecsData('introspection_v1_metadata_docs.json'));
    agent.route(`/v1/tasks?dockerid=${NGINX_ID}`, ecsData('introspection_v1_tasks_dockerid_docs.json'));
    v4 = await FaultServer.start({ basePath: '/v4/0123-abcd' });
    v4.route('/v4/0123-abcd/task', ecsData('v4_task_ec2.json'));
    ecs = new EcsCollector({
      client: new EcsClient({ agentUrl: agent.url, metadataUriV4: v4.url, v2Url: '', timeoutMs: ECS_CLIENT_TIMEOUT_MS }),
      taskTags: false,
      autodetect: false,
      localTtlMs: ECS_LOCAL_TTL_MS,
      unreachableMs: ECS_UNREACHABLE_MS,
    });
    tagger = new LocalTagger({ collectors: [ecs], fetchTimeoutMs: ECS_FETCH_TIMEOUT_MS, errorTtlMs: ECS_ERROR_TTL_MS });
    await tagger.start();
    await tagger.ready();
  });

  afterAll(async () => {
    await tagger?.stop();
    await agent?.close();
    await v4?.close();
  });

  it('good state: the v4 task and an introspection task are tagged', async () => {
    curlTags = await tagger.tag(CURL, 'orchestrator');
    expect(curlTags).toEqual(expect.arrayContaining(['task_family:curltest', 'ecs_container_name:curl', 'task_version:26']));
    expect(await tagger.tag(`container_id://${NGINX_ID}`, 'orchestrator')).toEqual(expect.arrayContaining(['task_family:nginx-efs', 'ecs_container_name:nginx', 'ecs_cluster_name:cluster_name']));
    expect(fetches('error')).toBe(0);
  });

  const faults: Array<[string, Fault]> = [
    ['HTTP 500', { kind: 'status', status: 500, body: 'internal error' }],
    ['a hang past the timeout', { kind: 'hang' }],
    ['a TCP reset mid-body', { kind: 'reset' }],
    ['an HTML page with status 200', { kind: 'body', parts: [Buffer.from('<html><body>Service Unavailable</body></html>')], contentType: 'text/html' }],
    ['truncated JSON', { kind: 'truncated' }],
  ];

  for (const [name, fault] of faults) {
    it(`${name} from both endpoints`, async () => {
      const n = ++serial;
      const dockerId = `${n.toString(16).padStart(2, '0')}${'c'.repeat(62)}`;
      const entity = `container_id://${dockerId}`;
      agent.route(`/v1/tasks?dockerid=${dockerId}`, introspectionTaskFor(dockerId, n));
      await delay(ECS_LOCAL_TTL_MS + 20); // the shared v4 answer of the last test expires
      agent.resetCounts();
      v4.resetCounts();
      agent.fault = fault;
      v4.fault = fault;
      const errors = fetches('error');
      const empty = tagger.counters.queries.get('high:empty') ?? 0;

      // 1000 concurrent misses share one fetch; it fails within the fetch timeout.
      const started = performance.now();
      const burst = await Promise.all(Array.from({ length: 1000 }, () => tagger.tag(entity, 'high')));
      const took = performance.now() - started;
      expect(burst.every((tags) => tags.length === 0)).toBe(true);
      expect(took).toBeLessThan(ECS_FETCH_TIMEOUT_MS + 300);
      // 1000 more, one after the other, inside the error TTL: answered from the cached error.
      const seqStarted = performance.now();
      for (let i = 0; i < 1000; i++) expect(await tagger.tag(entity, 'high')).toEqual([]);
      expect(performance.now() - seqStarted).toBeLessThan(ECS_ERROR_TTL_MS);
      expect(fetches('error')).toBe(errors + 1);
      // Every one of the 2000 was counted as an empty answer.
      expect(tagger.counters.queries.get('high:empty')).toBe(empty + 2000);
      // v4 /task, then the agent's /v1/tasks?dockerid= (the cluster name is already known).
      const flood = requests();
      expect(flood).toBeGreaterThanOrEqual(1);
      expect(flood).toBeLessThanOrEqual(3);
      figures[`ecs_requests_2000_misses_${fault.kind}${fault.kind === 'status' ? fault.status : ''}`] = flood;
      figures[`ecs_miss_answer_ms_${fault.kind}${fault.kind === 'status' ? fault.status : ''}`] = Math.round(took);
      expect(tagger.health().collectors.ecs?.healthy).toBe(false);
      // What was found before the fault is still served, from memory.
      expect(await tagger.tag(CURL, 'orchestrator')).toEqual(curlTags);
      expect(requests()).toBe(flood);

      // After the error TTL one more fetch is allowed (bounded again).
      await delay(ECS_ERROR_TTL_MS + 50);
      expect(await tagger.tag(entity, 'high')).toEqual([]);
      expect(requests()).toBeLessThanOrEqual(flood + 3);
      expect(fetches('error')).toBe(errors + 2);

      // Fault removed: once the error TTL (and any unreachable mark) passes, the container is found.
      agent.fault = undefined;
      v4.fault = undefined;
      await delay(Math.max(ECS_ERROR_TTL_MS, ECS_UNREACHABLE_MS) + 50);
      expect(await tagger.tag(entity, 'orchestrator')).toEqual(expect.arrayContaining([`ecs_container_name:web-${n}`, 'task_family:nginx-efs']));
      expect(tagger.health().collectors.ecs?.healthy).toBe(true);
      expect(unhandled).toEqual([]);
    });
  }

  it('1000 misses for distinct containers against a failing agent: a handful of requests, not one per container', async () => {
    for (const [label, fault] of [
      ['status500', { kind: 'status', status: 500 }],
      ['hang', { kind: 'hang' }],
    ] as Array<[string, Fault]>) {
      await delay(Math.max(ECS_ERROR_TTL_MS, ECS_UNREACHABLE_MS) + 50);
      agent.resetCounts();
      v4.resetCounts();
      agent.fault = fault;
      v4.fault = fault;
      const base = ++serial * 10_000;
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => tagger.tag(`container_id://${(base + i).toString(16).padStart(64, 'd')}`, 'high')));
      const took = performance.now() - started;
      expect(answers.every((tags) => tags.length === 0)).toBe(true);
      // Every answer comes at the fetch deadline at the latest; 1000 fetches at once on a busy 2-core machine add some scheduling.
      expect(took).toBeLessThan(2 * ECS_FETCH_TIMEOUT_MS);
      // The v4 task is one shared request; the agent sees at most its 4 concurrent lookups per
      // failure before the endpoint is paused (5xx: 5 s, timeouts: the unreachable pause).
      expect(v4.total).toBeLessThanOrEqual(2);
      expect(agent.total).toBeLessThanOrEqual(10);
      figures[`ecs_requests_1000_distinct_misses_${label}`] = requests();
      figures[`ecs_1000_distinct_misses_ms_${label}`] = Math.round(took);
      agent.fault = undefined;
      v4.fault = undefined;
    }
    expect(unhandled).toEqual([]);
  });
});
