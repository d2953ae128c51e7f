import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { deletionTagInfo } from '../../taglist.js';
import { until } from '../../test-support/wait.js';
import type { CollectorContext } from '../collector.js';
import { EcsClient, type EcsClientOptions } from './client.js';
import { EcsCollector, type EcsCollectorOptions } from './collector.js';
import type { ContainerEnvSource } from './task-v4.js';
import { FakeEcsEndpoint } from './test-support/fake-ecs.js';

const text = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const CURL = 'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca';
const PAUSE = 'container_id://598cba581fe3f939459eaba1e071d5c93bb2c49b7d1ba7db6bb19deeb70d8e38';
const EC2_TASK = 'ecs_task://158d1c8083dd49d6b527399fd6414f5c';
const NGINX_ID = '79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920';
const UNKNOWN_ID = 'ab'.repeat(32);

/** The AWS docs' v4 task (EC2, service MyService, resource tags) and the introspection view of the same task. */
const V4 = JSON.parse(text('v4_taskWithTags_ec2.json')) as { TaskARN: string; Family: string; Revision: string; Containers: Array<{ DockerId: string; DockerName: string; Name: string }> };
const INTROSPECTION = JSON.stringify({
  Arn: V4.TaskARN,
  DesiredStatus: 'RUNNING',
  KnownStatus: 'RUNNING',
  Family: V4.Family,
  Version: V4.Revision,
  Containers: V4.Containers.map((c) => ({ DockerId: c.DockerId, DockerName: c.DockerName, Name: c.Name })),
});
const [PAUSE_ID, CURL_ID] = V4.Containers.map((c) => c.DockerId) as [string, string];
/** The docs' /v1/metadata says v1.30.0, before v4: a newer agent for the tests that need one. */
const metadata = (version: string): string => JSON.stringify({ ...(JSON.parse(text('introspection_v1_metadata_docs.json')) as object), Version: `Amazon ECS Agent - ${version} (02ff320c)` });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function endpoint(basePath = ''): Promise<FakeEcsEndpoint> {
  const fake = await FakeEcsEndpoint.start(basePath);
  cleanups.push(() => fake.close());
  return fake;
}

/** A URL where nothing listens (a server started and closed). */
async function deadUrl(): Promise<string> {
  const fake = await FakeEcsEndpoint.start();
  await fake.close();
  return fake.url;
}

function collector(client: Partial<EcsClientOptions>, options: Partial<EcsCollectorOptions> = {}): EcsCollector {
  const c = new EcsCollector({ client: new EcsClient({ agentUrl: '', v2Url: '', timeoutMs: 1_000, ...client }), taskTags: false, autodetect: false, ...options });
  cleanups.push(() => c.close());
  return c;
}

