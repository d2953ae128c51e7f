/**
 * Configuration: a YAML file (`--config FILE` or TAGGER_CONFIG) overlaid with environment
 * variables, where key `a.b_c` is `TAGGER_A_B_C`. Every key is declared once in SCHEMA with its
 * type and default; an unknown file key or a bad value is a ConfigError naming the key.
 * Standard variables are honoured as their own tools do: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_TLS,
 * DOCKER_CERT_PATH, ECS_CONTAINER_METADATA_URI_V4, ECS_CONTAINER_METADATA_URI.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import type { RuleMap } from './rules.js';

export type Toggle = 'auto' | 'true' | 'false';

export interface TaggerConfig {
  mode: 'local' | 'remote' | 'cluster';
  cluster_name: string;
  log: { level: LogLevel };
  ipc: { socket: string; tcp_address: string; auth_token_file: string; heartbeat_interval: number; max_connections: number; tls_cert_file: string; tls_key_file: string };
  remote: { socket: string; address: string; auth_token_file: string };
  store: { deletion_grace: number; prune_interval: number; tombstone_ttl: number };
  fetch: { timeout: number; not_found_ttl: number; error_ttl: number };
  docker: { enabled: Toggle; host: string; tls_verify: boolean; tls: boolean; cert_path: string; labels_as_tags: RuleMap; env_as_tags: RuleMap };
  containerd: {
    enabled: Toggle;
    socket: string;
    namespaces: string[];
    exclude_namespaces: string[];
    labels_as_tags: RuleMap;
    env_as_tags: RuleMap;
  };
  kubelet: {
    enabled: Toggle;
    url: string;
    token_file: string;
    ca_file: string;
    tls_verify: boolean;
    poll_interval: number;
    pod_labels_as_tags: RuleMap;
    pod_annotations_as_tags: RuleMap;
    node_name: string;
  };
  kubernetes: {
    enabled: boolean;
    api_url: string;
    token_file: string;
    ca_file: string;
    tls_verify: boolean;
    namespace_labels_as_tags: RuleMap;
    namespace_annotations_as_tags: RuleMap;
    kube_service_ignore_readiness: boolean;
  };
  cluster_agent: { url: string; auth_token_file: string; ca_file: string; tls_verify: boolean };
  ecs: { enabled: Toggle; agent_url: string; metadata_uri_v4: string; metadata_uri: string; metadata_v2: Toggle; task_tags: boolean };
}

type Kind = 'string' | 'bool' | 'duration' | 'toggle' | 'rules' | 'list' | 'int' | 'mode' | 'level' | 'address';

interface KeySpec {
  readonly kind: Kind;
  readonly default: unknown;
  /** Standard environment variable that sets it, honoured below the TAGGER_ one. */
  readonly standardEnv?: string;
  /**
   * The standard variable turns the key on when set to anything non-empty, as the docker CLI reads
   * DOCKER_TLS_VERIFY and DOCKER_TLS (`0` and `false` turn TLS on too: the CLI never reads the value).
   */
  readonly standardEnvIsFlag?: boolean;
  /** Durations: the accepted [min, max] in ms, both included (docs/configuration.md says why each). */
  readonly range?: readonly [min: number, max: number];
}

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Node's timers hold at most 2^31 - 1 ms; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every key, with its type and default. docs/configuration.md documents each. */
export const SCHEMA: Readonly<Record<string, KeySpec>> = {
  mode: { kind: 'mode', default: 'local' },
  cluster_name: { kind: 'string', default: '' },
  'log.level': { kind: 'level', default: 'info' },
  'ipc.socket': { kind: 'string', default: '/var/run/tagger/tagger.sock' },
  'ipc.tcp_address': { kind: 'address', default: '' },
  'ipc.auth_token_file': { kind: 'string', default: '/var/run/tagger/auth_token' },
  'ipc.heartbeat_interval': { kind: 'duration', default: 30_000, range: [100, 10 * MINUTE] },
  'ipc.max_connections': { kind: 'int', default: 1024 },
  'ipc.tls_cert_file': { kind: 'string', default: '' },
  'ipc.tls_key_file': { kind: 'string', default: '' },
  'remote.socket': { kind: 'string', default: '' },
  'remote.address': { kind: 'address', default: '' },
  'remote.auth_token_file': { kind: 'string', default: '/var/run/tagger/auth_token' },
  'store.deletion_grace': { kind: 'duration', default: 5 * 60_000, range: [0, 24 * HOUR] },
  'store.prune_interval': { kind: 'duration', default: 10_000, range: [100, HOUR] },
  'store.tombstone_ttl': { kind: 'duration', default: 10 * 60_000, range: [SECOND, 24 * HOUR] },
  'fetch.timeout': { kind: 'duration', default: 2_000, range: [100, MINUTE] },
  'fetch.not_found_ttl': { kind: 'duration', default: 60_000, range: [SECOND, HOUR] },
  'fetch.error_ttl': { kind: 'duration', default: 5_000, range: [100, HOUR] },
  'docker.enabled': { kind: 'toggle', default: 'auto' },
  'docker.host': { kind: 'string', default: 'unix:///var/run/docker.sock', standardEnv: 'DOCKER_HOST' },
  'docker.tls_verify': { kind: 'bool', default: false, standardEnv: 'DOCKER_TLS_VERIFY', standardEnvIsFlag: true },
  'docker.tls': { kind: 'bool', default: false, standardEnv: 'DOCKER_TLS', standardEnvIsFlag: true },
  /** Empty: `~/.docker`, resolved by the Docker factory (the home folder is the running user's). */
  'docker.cert_path': { kind: 'string', default: '', standardEnv: 'DOCKER_CERT_PATH' },
  'docker.labels_as_tags': { kind: 'rules', default: {} },
  'docker.env_as_tags': { kind: 'rules', default: {} },
  'containerd.enabled': { kind: 'toggle', default: 'auto' },
  'containerd.socket': { kind: 'string', default: '/run/containerd/containerd.sock' },
  'containerd.namespaces': { kind: 'list', default: [] },
  'containerd.exclude_namespaces': { kind: 'list', default: ['moby'] },
  'containerd.labels_as_tags': { kind: 'rules', default: {} },
  'containerd.env_as_tags': { kind: 'rules', default: {} },
  'kubelet.enabled': { kind: 'toggle', default: 'auto' },
  'kubelet.url': { kind: 'string', default: '' },
  'kubelet.token_file': { kind: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
  'kubelet.ca_file': { kind: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' },
  'kubelet.tls_verify': { kind: 'bool', default: true },
  'kubelet.poll_interval': { kind: 'duration', default: 5_000, range: [500, 10 * MINUTE] },
  'kubelet.pod_labels_as_tags': { kind: 'rules', default: {} },
  'kubelet.pod_annotations_as_tags': { kind: 'rules', default: {} },
  'kubelet.node_name': { kind: 'string', default: '', standardEnv: 'NODE_NAME' },
  'kubernetes.enabled': { kind: 'bool', default: false },
  'kubernetes.api_url': { kind: 'string', default: '' },
  'kubernetes.token_file': { kind: 'string', default: '' },
  'kubernetes.ca_file': { kind: 'string', default: '' },
  'kubernetes.tls_verify': { kind: 'bool', default: true },
  'kubernetes.namespace_labels_as_tags': { kind: 'rules', default: {} },
  'kubernetes.namespace_annotations_as_tags': { kind: 'rules', default: {} },
  'kubernetes.kube_service_ignore_readiness': { kind: 'bool', default: false },
  'cluster_agent.url': { kind: 'string', default: '' },
  'cluster_agent.auth_token_file': { kind: 'string', default: '/etc/tagger/cluster-token/token' },
  'cluster_agent.ca_file': { kind: 'string', default: '' },
  'cluster_agent.tls_verify': { kind: 'bool', default: true },
  'ecs.enabled': { kind: 'toggle', default: 'auto' },
  'ecs.agent_url': { kind: 'string', default: 'http://localhost:51678' },
  'ecs.metadata_uri_v4': { kind: 'string', default: '', standardEnv: 'ECS_CONTAINER_METADATA_URI_V4' },
  'ecs.metadata_uri': { kind: 'string', default: '', standardEnv: 'ECS_CONTAINER_METADATA_URI' },
  'ecs.metadata_v2': { kind: 'toggle', default: 'auto' },
  'ecs.task_tags': { kind: 'bool', default: false },
};

/** Marks a config that resolveConfig built: its durations are milliseconds already. */
const RESOLVED = Symbol('tagger.resolvedConfig');

/** True for a TaggerConfig from resolveConfig / loadConfig (not a raw, YAML-shaped object). */
export function isResolvedConfig(value: unknown): value is TaggerConfig {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[RESOLVED] === true;
}

/** `a.b_c` -> `TAGGER_A_B_C`. */
export function envNameOf(key: string): string {
  return `TAGGER_${key.replace(/\./g, '_').toUpperCase()}`;
}

/** The defaults, as a complete config. */
export function defaultConfig(): TaggerConfig {
  return resolveConfig({}, {});
}

/** Reads the YAML file (if any) and the environment into a validated config. */
export function loadConfig(options: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: unknown } = {}): TaggerConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.TAGGER_CONFIG;
  let fileValues: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError('--config', `cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      fileValues = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError('--config', `${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return resolveConfig(fileValues, env, options.overrides);
}

/**
 * Builds a config from a nested object (as YAML gives, or `init(config)` passes) and an environment.
 * Precedence: `overrides` (the library's config object given in code), then the TAGGER_* variable,
 * then the object, then the standard variable, then the default.
 */
export function resolveConfig(values: unknown, env: NodeJS.ProcessEnv = {}, overrides: unknown = {}): TaggerConfig {
  if (isResolvedConfig(values)) return values;
  const flat = flattenChecked(values);
  const code = flattenChecked(overrides);
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SCHEMA)) {
    const envName = envNameOf(key);
    const fromEnv = env[envName];
    if (key in code) out[key] = checked(key, spec, coerce(key, spec.kind, code[key], false));
    else if (fromEnv !== undefined && fromEnv !== '') out[key] = checked(envName, spec, coerce(envName, spec.kind, fromEnv, true));
    else if (key in flat) out[key] = checked(key, spec, coerce(key, spec.kind, flat[key], false));
    else if (spec.standardEnv && env[spec.standardEnv]) out[key] = spec.standardEnvIsFlag ? true : coerce(spec.standardEnv, spec.kind, env[spec.standardEnv], true);
    else out[key] = structuredClone(spec.default);
  }
  const config = unflatten(out);
  // Not enumerable: invisible to JSON and spreads, but resolving a resolved config is a no-op, so
  // durations already in milliseconds are never read again as seconds.
  Object.defineProperty(config, RESOLVED, { value: true });
  return config as unknown as TaggerConfig;
}

