/**
 * Configuration: a YAML file (`--config FILE` or TAGGER_CONFIG) overlaid with environment
 * variables, where key `a.b_c` is `TAGGER_A_B_C`. Every key is declared once, in
 * config/schema.ts (its kind, default and range); an unknown file key or a bad value is a
 * ConfigError naming the key (or the variable it came from) and the reason.
 * Standard variables are honoured as their own tools do: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_TLS,
 * DOCKER_CERT_PATH, ECS_CONTAINER_METADATA_URI_V4, ECS_CONTAINER_METADATA_URI.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import * as v from 'valibot';
import { parseYaml } from './config/yaml.js';
import { agentLayer } from './config/datadog-agent.js';
import { readDuration, type Kind } from './config/kinds.js';
import { CONFIG_SCHEMA, KEYS, SECTIONS, type TaggerConfig } from './config/schema.js';
import { ConfigError } from './errors.js';

export type { Toggle } from './config/kinds.js';
export type { TaggerConfig } from './config/schema.js';

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
 * then the object, then the Datadog Agent's keys (its `DD_*` variables, then the `datadog.yaml` that
 * `datadog.config_file` names), then the standard variable, then the default.
 */
export function resolveConfig(values: unknown, env: NodeJS.ProcessEnv = {}, overrides: unknown = {}): TaggerConfig {
  if (isResolvedConfig(values)) return values;
  const fromFile = flattenChecked(values);
  const fromCode = flattenChecked(overrides);
  const layered: Record<string, unknown> = {};
  // What each value is named by in an error: the key, or the variable it came from.
  const origin = new Map<string, string>();
  const fromAgent = agentLayer(agentConfigFile(fromCode, fromFile, env), env);
  for (const spec of KEYS.values()) {
    const { key } = spec;
    const envName = envNameOf(key);
    const fromEnv = env[envName];
    const standard = spec.standardEnv ? env[spec.standardEnv] : undefined;
    const agent = fromAgent.get(key);
    if (key in fromCode) layered[key] = fromCode[key];
    else if (fromEnv !== undefined && fromEnv !== '') {
      layered[key] = fromText(envName, spec.fromText, fromEnv);
      origin.set(key, envName);
    } else if (key in fromFile) layered[key] = fromFile[key];
    else if (agent) {
      layered[key] = agent.value;
      origin.set(key, agent.origin);
    } else if (spec.standardEnv && standard) {
      layered[key] = spec.standardEnvIsFlag ? true : fromText(spec.standardEnv, spec.fromText, standard);
      origin.set(key, spec.standardEnv);
    }
  }
  const result = v.safeParse(CONFIG_SCHEMA, unflatten(layered, SECTIONS));
  if (!result.success) {
    const issue = result.issues[0];
    const path = (issue.path ?? []).map((item) => String(item.key));
    const key = path.slice(0, 2).join('.');
    const at = KEYS.has(key) ? [origin.get(key) ?? key, ...path.slice(2)] : [path.slice(0, 1).join('.'), ...path.slice(1)];
    throw new ConfigError(at.join('.') || '<root>', issue.message);
  }
  const config = result.output;
  // Not enumerable: invisible to JSON and spreads, but resolving a resolved config is a no-op, so
  // durations already in milliseconds are never read again as seconds.
  Object.defineProperty(config, RESOLVED, { value: true });
  return config;
}

/** `datadog.config_file` from the layers above the Agent's own (it cannot name itself). */
function agentConfigFile(fromCode: Record<string, unknown>, fromFile: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  const key = 'datadog.config_file';
  const fromEnv = env[envNameOf(key)];
  const value = key in fromCode ? fromCode[key] : fromEnv !== undefined && fromEnv !== '' ? fromEnv : fromFile[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ConfigError(key, 'must be a string');
  return value;
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

/** `500ms`, `10s`, `5m`, `1h`, or a bare number of seconds, to ms; a ConfigError naming `key` otherwise. */
export function parseDuration(key: string, raw: unknown): number {
  const read = readDuration(raw);
  if ('value' in read) return read.value;
  throw new ConfigError(key, read.reason);
}

/** An environment variable's text as the value its key's kind reads (JSON for maps, words for lists). */
function fromText(name: string, parse: Kind<unknown>['fromText'], text: string): unknown {
  if (!parse) return text;
  const read = parse(text);
  if ('value' in read) return read.value;
  throw new ConfigError(name, read.reason);
}

/** A nested mapping flattened, each of its keys known. */
function flattenChecked(values: unknown): Record<string, unknown> {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) throw new ConfigError('<root>', 'must be a mapping of keys');
  const flat = flatten(values as Record<string, unknown>);
  for (const key of Object.keys(flat)) if (!KEYS.has(key)) throw new ConfigError(key, `unknown key${suggest(key)}`);
  return flat;
}

/** Nested keys joined with dots, down to the schema's keys (a rule map stays whole). */
function flatten(values: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(values)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // A section with only comments under it (`docker:`) is YAML null: no keys, not an unknown one.
    if (value === null && SECTIONS.has(key)) continue;
    if (!KEYS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flatten(value as Record<string, unknown>, key));
    else out[key] = value;
  }
  return out;
}

/** Dotted keys nested again, every section present (empty when none of its keys is set). */
function unflatten(flat: Record<string, unknown>, sections: Iterable<string>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries([...sections].map((name) => [name, {}]));
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] as string] = value;
  }
  return out;
}

function suggest(key: string): string {
  const last = key.split('.').pop() ?? key;
  const close = [...KEYS.keys()].find((k) => k.endsWith(`.${last}`) || k === last);
  return close ? ` (did you mean ${close}?)` : '';
}
