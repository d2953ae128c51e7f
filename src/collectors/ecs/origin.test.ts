import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ecsOrigins } from './origin.js';

const load = (name: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));

describe('ecsOrigins on real task metadata', () => {
  it('awsvpc on EC2 (v4): the task ENI address belongs to the task, not to each container', () => {
    expect([...ecsOrigins(load('v4_task_ec2.json'), '158d1c8083dd49d6b527399fd6414f5c')]).toEqual([['ecs_task://158d1c8083dd49d6b527399fd6414f5c', { ips: ['10.0.2.61'] }]]);
  });
  it('Fargate (v4): IPv4 and IPv6, the latter canonical', () => {
    expect([...ecsOrigins(load('v4_otel_task_fargate.json'), 'e9028f8d5d8e4f258373e7b93ce9a3c3')]).toEqual([
      ['ecs_task://e9028f8d5d8e4f258373e7b93ce9a3c3', { ips: ['192.0.2.3', '2001:db8:10b:1a00:32bf:a372:d80f:e958'] }],
    ]);
  });
  it('bridge gives each container its own; host gives nothing; introspection carries none', () => {
    const bridge = { Containers: [{ DockerId: 'a'.repeat(64), Networks: [{ NetworkMode: 'bridge', IPv4Addresses: ['172.17.0.4'] }] }, { DockerId: 'b'.repeat(64), Networks: [{ NetworkMode: 'host', IPv4Addresses: ['10.0.0.9'] }] }] };
    expect([...ecsOrigins(bridge, 't1')]).toEqual([[`container_id://${'a'.repeat(64)}`, { ips: ['172.17.0.4'] }]]);
    expect(ecsOrigins(load('introspection_v1_tasks_docs.json'), 'x').size).toBe(0);
  });
});