/**
 * Checks that only the daemon needs (the library may follow a daemon on the default ipc.socket):
 * something to serve on, and in remote mode a daemon that is not itself. Throws ConfigError.
 */
export function checkDaemonConfig(config: TaggerConfig): void {
  if (!config.ipc.socket && !config.ipc.tcp_address) throw new ConfigError('ipc.socket', 'one of ipc.socket and ipc.tcp_address must be set');
  // Equal paths would make the sidecar replace the node daemon's socket and follow itself.
  if (config.mode === 'remote' && config.remote.socket && config.ipc.socket && resolvePath(config.remote.socket.replace(/^unix:\/\//, '')) === resolvePath(config.ipc.socket)) {
    throw new ConfigError('remote.socket', `must differ from ipc.socket (${config.ipc.socket})`);
  }
}

/** A duration outside its key's range is refused: 0 or 1 ms would be a busy loop, 2^31 ms overflows. */
function checked(name: string, spec: KeySpec, value: unknown): unknown {
  if (spec.kind !== 'duration') return value;
  const [min, max] = spec.range ?? [0, MAX_TIMER_MS];
  const ms = value as number;
  if (ms < min || ms > max) throw new ConfigError(name, `must be between ${formatDuration(min)} and ${formatDuration(max)}, got ${formatDuration(ms)}`);
  return value;
}

/** `ms` in the largest unit that holds it whole: 3600000 -> `1h`, 1500 -> `1500ms`. */
function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A nested mapping flattened, each of its keys known. */
function flattenChecked(values: unknown): Record<string, unknown> {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) throw new ConfigError('<root>', 'must be a mapping of keys');
  const flat = flatten(values as Record<string, unknown>);
  for (const key of Object.keys(flat)) if (!(key in SCHEMA)) throw new ConfigError(key, `unknown key${suggest(key)}`);
  return flat;
}

/** Nested keys joined with dots; rule maps (values of `*_as_tags`) stay whole. */
function flatten(values: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // A section with only comments under it (`docker:`) is YAML null: no keys, not an unknown one.
    if (v === null && !(key in SCHEMA) && isSection(key)) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && SCHEMA[key]?.kind !== 'rules') Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

function isSection(key: string): boolean {
  return Object.keys(SCHEMA).some((k) => k.startsWith(`${key}.`));
}

function unflatten(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] as string] = value;
  }
  return out;
}