function context(clock = new ManualClock(1_000)): CollectorContext {
  return {
    sink: { push: () => undefined },
    clock,
    logger: silentLogger,
    signal: new AbortController().signal,
    knows: () => false,
    requestFetch: () => undefined,
    markSynced: () => undefined,
  };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('EcsCollector with task metadata v4', () => {
  it('finds the task of a container and returns every sibling and the task entity', async () => {
    const v4 = (await endpoint('/v4/0123-abcd')).json('/v4/0123-abcd/task', text('v4_task_ec2.json'));
    const c = collector({ metadataUriV4: v4.url });
    const ctx = context();
    const result = await c.fetch(CURL, ctx, signal());
    expect(result.found).toBe(true);
    expect(result.found ? result.infos.map((i) => i.entity) : []).toEqual([PAUSE, CURL, EC2_TASK, 'internal://global']);
    // The task entity and siblings answer from memory.
    expect((await c.fetch(EC2_TASK, ctx, signal())).found).toBe(true);
    expect((await c.fetch(PAUSE, ctx, signal())).found).toBe(true);
    expect(v4.total).toBe(1);
    expect(c.counters.cacheHits).toBe(2);
  });

  it('a container of another task is not found; repeated misses reuse the local task for a while', async () => {
    const v4 = (await endpoint()).json('/task', text('v4_task_ec2.json'));
    const c = collector({ metadataUriV4: v4.url });
    const clock = new ManualClock(1_000);
    const ctx = context(clock);
    for (let i = 0; i < 20; i++) expect((await c.fetch(`container_id://${i.toString(16).padStart(64, '0')}`, ctx, signal())).found).toBe(false);
    expect(v4.count('/task')).toBe(1);
    clock.advance(2_500);
    await c.fetch(`container_id://${UNKNOWN_ID}`, ctx, signal());
    expect(v4.count('/task')).toBe(2);
  });

  it('uses /taskWithTags when ecs.task_tags is on, and /task when the agent lacks it', async () => {
    const v4 = (await endpoint()).json('/taskWithTags', text('v4_taskWithTags_ec2.json')).json('/task', text('v4_task_ec2.json'));
    const withTags = collector({ metadataUriV4: v4.url }, { taskTags: true });
    const result = await withTags.fetch(CURL, context(), signal());
    expect(result.found && result.infos[1]?.low).toEqual(expect.arrayContaining(['tag-use:task-metadata-endpoint-test', 'tag_key:tag_value']));
    v4.routes.delete('/taskWithTags');
    const fallback = collector({ metadataUriV4: v4.url }, { taskTags: true });
    const again = await fallback.fetch(CURL, context(), signal());
    expect(again.found).toBe(true);
    expect(v4.count('/taskWithTags')).toBe(2);
    expect(v4.count('/task')).toBe(1);
  });

  it('garbage, truncated, 500 and hanging answers are errors (thrown, health unhealthy), not not-found', async () => {
    const v4 = await endpoint();
    const cases: Array<[FakeEcsEndpoint['routes'] extends Map<string, infer A> ? A : never, string]> = [
      [{ body: '<html>oops</html>' }, 'TAGGER_DECODE'],
      ['truncate', 'TAGGER_DECODE'],
      [{ status: 500, body: 'boom' }, 'TAGGER_HTTP_STATUS'],
      ['hang', 'TAGGER_TIMEOUT'],
    ];
    for (const [answer, code] of cases) {
      v4.routes.set('/task', answer);
      const c = collector({ metadataUriV4: v4.url, timeoutMs: 200 });
      await expect(c.fetch(CURL, context(), signal())).rejects.toMatchObject({ code });
      expect(c.health().healthy).toBe(false);
      expect(c.counters.errors).toBe(1);
    }
  });
});

describe('EcsCollector with the agent introspection API (EC2 daemon mode)', () => {
  async function agent(): Promise<FakeEcsEndpoint> {
    return (await endpoint())
      .json('/v1/metadata', text('introspection_v1_metadata_docs.json'))
      .json(`/v1/tasks?dockerid=${NGINX_ID}`, text('introspection_v1_tasks_dockerid_docs.json'))
      .json('/v1/tasks', text('introspection_v1_tasks_docs.json'));
  }

  it('finds a container by dockerid, with the cluster name', async () => {
    const a = await agent();
    const c = collector({ agentUrl: a.url });
    const result = await c.fetch(`container_id://${NGINX_ID}`, context(), signal());
    expect(result.found).toBe(true);
    const info = result.found ? result.infos[0] : undefined;
    expect(info?.entity).toBe(`container_id://${NGINX_ID}`);
    expect(info?.low).toEqual(expect.arrayContaining(['ecs_cluster_name:cluster_name', 'task_family:nginx-efs', 'ecs_container_name:nginx']));
  });

  it('a task entity through the /v1/tasks list', async () => {
    const a = await agent();
    const c = collector({ agentUrl: a.url });
    const result = await c.fetch('ecs_task://example5-58ff-46c9-ae05-543f8example', context(), signal());
    expect(result.found ? result.infos.map((i) => i.entity) : []).toEqual([
      'container_id://9581a69a761a557fbfce1d0f6745e4af5b9dbfb86b6b2c5c4df156f1a5932ff1',
      'container_id://bf25c5c5b2d4dba68846c7236e75b6915e1e778d31611e3c6a06831e39814a15',
      'ecs_task://example5-58ff-46c9-ae05-543f8example',
      // The cluster from /v1/metadata: its tags go on the global entity too.
      'internal://global',
    ]);
  });

  it('an unknown container (404) is not found, and the tagger caches the miss: a flood makes one request', async () => {
    const a = await agent();
    const c = new EcsCollector({ client: new EcsClient({ agentUrl: a.url, v2Url: '' }), taskTags: false, autodetect: true });
    const tagger = new LocalTagger({ collectors: [c] });
    cleanups.push(() => tagger.stop());
    await tagger.start();
    await tagger.ready();
    const answers = await Promise.all(Array.from({ length: 100 }, () => tagger.tag(`container_id://${UNKNOWN_ID}`, 'high')));
    expect(answers.every((t) => t.length === 0)).toBe(true);
    for (let i = 0; i < 50; i++) expect(await tagger.tag(`container_id://${UNKNOWN_ID}`)).toEqual([]);
    expect(a.count(`/v1/tasks?dockerid=${UNKNOWN_ID}`)).toBe(1);
  });

  it('in a tagger: the first query resolves the task, siblings then need no request', async () => {
    const a = await agent();
    const v4 = (await endpoint()).json('/task', text('v4_task_ec2.json'));
    const c = new EcsCollector({ client: new EcsClient({ agentUrl: a.url, metadataUriV4: v4.url, v2Url: '' }), taskTags: false, autodetect: true });
    const tagger = new LocalTagger({ collectors: [c] });
    cleanups.push(() => tagger.stop());
    await tagger.start();
    await tagger.ready();
    expect(await tagger.tag(CURL, 'orchestrator')).toEqual([
      'aws_account:111122223333',
      'cluster_name:default',
      'ecs_cluster_name:default',
      'ecs_container_name:curl',
      'ecs_launch_type:EC2',
      'ecs_service:myservice',
      'region:us-west-2',
      'task_family:curltest',
      'task_name:curltest',
      'task_version:26',
      'task_arn:arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c',
    ]);
    const before = v4.total + a.total;
    expect(tagger.tagSync(PAUSE)).toContain('ecs_container_name:~internal~ecs~pause');
    expect(await tagger.tag(EC2_TASK)).toContain('task_family:curltest');
    expect(v4.total + a.total).toBe(before);
    expect(c.counters.lookups).toBe(1);
  });
});

describe('EcsCollector with task metadata v2 (injected base URL)', () => {
  it('falls back to v2 when the agent is unreachable, and skips the agent for a while after', async () => {
    const v2 = (await endpoint()).json('/v2/metadata', text('v2_metadata.json'));
    const clock = new ManualClock(1_000);
    const c = collector({ agentUrl: await deadUrl(), v2Url: v2.url });
    const ctx = context(clock);
    const result = await c.fetch('container_id://43481a6ce4842eec8fe72fc28500c6b52edcc0917f105b83379f88cac1ff3946', ctx, signal());
    expect(result.found && result.infos[1]?.low).toEqual(expect.arrayContaining(['ecs_container_name:nginx-curl', 'task_family:nginx']));
    expect((await c.fetch(`container_id://${UNKNOWN_ID}`, ctx, signal())).found).toBe(false);
    expect(v2.count('/v2/metadata')).toBe(1);
  });

  it('every endpoint unreachable: an error, so the tagger retries after its error TTL', async () => {
    const c = collector({ agentUrl: await deadUrl(), v2Url: await deadUrl() });
    const ctx = context();
    await expect(c.fetch(CURL, ctx, signal())).rejects.toMatchObject({ code: 'TAGGER_SOCKET' });
    await expect(c.fetch(CURL, ctx, signal())).rejects.toMatchObject({ code: 'TAGGER_UNAVAILABLE' });
    expect(c.health().healthy).toBe(false);
  });
});

describe('EcsCollector detect', () => {
  it('available with a metadata variable or an answering agent; unavailable otherwise', async () => {
    const v4 = await endpoint();
    const a = (await endpoint()).json('/v1/metadata', text('introspection_v1_metadata_docs.json'));
    expect(await collector({ metadataUriV4: v4.url }, { autodetect: true }).detect?.(signal())).toEqual({ available: true });
    expect(await collector({ agentUrl: a.url }, { autodetect: true }).detect?.(signal())).toEqual({ available: true });
    const none = await collector({ agentUrl: await deadUrl() }, { autodetect: true }).detect?.(signal());
    expect(none?.available).toBe(false);
    expect(none && !none.available ? none.reason : '').toMatch(/ECS agent at http:\/\/127\.0\.0\.1:\d+ does not answer/);
    expect(collector({ agentUrl: a.url }).detect).toBeUndefined();
  });
});

describe('EcsCollector task entities', () => {
  it('ends a task entity once its last container is gone from the store, and only then', async () => {
    const v4 = (await endpoint('/v4/0123-abcd')).json('/v4/0123-abcd/task', text('v4_task_ec2.json'));
    const ecs = collector({ metadataUriV4: v4.url }, { sweepIntervalMs: 20 });
    const tagger = new LocalTagger({ collectors: [ecs], deletionGraceMs: 100, pruneIntervalMs: 20, tombstoneTtlMs: 60_000 });
    cleanups.push(() => tagger.stop());
    await tagger.start();
    expect(await tagger.tag(CURL)).not.toEqual([]);
    expect(tagger.store.has(EC2_TASK)).toBe(true);
    // The runtime collector sees the containers go, one after the other.
    tagger.store.processTagInfo([{ source: 'docker', entity: CURL, low: ['x:1'], orchestrator: [], high: [], standard: [] }]);
    tagger.store.processTagInfo([deletionTagInfo('docker', CURL)]);
    await until(() => !tagger.store.has(CURL), 5_000, 'the first container pruned');
    // A sibling is still there: the task stays.
    await new Promise((r) => setTimeout(r, 150));
    expect(tagger.store.has(PAUSE)).toBe(true);
    expect(tagger.store.has(EC2_TASK)).toBe(true);
    tagger.store.processTagInfo([deletionTagInfo('docker', PAUSE)]);
    await until(() => !tagger.store.has(PAUSE), 5_000, 'the last container pruned');
    // Then the task ends too, through its own grace, and is forgotten by the collector.
    await until(() => !tagger.store.has(EC2_TASK), 5_000, 'the task entity pruned');
    expect(ecs.trackedTasks).toBe(0);
  });

  it('keeps at most maxTasks tasks in memory', async () => {
    const fake = await endpoint('/v4/0123-abcd');
    const ecs = collector({ metadataUriV4: fake.url }, { maxTasks: 2, localTtlMs: 0 });
    const ctx = context();
    // Three tasks on one host, one after the other (the same payload under new IDs).
    for (const n of [1, 2, 3]) {
      const body = text('v4_task_ec2.json').replace(/158d1c8083dd49d6b527399fd6414f5c/g, `${n}`.repeat(32)).replace(/ee08638adaaf009d/g, `${n}`.repeat(16));
      fake.json('/v4/0123-abcd/task', body);
      const result = await ecs.fetch(`container_id://${`${n}`.repeat(16)}${CURL.slice(-48)}`, ctx, signal());
      expect(result.found, `task ${n}`).toBe(true);
    }
    expect(ecs.trackedTasks).toBe(2);
  });
});

/** Env by container ID, counting the lookups. */
function envs(table: Record<string, readonly string[]>): ContainerEnvSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    env: async (id) => {
      asked.push(id);
      return table[id];
    },
    close: async () => undefined,
  };
}


