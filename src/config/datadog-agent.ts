/**
 * The Datadog Agent's tagging keys, for users moving from the Agent: a `datadog.yaml` named by
 * `datadog.config_file`, and the `DD_*` environment form of each key (which beats the file, as in
 * the Agent). The result is one more layer of our keys, below ours (code, TAGGER_* and our file)
 * and above the defaults; config.ts places it. docs/configuration.md ("Coming from the Datadog
 * Agent") lists every mapped key and those deliberately left out.
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { parseYaml } from './yaml.js';
import { ConfigError } from '../errors.js';
import * as kinds from './kinds.js';

/** How an Agent key's value becomes ours. */
type Conversion = 'rules' | 'list' | 'scalar';

interface AgentMapping {
  /** Our key(s) the value sets. */
  readonly ours: readonly string[];
  /**
   * The Agent's keys, merged: for rules, an entry of an earlier key wins over the same entry of a
   * later one (the Agent's `docker_*` over `container_*`); for lists, the union; for a scalar, the
   * first key set.
   */
  readonly agent: readonly string[];
  readonly conversion: Conversion;
}

/** Every mapped key. Adding one is a row here and a line in docs/configuration.md. */
export const AGENT_MAPPINGS: readonly AgentMapping[] = [
  { ours: ['tags'], agent: ['tags', 'extra_tags'], conversion: 'list' },
  { ours: ['cluster_name'], agent: ['cluster_name'], conversion: 'scalar' },
  { ours: ['docker.labels_as_tags', 'containerd.labels_as_tags'], agent: ['docker_labels_as_tags', 'container_labels_as_tags'], conversion: 'rules' },
  { ours: ['docker.env_as_tags', 'containerd.env_as_tags'], agent: ['docker_env_as_tags', 'container_env_as_tags'], conversion: 'rules' },
  { ours: ['docker.exclude_pause_container'], agent: ['exclude_pause_container'], conversion: 'scalar' },
  { ours: ['containerd.namespaces'], agent: ['containerd_namespace', 'containerd_namespaces'], conversion: 'list' },
  { ours: ['containerd.exclude_namespaces'], agent: ['containerd_exclude_namespaces'], conversion: 'list' },
  { ours: ['kubelet.pod_labels_as_tags'], agent: ['kubernetes_pod_labels_as_tags'], conversion: 'rules' },
  { ours: ['kubelet.pod_annotations_as_tags'], agent: ['kubernetes_pod_annotations_as_tags'], conversion: 'rules' },
  { ours: ['kubelet.persistent_volume_claims_as_tags'], agent: ['kubernetes_persistent_volume_claims_as_tags'], conversion: 'scalar' },
  { ours: ['kubelet.tls_verify'], agent: ['kubelet_tls_verify'], conversion: 'scalar' },
  { ours: ['kubelet.token_file'], agent: ['kubelet_auth_token_path'], conversion: 'scalar' },
  { ours: ['kubelet.ca_file'], agent: ['kubelet_client_ca'], conversion: 'scalar' },
  { ours: ['kubernetes.namespace_labels_as_tags'], agent: ['kubernetes_namespace_labels_as_tags'], conversion: 'rules' },
  { ours: ['kubernetes.namespace_annotations_as_tags'], agent: ['kubernetes_namespace_annotations_as_tags'], conversion: 'rules' },
  { ours: ['ecs.agent_url'], agent: ['ecs_agent_url'], conversion: 'scalar' },
  { ours: ['ecs.task_tags'], agent: ['ecs_collect_resource_tags_ec2'], conversion: 'scalar' },
  { ours: ['ecs.task_collection'], agent: ['ecs_task_collection_enabled'], conversion: 'scalar' },
  { ours: ['ecs.resource_tags_replace_colon'], agent: ['ecs_resource_tags_replace_colon'], conversion: 'scalar' },
];

/** The Agent's kubelet address keys, which together make our one `kubelet.url`. */
const KUBELET_HOST = 'kubernetes_kubelet_host';
const KUBELET_HTTPS_PORT = 'kubernetes_https_kubelet_port';
const KUBELET_HTTP_PORT = 'kubernetes_http_kubelet_port';
/** The Agent's default kubelet HTTPS port. */
const DEFAULT_KUBELET_HTTPS_PORT = 10250;

/** One value the Agent layer sets, with what names it in an error. */
export interface AgentValue {
  readonly value: unknown;
  readonly origin: string;
}

/** `docker_labels_as_tags` -> `DD_DOCKER_LABELS_AS_TAGS`. */
export function agentEnvNameOf(agentKey: string): string {
  return `DD_${agentKey.toUpperCase()}`;
}

/**
 * Our keys the Agent's configuration sets: from `configFile` (empty: none) and the `DD_*`
 * environment. Throws ConfigError naming `datadog.config_file` for a file that cannot be read or
 * parsed, and naming the Agent key or variable for a value of the wrong kind.
 */