function coerce(key: string, kind: Kind, raw: unknown, fromText: boolean): unknown {
  switch (kind) {
    case 'string':
      if (typeof raw !== 'string') throw new ConfigError(key, 'must be a string');
      return raw;
    case 'address':
      if (typeof raw !== 'string') throw new ConfigError(key, 'must be a host:port string');
      if (raw !== '' && !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(raw)) throw new ConfigError(key, `must be host:port, got ${JSON.stringify(raw)}`);
      return raw;
    case 'bool': {
      const value = parseBool(raw);
      if (value === undefined) throw new ConfigError(key, 'must be true or false');
      return value;
    }
    case 'toggle': {
      if (typeof raw === 'string' && raw.toLowerCase() === 'auto') return 'auto';
      const value = parseBool(raw);
      if (value === undefined) throw new ConfigError(key, 'must be auto, true or false');
      return value ? 'true' : 'false';
    }
    case 'mode':
      if (raw === 'local' || raw === 'remote' || raw === 'cluster') return raw;
      throw new ConfigError(key, 'must be local, remote or cluster');
    case 'level':
      if (typeof raw === 'string' && (LOG_LEVELS as readonly string[]).includes(raw)) return raw;
      throw new ConfigError(key, `must be one of ${LOG_LEVELS.join(', ')}`);
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(key, 'must be a positive whole number');
      return n;
    }
    case 'duration':
      return parseDuration(key, raw);
    case 'list':
      return parseList(key, raw, fromText);
    case 'rules':
      return parseRules(key, raw, fromText);
  }
}