async function host(version = 'v1.70.0'): Promise<{ agent: FakeEcsEndpoint; v4: FakeEcsEndpoint }> {
  const agent = (await endpoint()).json('/v1/metadata', metadata(version)).json(`/v1/tasks?dockerid=${CURL_ID}`, INTROSPECTION).json(`/v1/tasks?dockerid=${PAUSE_ID}`, INTROSPECTION);
  const v4 = (await endpoint('/v4/curl-1')).json('/v4/curl-1/taskWithTags', text('v4_taskWithTags_ec2.json')).json('/v4/curl-1/task', text('v4_task_ec2.json'));
  return { agent, v4 };
}

function ec2Collector(agentUrl: string, containerEnv: ContainerEnvSource, options: { taskTags?: boolean; taskCollection?: boolean } = {}): EcsCollector {
  return collector({ agentUrl }, { taskTags: options.taskTags ?? false, containerEnv, taskCollection: options.taskCollection ?? true });
}

const lowOf = async (c: EcsCollector, id: string, ctx = context()): Promise<readonly string[]> => {
  const result = await c.fetch(`container_id://${id}`, ctx, signal());
  return result.found ? (result.infos.find((i) => i.entity === `container_id://${id}`)?.low ?? []) : [];
};

describe('other tasks on an EC2 host, through their own v4 endpoint', () => {
  it('reads the task again from the v4 URI in a container env: service, cluster and resource tags that introspection lacks', async () => {
    const { agent, v4 } = await host();
    // The pause container has no such variable: the next container of the task is asked.
    const env = envs({ [CURL_ID]: ['PATH=/bin', `ECS_CONTAINER_METADATA_URI_V4=${v4.url}`] });
    const c = ec2Collector(agent.url, env, { taskTags: true });
    const low = await lowOf(c, CURL_ID);
    expect(low).toEqual(expect.arrayContaining(['ecs_service:myservice', 'ecs_launch_type:EC2', 'task_family:curltest', 'tag-use:task-metadata-endpoint-test', 'tag_key:tag_value', 'ecs_container_name:curl']));
    expect(env.asked).toEqual([PAUSE_ID, CURL_ID]);
    expect(v4.count('/v4/curl-1/taskWithTags')).toBe(1);
    expect(c.counters).toMatchObject({ taskV4: 1, taskV4Fallbacks: 0 });
    // Its sibling answers from memory, with the same task tags.
    expect(await lowOf(c, PAUSE_ID)).toContain('ecs_service:myservice');
    expect(v4.total).toBe(1);
  });

  it('/task without resource tags when ecs.task_tags is off', async () => {
    const { agent, v4 } = await host();
    const c = ec2Collector(agent.url, envs({ [PAUSE_ID]: [`ECS_CONTAINER_METADATA_URI_V4=${v4.url}`] }));
    expect(await lowOf(c, CURL_ID)).toContain('ecs_service:myservice');
    expect(v4.count('/v4/curl-1/task')).toBe(1);
    expect(v4.count('/v4/curl-1/taskWithTags')).toBe(0);
  });

  it('falls back to introspection: agent before v4, switched off, no URI, an endpoint that fails, another task, an untrusted host', async () => {
    const cases: Array<{ name: string; version?: string; env: (v4: string) => readonly string[]; taskCollection?: boolean; v4Route?: string }> = [
      { name: 'agent v1.30.0', version: 'v1.30.0', env: (v4) => [`ECS_CONTAINER_METADATA_URI_V4=${v4}`] },
      { name: 'task_collection off', taskCollection: false, env: (v4) => [`ECS_CONTAINER_METADATA_URI_V4=${v4}`] },
      { name: 'no URI', env: () => ['PATH=/bin'] },
      { name: 'a 500', env: (v4) => [`ECS_CONTAINER_METADATA_URI_V4=${v4}/broken`] },
      { name: 'another task', env: (v4) => [`ECS_CONTAINER_METADATA_URI_V4=${v4}/other`] },
      { name: 'untrusted host', env: () => ['ECS_CONTAINER_METADATA_URI_V4=http://10.20.30.40/v4/x'] },
      { name: 'not http', env: () => ['ECS_CONTAINER_METADATA_URI_V4=/var/run/docker.sock'] },
    ];
    for (const k of cases) {
      const { agent, v4 } = await host(k.version);
      v4.json('/v4/curl-1/broken/task', '{"oops"', 500).json('/v4/curl-1/other/task', text('v4_otel_task_fargate.json'));
      const warnings: string[] = [];
      const logger: Logger = { ...silentLogger, child: () => logger, warn: (_fields, msg) => void warnings.push(msg ?? '') };
      const c = ec2Collector(agent.url, envs({ [CURL_ID]: k.env(v4.url) }), k.taskCollection === undefined ? {} : { taskCollection: k.taskCollection });
      const low = await lowOf(c, CURL_ID, { ...context(), logger });
      // Still found, with what introspection knows.
      expect(low, k.name).toEqual(expect.arrayContaining(['task_family:curltest', 'ecs_container_name:curl']));
      expect(low.some((t) => t.startsWith('ecs_service:')), k.name).toBe(false);
      if (k.name === 'another task') expect(warnings.join('\n')).toMatch(/describes another task/);
      if (k.name === 'a 500') expect(warnings.join('\n')).toMatch(/v4 of another task failed/);
      if (k.name === 'untrusted host' || k.name === 'not http' || k.name.startsWith('agent') || k.name.startsWith('task_collection')) expect(v4.total, k.name).toBe(0);
    }
  });
});
