/**
 * `tagger demo`: the whole pipeline on recorded data. Fake Docker Engine, kubelet and ECS agent
 * endpoints on temporary unix sockets replay recorded payloads; a LocalTagger with the real
 * collectors (built from a config, as `tagger run` builds them) follows them; a few live Docker
 * events are played (a start, a rename, a die); the result is every entity's tags per source and
 * cardinality. Everything is in-process and removed at the end: sockets, temp dir, timers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../clock.js';
import type { Collector } from '../collectors/collector.js';
import { dockerCollectorFactory } from '../collectors/docker/factory.js';
import { EcsClient } from '../collectors/ecs/client.js';
import { EcsCollector } from '../collectors/ecs/collector.js';
import { kubeletCollectorFactory } from '../collectors/kubelet/factory.js';
import type { CollectorDeps } from '../collectors/factory.js';
import { resolveConfig, type TaggerConfig } from '../config.js';
import { createTagger } from '../create-tagger.js';
import { CONTAINER_PREFIX } from '../entity.js';
import { entityBody, type EntityBody } from '../ipc/protocol.js';
import { silentLogger } from '../logger.js';
import type { Tagger } from '../tagger/tagger.js';
import type { Cardinality, EntitySnapshot } from '../types.js';
import { DEMO_IDS, eventLines, loadDemoData } from './data.js';
import { ecsAgentHandler, kubeletHandler } from './fake-agents.js';
import { FakeDockerEngine } from './fake-docker-engine.js';
import { serveFake, type FakeServer } from './serve.js';

export interface DemoOptions {
  /** Pause between two replayed events of one step. Default 40 ms. */
  readonly eventDelayMs?: number;
  /** Longest wait for one step to show in the store. Default 3 s. */
  readonly stepTimeoutMs?: number;
}

export interface DemoStep {
  /** Milliseconds since the tagger started. */
  readonly atMs: number;
  readonly what: string;
}

export interface DemoQuery {
  readonly entity: string;
  readonly cardinality: Cardinality;
  readonly tags: readonly string[];
}

export interface DemoEntity extends EntityBody {
  readonly pendingDelete?: { readonly sources: readonly string[]; readonly removeAfter: string };
}

export interface DemoResult {
  /** Where the payloads come from, for the report's header. */
  readonly recorded: readonly string[];
  readonly steps: readonly DemoStep[];
  readonly queries: readonly DemoQuery[];
  readonly entities: readonly DemoEntity[];
}

