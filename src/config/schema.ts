/**
 * Every configuration key, once: its kind (and so its type and range), its default, and the
 * standard variable it also honours. TaggerConfig is inferred from this schema, the environment
 * name is derived from the key, and docs/configuration.md is checked against it (schema.test.ts).
 *
 * Adding a key is one entry here, in its section (a new section is a new `section({...})`):
 *   `my_key: setting(kinds.duration('1s', '1h'), '30s')`
 * gives `config.section.my_key` (number of ms), `TAGGER_SECTION_MY_KEY`, the range check and its
 * message. Then add its row to docs/configuration.md's Keys table (the test fails until you do),
 * and read it where it is used.
 */
import * as v from 'valibot';
import * as kinds from './kinds.js';

/** Where a key may also come from, below the TAGGER_ variable and the file. */
export type SettingOptions = {
  /** Standard environment variable that sets it, honoured below the TAGGER_ one and the file. */
  readonly standardEnv?: string;
  /**
   * The standard variable turns the key on when set to anything non-empty, as the docker CLI reads
   * DOCKER_TLS_VERIFY and DOCKER_TLS (`0` and `false` turn TLS on too: the CLI never reads the value).
   */
  readonly standardEnvIsFlag?: boolean;
};

/** What the loader needs to know of a key beyond its schema. */
export type SettingMetadata = SettingOptions & {
  /** The default, written as a user would write it (`'30s'`), so it passes the same checks. */
  readonly default: DefaultValue;
  readonly fromText?: kinds.Kind<unknown>['fromText'];
  readonly range?: readonly [number, number];
};

type DefaultValue = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

/** One key: a value of `kind`, `fallback` when no layer sets it. */
function setting<T, const D extends DefaultValue>(kind: kinds.Kind<T>, fallback: D, options: SettingOptions = {}) {
  const metadata: SettingMetadata = { ...options, default: fallback, ...(kind.fromText ? { fromText: kind.fromText } : {}), ...(kind.range ? { range: kind.range } : {}) };
  // A copy each time: a default list or map handed out is never shared between configs.
  return v.pipe(v.optional(kind.schema, () => structuredClone(fallback)), v.metadata<T, SettingMetadata>(metadata));
}

