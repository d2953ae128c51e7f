import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, T1 } from './collectors/docker/test-support/harness.js';
import { FakeDocker } from './collectors/docker/test-support/fake-docker.js';
import { staticTagInfo } from './collectors/static/collector.js';
import { collectorsFromConfig } from './collectors/registry.js';
import { ManualClock } from './clock.js';
import { silentLogger } from './logger.js';
import { AGENT_MAPPINGS, agentEnvNameOf } from './config/datadog-agent.js';
import { KEYS } from './config/schema.js';
import { loadConfig, resolveConfig } from './config.js';
import { createTagger, libraryConfig } from './create-tagger.js';
import { GLOBAL_ENTITY_ID } from './entity.js';
import { isTaggerError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tagger-datadog-'));
function agentFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A datadog.yaml as users write it, keys from the Agent's config_template.yaml. */
const DATADOG_YAML = agentFile(
  'datadog.yaml',
  `## Datadog Agent configuration
api_key: 0123456789abcdef0123456789abcdef
site: datadoghq.com
hostname: node-a
tags:
  - team:infra
  - env:staging
  - bare-tag
extra_tags: [region:eu-west-1]
cluster_name: prod-eu
logs_enabled: true
exclude_pause_container: false
container_labels_as_tags:
  com.example.team: team
  com.example.owner: owner
docker_labels_as_tags:
  COM.EXAMPLE.TEAM: +docker_team
docker_env_as_tags:
  DD_ENV: dd_env
container_env_as_tags:
  GIT_SHA: +git_sha
containerd_namespace: [k8s.io]
containerd_exclude_namespaces: [moby, buildkit]
kubernetes_pod_labels_as_tags:
  app: kube_app
  "*": pod_label_%%label%%
kubernetes_pod_annotations_as_tags:
  example.com/owner: owner
kubernetes_namespace_labels_as_tags:
  team: ns_team
kubernetes_namespace_annotations_as_tags:
  example.com/cost-center: cost_center
kubernetes_persistent_volume_claims_as_tags: false
kubernetes_kubelet_host: 10.0.0.7
kubernetes_https_kubelet_port: 10250
kubelet_tls_verify: false
kubelet_auth_token_path: /var/run/token
kubelet_client_ca: /etc/kubelet/ca.crt
ecs_agent_url: http://169.254.170.3:51678
ecs_collect_resource_tags_ec2: true
ecs_resource_tags_replace_colon: true
apm_config:
  enabled: true
`,
);

function configError(build: () => unknown): Error {
  try {
    build();
  } catch (error) {
    expect(isTaggerError(error, 'TAGGER_INVALID_CONFIG')).toBe(true);
    return error as Error;
  }
  throw new Error('expected a ConfigError');
}

describe('datadog.config_file and the DD_* variables', () => {
  it('maps every tagging key of a real-looking datadog.yaml, ignoring the rest', () => {
    const c = resolveConfig({ datadog: { config_file: DATADOG_YAML } });
    expect(c.tags).toEqual(['team:infra', 'env:staging', 'bare-tag', 'region:eu-west-1']);
    expect(c.cluster_name).toBe('prod-eu');
    // docker_* wins over container_* for one label (the Agent's mergeMaps), keys lower-cased.
    const labels = { 'com.example.team': '+docker_team', 'com.example.owner': 'owner' };
    expect(c.docker.labels_as_tags).toEqual(labels);
    expect(c.containerd.labels_as_tags).toEqual(labels);
    expect(c.docker.env_as_tags).toEqual({ dd_env: 'dd_env', git_sha: '+git_sha' });
    expect(c.containerd.env_as_tags).toEqual(c.docker.env_as_tags);
    expect(c.docker.exclude_pause_container).toBe(false);
    expect(c.containerd.namespaces).toEqual(['k8s.io']);
    expect(c.containerd.exclude_namespaces).toEqual(['moby', 'buildkit']);
    expect(c.kubelet.pod_labels_as_tags).toEqual({ app: 'kube_app', '*': 'pod_label_%%label%%' });
    expect(c.kubelet.pod_annotations_as_tags).toEqual({ 'example.com/owner': 'owner' });
    expect(c.kubernetes.namespace_labels_as_tags).toEqual({ team: 'ns_team' });
    expect(c.kubernetes.namespace_annotations_as_tags).toEqual({ 'example.com/cost-center': 'cost_center' });
    expect(c.kubelet.persistent_volume_claims_as_tags).toBe(false);
    expect(c.kubelet.url).toBe('https://10.0.0.7:10250');
    expect(c.kubelet.tls_verify).toBe(false);
    expect(c.kubelet.token_file).toBe('/var/run/token');
    expect(c.kubelet.ca_file).toBe('/etc/kubelet/ca.crt');
    expect(c.ecs.agent_url).toBe('http://169.254.170.3:51678');
    expect(c.ecs.task_tags).toBe(true);
    expect(c.ecs.resource_tags_replace_colon).toBe(true);
  });

  it('maps only keys we have', () => {
    for (const mapping of AGENT_MAPPINGS) for (const key of mapping.ours) expect(KEYS.has(key)).toBe(true);
  });

  it('keeps ours over the Agent: our file, TAGGER_* and the object in code each win', () => {
    const ours = agentFile('ours.yaml', `datadog:\n  config_file: ${DATADOG_YAML}\ncluster_name: from-ours\ndocker:\n  labels_as_tags: {}\n`);
    const c = loadConfig({ file: ours, env: { TAGGER_KUBELET_URL: 'https://127.0.0.1:10250', DD_TAGS: 'from:dd' }, overrides: { ecs: { task_tags: false } } });
    expect(c.cluster_name).toBe('from-ours');
    expect(c.docker.labels_as_tags).toEqual({}); // set (empty) in ours: the Agent's does not apply
    expect(c.containerd.labels_as_tags).toEqual({ 'com.example.team': '+docker_team', 'com.example.owner': 'owner' });
    expect(c.kubelet.url).toBe('https://127.0.0.1:10250');
    expect(c.ecs.task_tags).toBe(false);
    // DD_TAGS replaces the datadog.yaml's tags, as in the Agent; its extra_tags still add.
    expect(c.tags).toEqual(['from:dd', 'region:eu-west-1']);
    expect(resolveConfig({ tags: ['ours:1'] }, { DD_TAGS: 'from:dd' }).tags).toEqual(['ours:1']);
    expect(resolveConfig({}, { TAGGER_CLUSTER_NAME: 'tagger', DD_CLUSTER_NAME: 'dd' }).cluster_name).toBe('tagger');
  });

  it('honours the DD_* variables without a datadog.yaml, above the defaults', () => {
    const c = resolveConfig(
      {},
      {
        DD_DOCKER_LABELS_AS_TAGS: '{"com.example.team":"team"}',
        DD_CONTAINER_ENV_AS_TAGS: '{"GIT_SHA":"+git_sha"}',
        DD_KUBERNETES_POD_LABELS_AS_TAGS: '{"app":"kube_app"}',
        DD_KUBERNETES_NAMESPACE_LABELS_AS_TAGS: '{"team":"ns_team"}',
        DD_CLUSTER_NAME: 'dd-cluster',
        DD_TAGS: 'team:infra env:dev',
        DD_EXTRA_TAGS: 'region:us-east-1,zone:a',
        DD_EXCLUDE_PAUSE_CONTAINER: 'false',
        DD_KUBELET_TLS_VERIFY: 'false',
        DD_KUBERNETES_KUBELET_HOST: 'fd00::7',
        DD_KUBERNETES_HTTPS_KUBELET_PORT: '0',
        DD_KUBERNETES_HTTP_KUBELET_PORT: '10255',
      },
    );
    expect(c.docker.labels_as_tags).toEqual({ 'com.example.team': 'team' });
    expect(c.containerd.env_as_tags).toEqual({ git_sha: '+git_sha' });
    expect(c.kubelet.pod_labels_as_tags).toEqual({ app: 'kube_app' });
    expect(c.kubernetes.namespace_labels_as_tags).toEqual({ team: 'ns_team' });
    expect(c.cluster_name).toBe('dd-cluster');
    expect(c.tags).toEqual(['team:infra', 'env:dev', 'region:us-east-1', 'zone:a']);
    expect(c.docker.exclude_pause_container).toBe(false);
    expect(c.kubelet.tls_verify).toBe(false);
    expect(c.kubelet.url).toBe('http://[fd00::7]:10255');
    expect(resolveConfig({}, {}).tags).toEqual([]);
    expect(agentEnvNameOf('kubernetes_pod_labels_as_tags')).toBe('DD_KUBERNETES_POD_LABELS_AS_TAGS');
  });

  it('names the variable whose JSON is bad, and the Agent key whose value is wrong', () => {
    expect(configError(() => resolveConfig({}, { DD_DOCKER_LABELS_AS_TAGS: '{team: x' })).message).toMatch(/^invalid config DD_DOCKER_LABELS_AS_TAGS: must be JSON/);
    expect(configError(() => resolveConfig({}, { DD_KUBERNETES_POD_LABELS_AS_TAGS: '{"app":""}' })).message).toContain('DD_KUBERNETES_POD_LABELS_AS_TAGS.app');
    expect(configError(() => resolveConfig({}, { DD_EXCLUDE_PAUSE_CONTAINER: 'maybe' })).message).toBe('invalid config DD_EXCLUDE_PAUSE_CONTAINER: must be true or false');
    const wrong = agentFile('wrong.yaml', 'docker_labels_as_tags: [team]\n');
    expect(configError(() => resolveConfig({ datadog: { config_file: wrong } })).message).toContain(`datadog.config_file (docker_labels_as_tags in ${wrong})`);
    const wrongBool = agentFile('wrong-bool.yaml', 'kubelet_tls_verify: sometimes\n');
    expect(configError(() => resolveConfig({ datadog: { config_file: wrongBool } })).message).toContain('kubelet_tls_verify in');
  });

  it('refuses a missing, malformed or non-mapping datadog.yaml, naming datadog.config_file', () => {
    expect(configError(() => resolveConfig({ datadog: { config_file: join(dir, 'absent.yaml') } })).message).toMatch(/^invalid config datadog\.config_file: cannot read .*absent\.yaml/);
    const malformed = agentFile('malformed.yaml', 'tags: [a\ncluster_name: x\n');
    expect(configError(() => resolveConfig({}, { TAGGER_DATADOG_CONFIG_FILE: malformed })).message).toMatch(/^invalid config datadog\.config_file: .*is not valid YAML/);
    const list = agentFile('list.yaml', '- a\n- b\n');
    expect(configError(() => resolveConfig({ datadog: { config_file: list } })).message).toContain('must be a mapping of keys');
    // An empty file is an Agent with nothing configured.
    expect(resolveConfig({ datadog: { config_file: agentFile('empty.yaml', '') } }).tags).toEqual([]);
  });

  it('reads the datadog.yaml named in the library config object too', () => {
    const config = libraryConfig({ env: {}, config: { datadog: { config_file: DATADOG_YAML } } });
    expect(config.cluster_name).toBe('prod-eu');
    expect(config.datadog.config_file).toBe(DATADOG_YAML);
  });

  it('puts the key:value entries of tags on the global entity, at low cardinality', () => {
    const info = staticTagInfo(['team:infra', 'env:staging', 'bare-tag', 'team:platform', 'url:http://x:1']);
    expect(info.entity).toBe(GLOBAL_ENTITY_ID);
    expect([...info.low].sort()).toEqual(['env:staging', 'team:infra', 'team:platform', 'url:http://x:1']);
    expect(info.orchestrator).toEqual([]);
    expect(info.high).toEqual([]);
  });

  it('runs the static collector only when tags lists a tag, in a cluster instance too', () => {
    const names = (values: Record<string, unknown>): string[] => collectorsFromConfig({ config: resolveConfig(values), clock: new ManualClock(0), logger: silentLogger, env: {} }).map((c) => c.name);
    const off = { docker: { enabled: false }, containerd: { enabled: false }, kubelet: { enabled: false }, ecs: { enabled: false } };
    expect(names(off)).toEqual([]);
    expect(names({ ...off, tags: ['team:infra'] })).toEqual(['static']);
    expect(names({ mode: 'cluster', kubernetes: { api_url: 'https://127.0.0.1:6443' }, tags: ['team:infra'] })).toContain('static');
  });

  it('end to end: the datadog.yaml tags a Docker container and the global entity', async () => {
    const fake = await new FakeDocker(json('captures/dockerd-20.10/e2e_inspect.json')).start();
    fake.put(json('captures/dockerd-20.10/container_inspect.json')); // labels {team: core}, env DD_ENV=prod
    const file = agentFile('e2e.yaml', 'tags: [team:infra, region:eu]\ndocker_labels_as_tags:\n  Team: +team\ndocker_env_as_tags:\n  DD_ENV: dd_env\n');
    const tagger = createTagger({
      env: { TAGGER_DATADOG_CONFIG_FILE: file, DOCKER_HOST: fake.host },
      config: { docker: { enabled: 'true' }, containerd: { enabled: false }, kubelet: { enabled: false }, ecs: { enabled: false } },
    });
    try {
      await tagger.start();
      await tagger.ready();
      const low = tagger.tagSync(`container_id://${T1}`, 'low');
      const high = tagger.tagSync(`container_id://${T1}`, 'high');
      expect(low).toContain('dd_env:prod');
      expect(low).not.toContain('team:core');
      expect(high).toContain('team:core');
      expect(tagger.tagSync(GLOBAL_ENTITY_ID, 'low')).toEqual(['region:eu', 'team:infra']);
    } finally {
      await tagger.stop();
      await fake.close();
    }
  });
});