/** One set of spellings for on/off, from YAML (booleans, 1/0, strings) and from the environment alike. */
function parseBool(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const text = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : '';
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  return undefined;
}

/** `500ms`, `10s`, `5m`, `1h`, or a bare number of seconds. */
export function parseDuration(key: string, raw: unknown): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw * 1000;
  if (typeof raw === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
    if (m) {
      const unit = m[2] ?? 's';
      const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
      return Math.round(Number(m[1]) * factor);
    }
  }
  throw new ConfigError(key, `must be a duration such as 500ms, 10s or 5m, got ${JSON.stringify(raw)}`);
}

function parseList(key: string, raw: unknown, fromText: boolean): string[] {
  let value = raw;
  if (fromText && typeof raw === 'string') value = raw.trim().startsWith('[') ? parseJson(key, raw) : raw.split(/[\s,]+/).filter(Boolean);
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ConfigError(key, 'must be a list of strings');
  return value as string[];
}

function parseRules(key: string, raw: unknown, fromText: boolean): Record<string, string | string[]> {
  const value = fromText && typeof raw === 'string' ? parseJson(key, raw) : raw;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(key, 'must be a map of key or glob -> tag name');
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' && v.trim() !== '') out[k] = v;
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.trim() !== '')) out[k] = v as string[];
    else throw new ConfigError(`${key}.${k}`, 'tag name must be a non-empty string (or list of them)');
  }
  return out;
}

function parseJson(key: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(key, 'must be JSON here (environment values of maps and lists are JSON)');
  }
}

function suggest(key: string): string {
  const last = key.split('.').pop() ?? key;
  const close = Object.keys(SCHEMA).find((k) => k.endsWith(`.${last}`) || k === last);
  return close ? ` (did you mean ${close}?)` : '';
}