const container = (id: string): string => CONTAINER_PREFIX + id;

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const data = loadDemoData();
  const eventDelayMs = options.eventDelayMs ?? 40;
  const stepTimeoutMs = options.stepTimeoutMs ?? 3_000;
  const dir = await mkdtemp(join(tmpdir(), 'tagger-demo-'));
  const servers: FakeServer[] = [];
  let tagger: Tagger | undefined;
  try {
    const docker = new FakeDockerEngine(data);
    docker.setContainer(DEMO_IDS.k8s, data.dockerInspect.k8s, true);
    docker.setContainer(DEMO_IDS.ecs, data.dockerInspect.ecs, true);
    const dockerServer = await serveFake(join(dir, 'docker.sock'), docker.handle);
    servers.push(dockerServer);
    const kubelet = await serveFake(join(dir, 'kubelet.sock'), kubeletHandler(data));
    servers.push(kubelet);
    const ecsAgent = await serveFake(join(dir, 'ecs-agent.sock'), ecsAgentHandler(data));
    servers.push(ecsAgent);

    const config = demoConfig(dockerServer.address, kubelet.address, ecsAgent.address);
    tagger = createTagger({ config, collectors: demoCollectors(config), logger: silentLogger });
    const started = Date.now();
    const steps: DemoStep[] = [];
    const step = (what: string): void => {
      steps.push({ atMs: Date.now() - started, what });
    };
    const live = tagger;
    const waitFor = (what: string, done: () => boolean): Promise<void> => until(what, done, stepTimeoutMs);

    await tagger.start();
    await withTimeout(tagger.ready(), stepTimeoutMs, 'the collectors did not sync');
    const pods = live.list().filter((e) => e.id.startsWith('kubernetes_pod_uid://')).length;
    const runtime = live.list().filter((e) => e.sources.docker !== undefined).length;
    step(`ready: docker listed and inspected ${runtime} running containers, kubelet's /pods gave ${pods} pods`);

    // ECS is fetch-only: the task's tags arrive on the first query for one of its containers.
    const ecsTags = await live.tag(container(DEMO_IDS.ecs), 'orchestrator');
    step(`cache miss on ${short(DEMO_IDS.ecs)}: the ECS agent's /v1/tasks?dockerid= gave its task (${pick(ecsTags, 'task_family', 'task_version')})`);

    await docker.whenStreaming();
    docker.setContainer(DEMO_IDS.web, data.dockerInspect.web, true);
    await docker.emit(eventLines(data, DEMO_IDS.web, ['create', 'start']), eventDelayMs);
    await waitFor('start', () => has(live.getEntity(container(DEMO_IDS.web)), 'low', 'env:demo'));
    step(`event start ${short(DEMO_IDS.web)} (web): tagged from the event, then from its inspect (env from DD_ENV)`);

    docker.setContainer(DEMO_IDS.web, data.dockerInspect.web_renamed, true);
    await docker.emit(eventLines(data, DEMO_IDS.web, ['rename']), eventDelayMs);
    await waitFor('rename', () => has(live.getEntity(container(DEMO_IDS.web)), 'high', 'container_name:shop-web-1'));
    step(`event rename ${short(DEMO_IDS.web)}: web -> shop-web-1, container_name follows`);

    docker.setContainer(DEMO_IDS.web, data.dockerInspect.web_exited, false);
    await docker.emit(eventLines(data, DEMO_IDS.web, ['kill', 'die']), eventDelayMs);
    await waitFor('die', () => live.getEntity(container(DEMO_IDS.web))?.pendingDelete !== undefined);
    const removeAfter = live.getEntity(container(DEMO_IDS.web))?.pendingDelete?.removeAfter ?? 0;
    step(`event die ${short(DEMO_IDS.web)}: pending delete, still queryable for ${Math.round((removeAfter - Date.now()) / 1000)} s (store.deletion_grace)`);

    const queries: DemoQuery[] = [];
    for (const [id, cardinality] of [
      [DEMO_IDS.k8s, 'low'],
      [DEMO_IDS.k8s, 'orchestrator'],
      [DEMO_IDS.ecs, 'orchestrator'],
      [DEMO_IDS.web, 'high'],
    ] as const) {
      const entity = container(id);
      queries.push({ entity, cardinality, tags: [...(await live.tag(entity, cardinality))].sort() });
    }

    return {
      recorded: describeSources(data.dockerVersion),
      steps,
      queries,
      entities: live.list().sort(byId).map(demoEntity),
    };
  } finally {
    await tagger?.stop();
    await Promise.allSettled(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

/** The config a `tagger run` would have on such a node; the environment is ignored on purpose. */
export function demoConfig(dockerHost: string, kubeletUrl: string, ecsAgentUrl: string): TaggerConfig {
  return resolveConfig(
    {
      docker: { enabled: 'true', host: dockerHost },
      containerd: { enabled: 'false' },
      kubelet: { enabled: 'true', url: kubeletUrl, tls_verify: false, token_file: '', poll_interval: '1s' },
      ecs: { enabled: 'true', agent_url: ecsAgentUrl },
    },
    {},
  );
}

/**
 * Docker and kubelet from their registry factories. ECS is built from its parts because its
 * factory always adds the task metadata v2 endpoint (169.254.170.2) as a fallback, which the
 * demo must never reach: off an ECS host that address only times out.
 */
export function demoCollectors(config: TaggerConfig): Collector[] {
  const deps: CollectorDeps = { config, clock: systemClock, logger: silentLogger, env: {} };
  const ecs = new EcsCollector({
    client: new EcsClient({ agentUrl: config.ecs.agent_url, v2Url: '', timeoutMs: config.fetch.timeout }),
    taskTags: config.ecs.task_tags,
    autodetect: false,
  });
  return [dockerCollectorFactory.create(deps, false), kubeletCollectorFactory.create(deps, false), ecs];
}

function demoEntity(e: EntitySnapshot): DemoEntity {
  const body = entityBody(e);
  return e.pendingDelete ? { ...body, pendingDelete: { sources: e.pendingDelete.sources, removeAfter: new Date(e.pendingDelete.removeAfter).toISOString() } } : body;
}

function describeSources(versionJson: string): string[] {
  const version = (JSON.parse(versionJson) as { Version?: string; ApiVersion?: string });
  return [
    `Docker Engine API: dockerd ${version.Version ?? '?'} (API ${version.ApiVersion ?? '?'}) list, inspect and /events`,
    'kubelet: GET /pods of a Kubernetes 1.35 node (4 of its pods)',
    'ECS agent introspection: /v1/metadata and /v1/tasks?dockerid= (AWS documentation examples)',
  ];
}

function has(e: EntitySnapshot | undefined, level: Cardinality, tag: string): boolean {
  return e?.tags[level].includes(tag) ?? false;
}

function pick(tags: readonly string[], ...names: string[]): string {
  return tags.filter((t) => names.some((n) => t.startsWith(`${n}:`))).join(', ');
}

function short(id: string): string {
  return `container ${id.slice(0, 12)}`;
}

function byId(a: EntitySnapshot, b: EntitySnapshot): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Polls the store: a step shows within milliseconds, and polling needs no hook into collectors. */
async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`demo step "${what}" did not reach the store within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