export function agentLayer(configFile: string, env: NodeJS.ProcessEnv): Map<string, AgentValue> {
  const file = configFile ? readAgentFile(configFile) : {};
  const fileOrigin = (agentKey: string): string => `datadog.config_file (${agentKey} in ${configFile})`;
  /** One Agent key's value, already read as `conversion` reads it: the variable first, then the file. */
  const read = (agentKey: string, conversion: Conversion): AgentValue | undefined => {
    const envName = agentEnvNameOf(agentKey);
    const text = env[envName];
    if (text !== undefined && text !== '') return { value: readValue(envName, conversion, text, true), origin: envName };
    if (!(agentKey in file) || file[agentKey] === null) return undefined;
    const origin = fileOrigin(agentKey);
    return { value: readValue(origin, conversion, file[agentKey], false), origin };
  };

  const out = new Map<string, AgentValue>();
  for (const mapping of AGENT_MAPPINGS) {
    const found = mapping.agent.map((key) => read(key, mapping.conversion)).filter((x): x is AgentValue => x !== undefined);
    const first = found[0];
    if (!first) continue;
    const value = mapping.conversion === 'rules' ? mergeRules(found.map((f) => f.value as Record<string, string | string[]>)) : mapping.conversion === 'list' ? [...new Set(found.flatMap((f) => f.value as string[]))] : first.value;
    for (const key of mapping.ours) out.set(key, { value, origin: first.origin });
  }
  const url = kubeletUrl(read(KUBELET_HOST, 'scalar'), read(KUBELET_HTTPS_PORT, 'scalar'), read(KUBELET_HTTP_PORT, 'scalar'));
  if (url) out.set('kubelet.url', url);
  return out;
}

function readAgentFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('datadog.config_file', `cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError('datadog.config_file', `${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('datadog.config_file', `${path} must be a mapping of keys`);
  return parsed as Record<string, unknown>;
}

/**
 * A value as the Agent reads it. Strings for maps are JSON, strings for lists are words (the Agent
 * reads both so from the environment, and from the file too); rule keys are lower-cased, as the
 * Agent does, so `docker_*` and `container_*` entries for one label meet.
 */
function readValue(origin: string, conversion: Conversion, raw: unknown, fromEnv: boolean): unknown {
  if (conversion === 'scalar') return raw;
  const kind = conversion === 'rules' ? kinds.rules : kinds.list;
  let value = raw;
  if (typeof raw === 'string' && kind.fromText) {
    const text = kind.fromText(raw);
    if (!('value' in text)) throw new ConfigError(origin, fromEnv ? text.reason : 'must be JSON when written as a string');
    value = text.value;
  }
  const result = v.safeParse(kind.schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const subkey = issue.path?.[0]?.key;
    throw new ConfigError(subkey === undefined ? origin : `${origin}.${String(subkey)}`, issue.message);
  }
  if (conversion === 'list') return result.output;
  return Object.fromEntries(Object.entries(result.output).map(([k, tag]) => [k.toLowerCase(), tag]));
}

/** Rule maps merged; an entry of an earlier map wins (the Agent's `mergeMaps`). */
function mergeRules(maps: readonly Record<string, string | string[]>[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const map of maps) for (const [k, tag] of Object.entries(map)) if (!(k in out)) out[k] = tag;
  return out;
}

/**
 * `kubelet.url` from the Agent's host and ports: HTTPS on `kubernetes_https_kubelet_port` (10250
 * unless set); when that port is turned off (0 or below), plain HTTP on `kubernetes_http_kubelet_port`.
 * No host: nothing (our kubelet collector finds the node itself).
 */
function kubeletUrl(host: AgentValue | undefined, httpsPort: AgentValue | undefined, httpPort: AgentValue | undefined): AgentValue | undefined {
  if (!host || typeof host.value !== 'string' || host.value === '') return undefined;
  const hostPart = host.value.includes(':') && !host.value.startsWith('[') ? `[${host.value}]` : host.value;
  const https = httpsPort ? portOf(httpsPort) : DEFAULT_KUBELET_HTTPS_PORT;
  if (https > 0) return { value: `https://${hostPart}:${https}`, origin: host.origin };
  if (httpPort && portOf(httpPort) > 0) return { value: `http://${hostPart}:${portOf(httpPort)}`, origin: host.origin };
  throw new ConfigError(httpPort?.origin ?? httpsPort?.origin ?? host.origin, 'no kubelet port: the HTTPS port is off and no HTTP port is set');
}

function portOf(port: AgentValue): number {
  const n = typeof port.value === 'number' ? port.value : typeof port.value === 'string' && /^-?\d+$/.test(port.value.trim()) ? Number(port.value) : NaN;
  if (!Number.isInteger(n) || n > 65_535) throw new ConfigError(port.origin, 'must be a port number');
  return n;
}