/** A section of keys (`docker.*`). The loader hands every section in, so each key left out takes its default. */
const section = v.object;

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export const CONFIG_SCHEMA = v.object({
  mode: setting(kinds.mode, 'local'),
  /** The Kubernetes cluster's name: `kube_cluster_name` on the global entity (the cluster collector). */
  cluster_name: setting(kinds.text, ''),
  /** Static `key:value` tags, low cardinality, on the global entity (the Agent's `tags` / `DD_TAGS`). */
  tags: setting(kinds.list, []),
  datadog: section({
    /** A Datadog Agent `datadog.yaml` whose tagging keys apply where ours are unset (config/datadog-agent.ts). */
    config_file: setting(kinds.text, ''),
  }),
  log: section({
    level: setting(kinds.logLevel, 'info'),
  }),
  ipc: section({
    socket: setting(kinds.text, '/var/run/tagger/tagger.sock'),
    tcp_address: setting(kinds.address, ''),
    auth_token_file: setting(kinds.text, '/var/run/tagger/auth_token'),
    heartbeat_interval: setting(kinds.duration('100ms', '10m'), '30s'),
    max_connections: setting(kinds.positiveInt, 1024),
    /** HTTPS on tcp_address (both or neither); a cluster instance's network address needs them. */
    tls_cert_file: setting(kinds.text, ''),
    tls_key_file: setting(kinds.text, ''),
  }),
  remote: section({
    socket: setting(kinds.text, ''),
    address: setting(kinds.address, ''),
    auth_token_file: setting(kinds.text, '/var/run/tagger/auth_token'),
  }),
  store: section({
    deletion_grace: setting(kinds.duration('0ms', '24h'), '5m'),
    prune_interval: setting(kinds.duration('100ms', '1h'), '10s'),
    tombstone_ttl: setting(kinds.duration('1s', '24h'), '10m'),
  }),
  fetch: section({
    timeout: setting(kinds.duration('100ms', '1m'), '2s'),
    not_found_ttl: setting(kinds.duration('1s', '1h'), '60s'),
    error_ttl: setting(kinds.duration('100ms', '1h'), '5s'),
  }),
  docker: section({
    enabled: setting(kinds.toggle, 'auto'),
    host: setting(kinds.text, 'unix:///var/run/docker.sock', { standardEnv: 'DOCKER_HOST' }),
    tls_verify: setting(kinds.bool, false, { standardEnv: 'DOCKER_TLS_VERIFY', standardEnvIsFlag: true }),
    tls: setting(kinds.bool, false, { standardEnv: 'DOCKER_TLS', standardEnvIsFlag: true }),
    /** Empty: `~/.docker`, resolved by the Docker factory (the home folder is the running user's). */
    cert_path: setting(kinds.text, '', { standardEnv: 'DOCKER_CERT_PATH' }),
    labels_as_tags: setting(kinds.rules, {}),
    env_as_tags: setting(kinds.rules, {}),
    /** Leave pod sandbox ("pause") containers untagged (the Agent's `exclude_pause_container`). */
    exclude_pause_container: setting(kinds.bool, true),
  }),
  containerd: section({
    enabled: setting(kinds.toggle, 'auto'),
    socket: setting(kinds.text, '/run/containerd/containerd.sock'),
    namespaces: setting(kinds.list, []),
    exclude_namespaces: setting(kinds.list, ['moby']),
    labels_as_tags: setting(kinds.rules, {}),
    env_as_tags: setting(kinds.rules, {}),
  }),
  kubelet: section({
    enabled: setting(kinds.toggle, 'auto'),
    url: setting(kinds.text, ''),
    token_file: setting(kinds.text, `${SERVICE_ACCOUNT}/token`),
    ca_file: setting(kinds.text, `${SERVICE_ACCOUNT}/ca.crt`),
    tls_verify: setting(kinds.bool, true),
    poll_interval: setting(kinds.duration('500ms', '10m'), '5s'),
    pod_labels_as_tags: setting(kinds.rules, {}),
    pod_annotations_as_tags: setting(kinds.rules, {}),
    /** `persistentvolumeclaim` on StatefulSet pods (the Agent's `kubernetes_persistent_volume_claims_as_tags`). */
    persistent_volume_claims_as_tags: setting(kinds.bool, true),
    /** This node's name: the cluster tags it follows are its pods'. */
    node_name: setting(kinds.text, '', { standardEnv: 'NODE_NAME' }),
  }),
  cluster_agent: section({
    /** A cluster instance to follow, `https://host:port`; empty: none. */
    url: setting(kinds.text, ''),
    auth_token_file: setting(kinds.text, '/etc/tagger/cluster-token/token'),
    ca_file: setting(kinds.text, ''),
    tls_verify: setting(kinds.bool, true),
  }),
  kubernetes: section({
    /** Off by default: one cluster instance should watch the API server, not every node (docs/collectors/kubernetes.md). */
    enabled: setting(kinds.toggle, 'false'),
    /** Empty: in-cluster (KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT). */
    api_url: setting(kinds.text, ''),
    token_file: setting(kinds.text, `${SERVICE_ACCOUNT}/token`),
    ca_file: setting(kinds.text, `${SERVICE_ACCOUNT}/ca.crt`),
    tls_verify: setting(kinds.bool, true),
    kube_service_ignore_readiness: setting(kinds.bool, false),
    namespace_labels_as_tags: setting(kinds.rules, {}),
    namespace_annotations_as_tags: setting(kinds.rules, {}),
  }),
  ecs: section({
    enabled: setting(kinds.toggle, 'auto'),
    agent_url: setting(kinds.text, 'http://localhost:51678'),
    metadata_uri_v4: setting(kinds.text, '', { standardEnv: 'ECS_CONTAINER_METADATA_URI_V4' }),
    metadata_uri: setting(kinds.text, '', { standardEnv: 'ECS_CONTAINER_METADATA_URI' }),
    metadata_v2: setting(kinds.toggle, 'auto'),
    task_tags: setting(kinds.bool, false),
    /**
     * On an EC2 host, read each other task's own metadata v4 endpoint (found in its containers'
     * env through Docker) for what introspection lacks (`ecs_service`, `cluster_arn`...): the
     * Agent's `ecs_task_collection_enabled`.
     */
    task_collection: setting(kinds.bool, true),
    /** `:` -> `_` in resource tag keys (the Agent's `ecs_resource_tags_replace_colon`). */
    resource_tags_replace_colon: setting(kinds.bool, false),
  }),
});

/** The resolved configuration: durations in milliseconds, toggles `auto` / `true` / `false`. */
export type TaggerConfig = v.InferOutput<typeof CONFIG_SCHEMA>;

/** A key of the schema, flattened (`store.deletion_grace`), with its metadata. */
export type KeySpec = SettingMetadata & { readonly key: string };

/** Every key in schema order, walked once from CONFIG_SCHEMA. */
export const KEYS: ReadonlyMap<string, KeySpec> = new Map(walk(CONFIG_SCHEMA.entries, '').map((spec) => [spec.key, spec]));

/** Key names that are sections (`docker`), for telling an empty section from an unknown key. */
export const SECTIONS: ReadonlySet<string> = new Set([...KEYS.keys()].filter((k) => k.includes('.')).map((k) => k.slice(0, k.lastIndexOf('.'))));

function walk(entries: v.ObjectEntries, prefix: string): KeySpec[] {
  const out: KeySpec[] = [];
  for (const [name, schema] of Object.entries(entries)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (schema.type === 'object') out.push(...walk((schema as v.ObjectSchema<v.ObjectEntries, undefined>).entries, key));
    else out.push({ key, ...(v.getMetadata(schema as v.SchemaWithPipe<[v.GenericSchema, v.MetadataAction<unknown, SettingMetadata>]>) as SettingMetadata) });
  }
  return out;
}
