/**
 * ECS beside Docker, on REAL dockerd: a container started with ECS's labels is tagged by the
 * Docker collector from its events, and on its first query the ECS collector (fetch-only) resolves
 * its task through a fake agent introspection endpoint; when dockerd reports it gone, the grace
 * and prune remove every source's tags, and the tombstone keeps ECS from bringing them back. A
 * container whose env names its task's metadata v4 endpoint (as the ECS agent injects it) has its
 * task read from there, the env coming from dockerd's inspect: the service introspection lacks.
 * Skipped without TAGGER_TEST_DOCKER_HOST unless TAGGER_REQUIRE_ENGINES=1.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { DockerClient } from '../docker/client.js';
import { DockerCollector } from '../docker/collector.js';
import { EcsClient } from './client.js';
import { EcsCollector } from './collector.js';
import { dockerContainerEnv } from './task-v4.js';
import { FakeEcsEndpoint } from './test-support/fake-ecs.js';
import { until as waitUntil } from '../../test-support/wait.js';

const run = promisify(execFile);
const HOST = process.env.TAGGER_TEST_DOCKER_HOST;
const IMAGE = process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest';
const REQUIRED = process.env.TAGGER_REQUIRE_ENGINES === '1';
const GRACE_MS = 1_000;
const RUN_LABEL = `tagger.test.run=ecs-${randomBytes(4).toString('hex')}`;
const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/prod-cluster/5e4a1b2c3d4e4f5a8b9c0d1e2f3a4b5c';
const SERVICE_TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/prod-cluster/0f1e2d3c4b5a49788796a5b4c3d2e1f0';

const until = (check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> => waitUntil(check, timeoutMs, 'condition', 25);

if (!HOST && REQUIRED) {
  describe('ECS beside real dockerd', () => {
    it('is required (TAGGER_REQUIRE_ENGINES=1)', () => {
      throw new Error('TAGGER_TEST_DOCKER_HOST is unset: run scripts/engines/start.sh and source its env.sh');
    });
  });
}

describe.skipIf(!HOST)('ECS beside real dockerd', () => {
  let agent: FakeEcsEndpoint;
  let v4: FakeEcsEndpoint;
  let tagger: LocalTagger;
  const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { env: { ...process.env, DOCKER_HOST: HOST }, timeout: 30_000 })).stdout.trim();

  beforeAll(async () => {
    agent = await FakeEcsEndpoint.start();
    v4 = await FakeEcsEndpoint.start('/v4/0f1e2d3c-web');
    agent.json('/v1/metadata', JSON.stringify({ Cluster: 'prod-cluster', ContainerInstanceArn: 'arn:aws:ecs:eu-west-1:123456789012:container-instance/prod-cluster/abc', Version: 'Amazon ECS Agent - v1.80.0' }));
    tagger = new LocalTagger({
      collectors: [
        new DockerCollector({ client: new DockerClient(HOST ?? '') }),
        new EcsCollector({ client: new EcsClient({ agentUrl: agent.url, v2Url: '', timeoutMs: 1_000 }), taskTags: false, autodetect: false, taskCollection: true, containerEnv: dockerContainerEnv(new DockerClient(HOST ?? '')) }),
      ],
      deletionGraceMs: GRACE_MS,
      pruneIntervalMs: 100,
    });
    await tagger.start();
    await tagger.ready();
  });

  afterAll(async () => {
    await tagger?.stop();
    await agent?.close();
    await v4?.close();
    const ids = await docker('ps', '-aq', '--filter', `label=${RUN_LABEL}`).catch(() => '');
    if (ids) await docker('rm', '-f', ...ids.split(/\s+/)).catch(() => '');
  });

  it('resolves an ECS-labelled container through introspection on its first query, then removes it with Docker', async () => {
    const id = await docker('run', '-d', '--network', 'none', '--label', RUN_LABEL, '--label', `com.amazonaws.ecs.task-arn=${TASK_ARN}`, '--label', 'com.amazonaws.ecs.container-name=web', '--label', 'com.amazonaws.ecs.cluster=prod-cluster', '--label', 'com.amazonaws.ecs.task-definition-family=shop', IMAGE, 'sleep', '600');
    // What the ECS agent answers for this container (the introspection shape of the AWS docs).
    const route = `/v1/tasks?dockerid=${id}`;
    agent.json(route, JSON.stringify({ Arn: TASK_ARN, DesiredStatus: 'RUNNING', KnownStatus: 'RUNNING', Family: 'shop', Version: '7', Containers: [{ DockerId: id, DockerName: `ecs-shop-7-web-${id.slice(0, 8)}`, Name: 'web' }] }));
    const entity = `container_id://${id}`;
    await until(() => tagger.store.hasSource(entity, 'docker'));

    const tags = await tagger.tag(entity, 'orchestrator');
    expect(tags).toEqual(expect.arrayContaining(['image_name:local/busybox', 'task_family:shop', 'task_version:7', 'ecs_container_name:web', 'ecs_cluster_name:prod-cluster', 'region:eu-west-1', `task_arn:${TASK_ARN}`]));
    expect(await tagger.tag('ecs_task://5e4a1b2c3d4e4f5a8b9c0d1e2f3a4b5c', 'low')).toContain('task_family:shop');
    expect(agent.count(route)).toBe(1);
    await tagger.tag(entity, 'high');
    expect(agent.count(route)).toBe(1); // reported now: no second request

    await docker('rm', '-f', id);
    await until(() => tagger.getEntity(entity)?.pendingDelete !== undefined);
    expect(tagger.tagSync(entity, 'orchestrator')).toContain('task_family:shop'); // through the grace
    await until(() => !tagger.store.has(entity), GRACE_MS + 5_000);
    // A late query must not let ECS resurrect a container Docker saw die.
    expect(await tagger.tag(entity, 'orchestrator')).toEqual([]);
    expect(tagger.store.has(entity)).toBe(false);
  }, 30_000);

  it('reads a task from the v4 endpoint its container env names (env from dockerd), for the service introspection lacks', async () => {
    const id = await docker('run', '-d', '--network', 'none', '--label', RUN_LABEL, '--env', `ECS_CONTAINER_METADATA_URI_V4=${v4.url}`, IMAGE, 'sleep', '600');
    const containers = [{ DockerId: id, DockerName: `ecs-checkout-3-web-${id.slice(0, 8)}`, Name: 'web' }];
    agent.json(`/v1/tasks?dockerid=${id}`, JSON.stringify({ Arn: SERVICE_TASK_ARN, DesiredStatus: 'RUNNING', KnownStatus: 'RUNNING', Family: 'checkout', Version: '3', Containers: containers }));
    // The v4 task shape of the AWS docs' EC2 example, for this task.
    v4.json('/v4/0f1e2d3c-web/task', JSON.stringify({ Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod-cluster', TaskARN: SERVICE_TASK_ARN, Family: 'checkout', Revision: '3', ServiceName: 'Checkout-API', LaunchType: 'EC2', DesiredStatus: 'RUNNING', KnownStatus: 'RUNNING', Containers: containers.map((c) => ({ ...c, Image: 'local/busybox:latest' })) }));
    const entity = `container_id://${id}`;
    await until(() => tagger.store.hasSource(entity, 'docker'));
    const tags = await tagger.tag(entity, 'orchestrator');
    expect(tags).toEqual(expect.arrayContaining(['ecs_service:checkout-api', 'task_family:checkout', 'ecs_cluster_name:prod-cluster', 'cluster_arn:arn:aws:ecs:eu-west-1:123456789012:cluster/prod-cluster', 'ecs_launch_type:EC2', `task_arn:${SERVICE_TASK_ARN}`]));
    expect(v4.count('/v4/0f1e2d3c-web/task')).toBe(1);
  }, 30_000);
});
