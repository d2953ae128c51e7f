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
    // No availability zone: the Agent tags it on Fargate only.
    'cluster_name:default',
    'ecs_cluster_name:default',
    'ecs_launch_type:EC2',
    // Lower-cased, as the Agent tags it.
    'ecs_service:myservice',
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
        expect.objectContaining({ entity: 'container_id://598cba581fe3f939459eaba1e071d5c93bb2c49b7d1ba7db6bb19deeb70d8e38', name: '~internal~ecs~pause', image: 'amazon/amazon-ecs-pause:0.1.0' }),
        expect.objectContaining({
          entity: 'container_id://ee08638adaaf009d78c248913f629e38299471d45fe7dc944d1039077e3424ca',
          name: 'curl',
          dockerName: 'ecs-curltest-26-curl-a0e7dba5aca6d8cb2e00',
          imageId: 'sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553',
        }),
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
      'internal://global',
    ]);
    // On EC2 the global entity gets the cluster tags only (no cluster ARN: Cluster is a name here).
    expect(byEntity(infos, 'internal://global')).toMatchObject({ low: ['ecs_cluster_name:default'], orchestrator: [], high: [] });
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
    expect(on.standard).toEqual([]);
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

  it('lower-cases resource tag keys and values; the colon option turns : into _ in keys', () => {
    const raw = { ...(load('v4_taskWithTags_ec2.json') as object), TaskTags: { 'Team:Owner': 'Core-Team' }, ContainerInstanceTags: {} };
    const entity = 'ecs_task://158d1c8083dd49d6b527399fd6414f5c';
    expect(byEntity(ecsTagInfos(task(taskFromMetadata(raw)), { taskTags: true }), entity).low).toContain('team:owner:core-team');
    expect(byEntity(ecsTagInfos(task(taskFromMetadata(raw)), { taskTags: true, replaceColon: true }), entity).low).toContain('team_owner:core-team');
  });

  it('no resource tags on Fargate, even with ecs.task_tags on', () => {
    const raw = { ...(load('v4_taskWithTags_ec2.json') as object), LaunchType: 'FARGATE' };
    const info = byEntity(ecsTagInfos(task(taskFromMetadata(raw)), { taskTags: true }), 'ecs_task://158d1c8083dd49d6b527399fd6414f5c');
    expect(info.low.some((x) => x.startsWith('tag'))).toBe(false);
  });
});

describe('ECS task metadata v4 (Fargate)', () => {
  it('cluster ARN, Fargate container IDs, launch type', () => {
    const t = task(taskFromMetadata(load('v4_otel_task_fargate.json')));
    const infos = ecsTagInfos(t, { taskTags: false });
    const c = byEntity(infos, 'container_id://e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603');
    const taskLow = [
      'aws_account:111122223333',
      // Both spellings, Fargate only.
      'availability_zone:us-west-2a',
      'availability-zone:us-west-2a',
      'cluster_name:default',
      'ecs_launch_type:FARGATE',
      'region:us-west-2',
      'task_family:curltest',
      'task_name:curltest',
      'task_version:3',
    ];
    const clusterLow = ['ecs_cluster_name:default', 'cluster_arn:arn:aws:ecs:us-west-2:111122223333:cluster/default'];
    expect(sorted(c.low)).toEqual(
      sorted([
        ...taskLow,
        ...clusterLow,
        'ecs_container_name:curl',
        // No Docker socket on Fargate: the container's own tags from the metadata (NewContainerImage: latest).
        'image_id:sha256:25f3695bedfb454a50f12d127839a68ad3caf91e451c1da073db34c542c4d2cb',
        'image_name:111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest',
        'image_tag:latest',
        'short_image:curltest',
      ]),
    );
    expect(c.high).toEqual(['container_id:e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603', 'container_name:curl']);
    expect(c.orchestrator).toEqual(['task_arn:arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3']);
    expect(infos.map((i) => i.entity)).toContain('ecs_task://e9028f8d5d8e4f258373e7b93ce9a3c3');
    // On Fargate the task is the host: the global entity gets every task and cluster tag.
    const global = byEntity(infos, 'internal://global');
    expect(sorted(global.low)).toEqual(sorted([...taskLow, ...clusterLow]));
    expect(global.orchestrator).toEqual(['task_arn:arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3']);
  });

  it('a Fargate container\'s labels give the label tags (com.datadoghq.tags.*, com.datadoghq.ad.tags)', () => {
    const raw = load('v4_otel_task_fargate.json') as { Containers: Array<Record<string, unknown>> };
    const withLabels = { ...raw, Containers: raw.Containers.map((c) => ({ ...c, Labels: { ...(c.Labels as object), 'com.datadoghq.tags.service': 'curl-svc', 'com.datadoghq.ad.tags': '["team:core"]' } })) };
    const c = byEntity(ecsTagInfos(task(taskFromMetadata(withLabels)), { taskTags: false }), 'container_id://e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603');
    expect(c.standard).toEqual(['service:curl-svc']);
    expect(c.high).toContain('team:core');
  });
});

describe('ECS task metadata v2', () => {
  it('old-format task ARN (no cluster in it), no launch type', () => {
    const t = task(taskFromMetadata(load('v2_metadata.json')));
    expect(t.id).toBe('9781c248-0edd-4cdb-9a93-f63cb662a5d3');
    const c = byEntity(ecsTagInfos(t, { taskTags: false }), 'container_id://43481a6ce4842eec8fe72fc28500c6b52edcc0917f105b83379f88cac1ff3946');
    // Without a launch type the Agent takes the task for EC2: no zone tags.
    expect(sorted(c.low.filter((x) => !x.startsWith('image') && !x.startsWith('short_image')))).toEqual(
      sorted([
        'aws_account:012345678910',
        'cluster_name:default',
        'ecs_cluster_name:default',
        'ecs_container_name:nginx-curl',
        'region:us-east-2',
        'task_family:nginx',
        'task_name:nginx',
        'task_version:5',
      ]),
    );
    // v2 is Fargate's endpoint: given as such, the zone tags appear.
    const fargate = byEntity(ecsTagInfos(task(taskFromMetadata(load('v2_metadata.json'), 'FARGATE')), { taskTags: false }), 'container_id://43481a6ce4842eec8fe72fc28500c6b52edcc0917f105b83379f88cac1ff3946');
    expect(fargate.low).toEqual(expect.arrayContaining(['availability_zone:us-east-2b', 'availability-zone:us-east-2b']));
  });
});

describe('ECS agent introspection', () => {
  it('one task by dockerid, with the cluster from /v1/metadata', () => {
    const cluster = clusterFromIntrospection(load('introspection_v1_metadata_docs.json'));
    expect(cluster).toBe('cluster_name');
    const t = task(taskFromIntrospection(load('introspection_v1_tasks_dockerid_docs.json'), cluster));
    const infos = ecsTagInfos(t, { taskTags: false });
    expect(infos.map((i) => i.entity)).toEqual(['container_id://79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920', 'ecs_task://e01d58a8-151b-40e8-bc01-22647b9ecfec', 'internal://global']);
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
    expect(parseTaskArn('arn:aws:ecs:eu-west-1:123456789012:task/prod/abc123')).toEqual({ region: 'eu-west-1', account: '123456789012', id: 'abc123' });
    // As the Agent: an account that is not 12 digits, a region without two dashes, are dropped.
    expect(parseTaskArn('arn:aws:ecs:local:123:task/prod/abc123')).toEqual({ region: undefined, account: undefined, id: 'abc123' });
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
