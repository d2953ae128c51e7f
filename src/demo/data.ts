/**
 * The recorded payloads the demo replays (src/demo/data/, copied into dist by
 * scripts/finish-build.mjs). data/README.md says where each comes from and what was changed.
 * Payloads are served as the recorded text wherever possible, so the collectors parse the bytes
 * a real endpoint sent.
 */
import { readFileSync } from 'node:fs';

export interface DemoData {
  readonly dockerVersion: string;
  /** `GET /containers/json` entries of every demo container, as recorded (parsed: no big numbers). */
  readonly dockerList: readonly DockerListEntry[];
  /** Inspect bodies by name: k8s, ecs, web, web_renamed, web_exited. */
  readonly dockerInspect: Readonly<Record<DockerInspectName, string>>;
  /** `/events` lines as recorded; kept as text because `timeNano` exceeds 2^53. */
  readonly dockerEvents: readonly string[];
  readonly kubeletPods: string;
  readonly ecsAgentMetadata: string;
  readonly ecsAgentTaskNginx: string;
  readonly ecsAgentTasks: string;
}

export type DockerInspectName = 'k8s' | 'ecs' | 'web' | 'web_renamed' | 'web_exited';

export interface DockerListEntry {
  readonly Id: string;
  readonly [key: string]: unknown;
}

/** The three demo containers: one kubelet also knows, one the ECS agent knows, one plain. */
export const DEMO_IDS = Object.freeze({
  /** Pod scraper/e2e-deployment-79967c5968-8bnn8, container compute-pi-digits. */
  k8s: 'a33effaac09ebc0bd003f783736428445148029e0a835cf57e592321b75b8c7a',
  /** Task nginx-efs:2, container nginx (ECS agent introspection doc example). */
  ecs: '79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920',
  /** A compose service started, renamed and killed during the demo. */
  web: '2b73bf45c3228c8b7e936650b4e28a549e07fa5c6d424b356aac97dcb0c76253',
});

function text(name: string): string {
  return readFileSync(new URL(`./data/${name}`, import.meta.url), 'utf8');
}

function json(name: string): unknown {
  return JSON.parse(text(name));
}

export function loadDemoData(): DemoData {
  const list = json('docker_containers.json');
  const events = json('docker_events.json');
  if (!Array.isArray(list) || !Array.isArray(events)) throw new Error('demo data is damaged: docker_containers.json and docker_events.json must be arrays');
  return {
    dockerVersion: text('docker_version.json'),
    dockerList: list as DockerListEntry[],
    dockerInspect: {
      k8s: text('docker_inspect_k8s.json'),
      ecs: text('docker_inspect_ecs.json'),
      web: text('docker_inspect_web.json'),
      web_renamed: text('docker_inspect_web_renamed.json'),
      web_exited: text('docker_inspect_web_exited.json'),
    },
    dockerEvents: events.filter((line): line is string => typeof line === 'string'),
    kubeletPods: text('kubelet_pods.json'),
    ecsAgentMetadata: text('ecs_agent_metadata.json'),
    ecsAgentTaskNginx: text('ecs_agent_task_nginx.json'),
    ecsAgentTasks: text('ecs_agent_tasks.json'),
  };
}

/** The recorded event lines of one container and action, in recorded order. */
export function eventLines(data: DemoData, id: string, actions: readonly string[]): string[] {
  const out: string[] = [];
  for (const action of actions) {
    const line = data.dockerEvents.find((l) => l.includes(`"Action":"${action}"`) && l.includes(`"ID":"${id}"`));
    if (line === undefined) throw new Error(`demo data has no ${action} event for ${id.slice(0, 12)}`);
    out.push(line);
  }
  return out;
}
