import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/program.js';
import { EcsClient } from '../collectors/ecs/client.js';
import { DEMO_IDS, loadDemoData } from './data.js';
import { runDemo, type DemoEntity, type DemoResult } from './demo.js';
import { ecsAgentHandler } from './fake-agents.js';
import { serveFake } from './serve.js';
import { formatDemo } from './report.js';
import { REQUIRE_ALL } from '../test-support/required.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url);

function demoDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('tagger-demo-'));
}

function entity(result: DemoResult, id: string): DemoEntity {
  const found = result.entities.find((e) => e.id === id);
  if (!found) throw new Error(`no entity ${id}`);
  return found;
}

describe('runDemo', () => {
  it('merges runtime, pod and task tags from the recorded payloads and plays start, rename and die', async () => {
    const before = demoDirs();
    const result = await runDemo();

    // The Docker container kubelet also runs: tags from both (inspect Name/Config.Image; pod metadata).
    const k8s = entity(result, `container_id://${DEMO_IDS.k8s}`);
    expect(Object.keys(k8s.sources).sort()).toEqual(['docker', 'kubelet']);
    expect(k8s.sources.docker?.high).toContain('container_name:k8s_compute-pi-digits_e2e-deployment-79967c5968-8bnn8_scraper_da59f36e-a7a8-46ed-8d9d-36392eb967d4_0');
    expect(k8s.tags.low).toEqual(expect.arrayContaining(['docker_image:docker.io/library/perl:5.34.0', 'kube_namespace:scraper', 'kube_deployment:e2e-deployment', 'kube_container_name:compute-pi-digits']));
    expect(k8s.tags.orchestrator).toEqual(expect.arrayContaining(['pod_name:e2e-deployment-79967c5968-8bnn8', 'kube_ownerref_name:e2e-deployment-79967c5968']));

    // The container with com.amazonaws.ecs.* labels: the miss fetched its task from the agent.
    const ecs = entity(result, `container_id://${DEMO_IDS.ecs}`);
    expect(ecs.sources.ecs?.low).toEqual(expect.arrayContaining(['task_family:nginx-efs', 'task_version:2', 'ecs_cluster_name:cluster_name', 'ecs_container_name:nginx', 'region:us-west-2']));
    expect(ecs.sources.ecs?.orchestrator).toContain('task_arn:arn:aws:ecs:us-west-2:012345678910:task/default/e01d58a8-151b-40e8-bc01-22647b9ecfec');
    expect(ecs.sources.docker?.low).toContain('docker_image:nginx:latest');
    expect(entity(result, 'ecs_task://e01d58a8-151b-40e8-bc01-22647b9ecfec').tags.low).toContain('task_family:nginx-efs');

    // The live container: env tags from Config.Env, the name after the rename, a pending delete after die.
    const web = entity(result, `container_id://${DEMO_IDS.web}`);
    expect(web.tags.low).toEqual(expect.arrayContaining(['env:demo', 'service:shop-web', 'version:1.4.2', 'compose_project:shop', 'compose_service:web']));
    expect(web.tags.high).toContain('container_name:shop-web-1');
    expect(web.tags.high).not.toContain('container_name:web');
    expect(web.pendingDelete?.sources).toEqual(['docker']);

    // The four recorded pods, with their owners.
    const pods = result.entities.filter((e) => e.id.startsWith('kubernetes_pod_uid://'));
    expect(pods.map((p) => p.id).sort()).toEqual([
      'kubernetes_pod_uid://8c27e2aa-e3ee-406d-b45e-432476d5dc13',
      'kubernetes_pod_uid://b5812e37-ce78-41e2-9d8d-d93a88e481d6',
      'kubernetes_pod_uid://da59f36e-a7a8-46ed-8d9d-36392eb967d4',
      'kubernetes_pod_uid://ebb73de1-03ec-4c34-bda3-bb8a44f01c2b',
    ]);
    expect(entity(result, 'kubernetes_pod_uid://ebb73de1-03ec-4c34-bda3-bb8a44f01c2b').tags.low).toContain('kube_daemon_set:kindnet');
    expect(entity(result, 'kubernetes_pod_uid://b5812e37-ce78-41e2-9d8d-d93a88e481d6').tags.low).toContain('kube_stateful_set:e2e-statefulset');

    expect(result.steps.map((s) => s.what.split(' ')[0])).toEqual(['ready:', 'cache', 'event', 'event', 'event']);
    const webQuery = result.queries.find((q) => q.entity === `container_id://${DEMO_IDS.web}`);
    expect(webQuery?.tags).toContain('container_id:2b73bf45c3228c8b7e936650b4e28a549e07fa5c6d424b356aac97dcb0c76253');
    // Sockets live in the temp dir, which is gone.
    expect(demoDirs()).toEqual(before);
  });

  it('prints each entity per source, merged, with the pending delete', async () => {
    const text = formatDemo(await runDemo());
    const block = text.slice(text.indexOf(`=== Entity container_id://${DEMO_IDS.k8s} ===`));
    expect(block.slice(0, block.indexOf('\n\n'))).toMatch(/== Source kubelet ==[\s\S]*== Source docker ==[\s\S]*== Merged ==/);
    const web = text.slice(text.indexOf(`=== Entity container_id://${DEMO_IDS.web} ===`));
    expect(web.slice(0, web.indexOf('\n\n'))).toMatch(/== Pending delete ==\n {2}deleted by docker; queryable until \d{4}-/);
  });
});

describe('tagger demo (CLI)', () => {
  it('runs in-process with --json and exits 0', async () => {
    let out = '';
    let err = '';
    const code = await runCli(['demo', '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
    expect(code).toBe(0);
    expect(err).toBe('');
    const body = JSON.parse(out) as DemoResult;
    expect(entity(body, `container_id://${DEMO_IDS.k8s}`).tags.orchestrator).toContain('pod_name:e2e-deployment-79967c5968-8bnn8');
  });

  // Without dist/ this skips, except in CI (CI=true or TAGGER_REQUIRE_ENGINES=1): there the
  // packaged binary must have been built, and its absence fails here instead of passing silently.
  it.skipIf(!existsSync(MAIN) && !REQUIRE_ALL)('runs as `node dist/cli/main.js demo` and leaves nothing behind', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN.pathname} is missing: run \`npm run build\` first (CI=true or TAGGER_REQUIRE_ENGINES=1 forbids skipping this)`);
    const before = demoDirs();
    const child = spawn(process.execPath, [MAIN.pathname, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('pod_name:e2e-deployment-79967c5968-8bnn8');
    expect(out).toContain('task_family:nginx-efs');
    expect(out).toContain('== Pending delete ==');
    expect(demoDirs()).toEqual(before);
  });
});

describe('demo fakes', () => {
  it('the ECS agent answers the recorded task for its container and 404 (not found) for others', async () => {
    const data = loadDemoData();
    const dir = await mkdtemp(join(tmpdir(), 'tagger-fake-ecs-'));
    const server = await serveFake(join(dir, 'agent.sock'), ecsAgentHandler(data));
    const client = new EcsClient({ agentUrl: server.address, v2Url: '' });
    try {
      expect(await client.introspectionTask(DEMO_IDS.ecs)).toMatchObject({ Family: 'nginx-efs', Version: '2' });
      expect(await client.introspectionTask(DEMO_IDS.web)).toBeUndefined();
      expect(await client.introspectionTasks()).toMatchObject({ Tasks: expect.arrayContaining([expect.objectContaining({ Family: 'hello_world' }), expect.objectContaining({ Family: 'nginx-efs' })]) as unknown });
    } finally {
      await client.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
