import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TagInfo } from '../../types.js';
import { clusterFromIntrospection, clusterName, ecsTagInfos, findIntrospectionTask, parseTaskArn, taskFromIntrospection, taskFromMetadata, type EcsTask } from './extract.js';

const load = (name: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));

function task(value: EcsTask | undefined): EcsTask {
  if (!value) throw new Error('no task');
  return value;
}

function byEntity(infos: TagInfo[], entity: string): TagInfo {
  const info = infos.find((i) => i.entity === entity);
  if (!info) throw new Error(`no TagInfo for ${entity}`);
  return info;
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('ECS task metadata v4 (EC2, awsvpc)', () => {
  const ARN = 'arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c';
  const taskLow = [
    'aws_account:111122223333',
    'availability_zone:us-west-2d',
    'cluster_name:default',
    'ecs_cluster_name:default',
    'ecs_launch_type:EC2',
    'ecs_service:MyService',
    'region:us-west-2',
    'task_family:curltest',
    'task_name:curltest',
    'task_version:26',
  ];

  it('normalises the task', () => {
    expect(task(taskFromMetadata(load('v4_task_ec2.json')))).toEqual({
      arn: ARN,
      id: '158d1c8083dd49d6b527399fd6414f5c',
      family: 'curltest',
      version: '26',
      cluster: 'default',
      service: 'MyService',
      region: 'us-west-2',
      account: '111122223333',
      availabilityZone: 'us-west-2d',
      launchType: 'EC2',
      containers: [
        { entity: 'container_id://598cba581fe3f939459eaba1e071d5c93bb2c49b7d1ba7db6bb19deeb70d8e38', name: '~internal~ecs~pause' },
        { entity: 'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca', name: 'curl' },
      ],
      resourceTags: [],
    });
  });

  it('tags both containers and the task entity', () => {
    const infos = ecsTagInfos(task(taskFromMetadata(load('v4_task_ec2.json'))), { taskTags: false });
    expect(infos.map((i) => i.entity)).toEqual([
      'container_id://598cba581fe3f939459eaba1e071d5c93bb2c49b7d1ba7db6bb19deeb70d8e38',
      'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca',
      'ecs_task://158d1c8083dd49d6b527399fd6414f5c',
    ]);
    const curl = byEntity(infos, 'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca');
    expect(sorted(curl.low)).toEqual(sorted([...taskLow, 'ecs_container_name:curl']));
    expect(curl.orchestrator).toEqual([`task_arn:${ARN}`]);
    expect(curl.high).toEqual([]);
    expect(curl.source).toBe('ecs');
    expect(byEntity(infos, 'container_id://598cba581fe3f939459eaba1e071d5c93bb2c49b7d1ba7db6bb19deeb70d8e38').low).toContain('ecs_container_name:~internal~ecs~pause');
    const t = byEntity(infos, 'ecs_task://158d1c8083dd49d6b527399fd6414f5c');
    expect(sorted(t.low)).toEqual(sorted(taskLow));
    expect(t.orchestrator).toEqual([`task_arn:${ARN}`]);
  });

  it('resource tags from /taskWithTags only when ecs.task_tags is on', () => {
    const t = task(taskFromMetadata(load('v4_taskWithTags_ec2.json')));
    const on = byEntity(ecsTagInfos(t, { taskTags: true }), 'ecs_task://158d1c8083dd49d6b527399fd6414f5c');
    expect(on.low).toEqual(expect.arrayContaining(['tag-use:task-metadata-endpoint-test', 'tag_key:tag_value']));
    const off = byEntity(ecsTagInfos(t, { taskTags: false }), 'ecs_task://158d1c8083dd49d6b527399fd6414f5c');
    expect(off.low.some((x) => x.startsWith('tag'))).toBe(false);
  });

  it('/taskWithTags with an Errors array: no resource tags, task still usable', () => {
    const t = task(taskFromMetadata(load('v4_taskWithTags_error_ec2.json')));
    expect(t.resourceTags).toEqual([]);
    expect(t.containers.length).toBe(2);
  });

  it('skips aws: resource tags', () => {
    const raw = { ...(load('v4_taskWithTags_ec2.json') as object), TaskTags: { 'aws:cloudformation:stack-name': 'x', team: 'core' } };
    const info = byEntity(ecsTagInfos(task(taskFromMetadata(raw)), { taskTags: true }), 'ecs_task://158d1c8083dd49d6b527399fd6414f5c');
    expect(info.low).toContain('team:core');
    expect(info.low.some((x) => x.startsWith('aws:'))).toBe(false);
  });
});

describe('ECS task metadata v4 (Fargate)', () => {
  it('cluster ARN, Fargate container IDs, launch type', () => {
    const t = task(taskFromMetadata(load('v4_otel_task_fargate.json')));
    const infos = ecsTagInfos(t, { taskTags: false });
    const c = byEntity(infos, 'container_id://e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603');
    expect(sorted(c.low)).toEqual(
      sorted([
        'aws_account:111122223333',
        'availability_zone:us-west-2a',
        'cluster_name:default',
        'ecs_cluster_name:default',
        'ecs_container_name:curl',
        'ecs_launch_type:FARGATE',
        'region:us-west-2',
        'task_family:curltest',
        'task_name:curltest',
        'task_version:3',
      ]),
    );
    expect(c.orchestrator).toEqual(['task_arn:arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3']);
    expect(infos.map((i) => i.entity)).toContain('ecs_task://e9028f8d5d8e4f258373e7b93ce9a3c3');
  });
});

describe('ECS task metadata v2', () => {
  it('old-format task ARN (no cluster in it), no launch type', () => {
    const t = task(taskFromMetadata(load('v2_metadata.json')));
    expect(t.id).toBe('9781c248-0edd-4cdb-9a93-f63cb662a5d3');
    const c = byEntity(ecsTagInfos(t, { taskTags: false }), 'container_id://43481a6ce4842eec8fe72fc28500c6b52edcc0917f105b83379f88cac1ff3946');
    expect(sorted(c.low)).toEqual(
      sorted([
        'aws_account:012345678910',
        'availability_zone:us-east-2b',
        'cluster_name:default',
        'ecs_cluster_name:default',
        'ecs_container_name:nginx-curl',
        'region:us-east-2',
        'task_family:nginx',
        'task_name:nginx',
        'task_version:5',
      ]),
    );
  });
});

describe('ECS agent introspection', () => {
  it('one task by dockerid, with the cluster from /v1/metadata', () => {
    const cluster = clusterFromIntrospection(load('introspection_v1_metadata_docs.json'));
    expect(cluster).toBe('cluster_name');
    const t = task(taskFromIntrospection(load('introspection_v1_tasks_dockerid_docs.json'), cluster));
    const infos = ecsTagInfos(t, { taskTags: false });
    expect(infos.map((i) => i.entity)).toEqual(['container_id://79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920', 'ecs_task://e01d58a8-151b-40e8-bc01-22647b9ecfec']);
    expect(sorted(infos[0]?.low ?? [])).toEqual(
      sorted(['aws_account:012345678910', 'cluster_name:cluster_name', 'ecs_cluster_name:cluster_name', 'ecs_container_name:nginx', 'region:us-west-2', 'task_family:nginx-efs', 'task_name:nginx-efs', 'task_version:2']),
    );
    expect(infos[0]?.orchestrator).toEqual(['task_arn:arn:aws:ecs:us-west-2:012345678910:task/default/e01d58a8-151b-40e8-bc01-22647b9ecfec']);
  });

  it('finds a task by ID in the /v1/tasks list', () => {
    const raw = findIntrospectionTask(load('introspection_v1_tasks_docs.json'), 'example5-58ff-46c9-ae05-543f8example');
    const t = task(taskFromIntrospection(raw, undefined));
    expect(t.family).toBe('hello_world');
    expect(t.containers.map((c) => c.name)).toEqual(['mysql', 'wordpress']);
    expect(findIntrospectionTask(load('introspection_v1_tasks_docs.json'), 'nope')).toBeUndefined();
  });
});

describe('ECS parsing edge cases', () => {
  it('ARNs and cluster names', () => {
    expect(parseTaskArn('arn:aws:ecs:eu-west-1:123:task/prod/abc123')).toEqual({ region: 'eu-west-1', account: '123', id: 'abc123' });
    expect(parseTaskArn('not-an-arn')).toEqual({});
    expect(clusterName('arn:aws:ecs:us-west-2:111122223333:cluster/default')).toBe('default');
    expect(clusterName('plain')).toBe('plain');
  });
  it('garbage is no task', () => {
    for (const bad of ['x', null, [], {}, { TaskARN: 'nope' }, { TaskARN: 42 }]) expect(taskFromMetadata(bad)).toBeUndefined();
    expect(taskFromIntrospection({ Arn: 'arn:aws:ecs:r:a:task/' }, undefined)).toBeUndefined();
  });
  it('containers without a DockerId are skipped', () => {
    const t = task(taskFromMetadata({ TaskARN: 'arn:aws:ecs:r:1:task/c/t1', Containers: [{ Name: 'pending' }, 'x', { DockerId: 'abc-1', Name: 'ok' }] }));
    expect(t.containers).toEqual([{ entity: 'container_id://abc-1', name: 'ok' }]);
  });
});
