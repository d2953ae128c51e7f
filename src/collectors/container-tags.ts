/**
 * The tags every container runtime derives the same way from a container's labels and env,
 * whichever collector read them (Docker inspect, containerd's OCI spec, ECS task metadata): the
 * runtime-independent part of the Agent's container handler (`labelsToTags` and the env maps of
 * workloadmeta_extract.go). Pure.
 */
import { applyRules, type CompiledRules } from '../rules.js';
import { Git, Mesos, Nomad, Rancher, Standard, Swarm } from '../tags.js';
import type { TagList } from '../taglist.js';

/** The label holding extra tags as a JSON list of `name:value` strings. */
export const AD_TAGS_LABEL = 'com.datadoghq.ad.tags';

const STANDARD_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['com.datadoghq.tags.env', Standard.env],
  ['com.datadoghq.tags.service', Standard.service],
  ['com.datadoghq.tags.version', Standard.version],
];

const LOW_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['com.docker.swarm.service.name', Swarm.service],
  ['com.docker.stack.namespace', Swarm.namespace],
  ['io.rancher.stack.name', Rancher.stack],
  ['io.rancher.stack_service.name', Rancher.service],
  // Images built with OCI annotations carry these, so most modern images get source links.
  ['org.opencontainers.image.revision', Git.commitSha],
  ['org.opencontainers.image.source', Git.repositoryUrl],
];

const HIGH_LABELS: ReadonlyArray<readonly [string, string]> = [['io.rancher.container.name', Rancher.container]];

type EnvKind = 'standard' | 'low' | 'orchestrator';

/** Env variables that carry a tag. Only these (and the user's env rules) ever become tags. */
const ENV_TAGS: ReadonlyMap<string, readonly [string, EnvKind]> = new Map([
  ['DD_ENV', [Standard.env, 'standard']],
  ['DD_SERVICE', [Standard.service, 'standard']],
  ['DD_VERSION', [Standard.version, 'standard']],
  // The OpenTelemetry SDK's own service name.
  ['OTEL_SERVICE_NAME', [Standard.service, 'standard']],
  ['DD_GIT_COMMIT_SHA', [Git.commitSha, 'low']],
  ['DD_GIT_REPOSITORY_URL', [Git.repositoryUrl, 'low']],
  ['MARATHON_APP_ID', [Mesos.marathonApp, 'low']],
  ['CHRONOS_JOB_NAME', [Mesos.chronosJob, 'low']],
  ['CHRONOS_JOB_OWNER', [Mesos.chronosJobOwner, 'low']],
  ['NOMAD_TASK_NAME', [Nomad.task, 'low']],
  ['NOMAD_JOB_NAME', [Nomad.job, 'low']],
  ['NOMAD_GROUP_NAME', [Nomad.group, 'low']],
  ['NOMAD_NAMESPACE', [Nomad.namespace, 'low']],
  ['NOMAD_DC', [Nomad.dc, 'low']],
  ['MESOS_TASK_ID', [Mesos.mesosTask, 'orchestrator']],
] as const);

/** `OTEL_RESOURCE_ATTRIBUTES` keys that name a standard tag (OpenTelemetry semantic conventions). */
const OTEL_RESOURCE_ATTRIBUTES: ReadonlyMap<string, string> = new Map([
  ['service.name', Standard.service],
  ['service.version', Standard.version],
  ['deployment.environment', Standard.env],
  ['deployment.environment.name', Standard.env],
]);

/**
 * Tags from a container's labels: unified service tags, the orchestrator and source-code labels,
 * the user's label rules, and `com.datadoghq.ad.tags`.
 */
export function addContainerLabelTags(list: TagList, labels: Readonly<Record<string, string>>, rules?: CompiledRules): void {
  for (const [label, tag] of STANDARD_LABELS) list.addStandard(tag, labels[label]);
  for (const [label, tag] of LOW_LABELS) list.addLow(tag, labels[label]);
  for (const [label, tag] of HIGH_LABELS) list.addHigh(tag, labels[label]);
  if (rules) applyRules(rules, Object.entries(labels), list);
  addAdTagsLabel(list, labels[AD_TAGS_LABEL]);
}

/**
 * Tags from a container's env: unified service tags (Datadog's and OpenTelemetry's), the
 * source-code and orchestrator variables, and the user's env rules.
 */
export function addContainerEnvTags(list: TagList, env: ReadonlyArray<readonly [string, string]>, rules?: CompiledRules): void {
  for (const [key, value] of env) {
    if (key === 'OTEL_RESOURCE_ATTRIBUTES') addOtelResourceAttributes(list, value);
    const known = ENV_TAGS.get(key);
    if (known === undefined) continue;
    const [tag, kind] = known;
    if (kind === 'standard') list.addStandard(tag, value);
    else list.add(kind, tag, value);
  }
  if (rules) applyRules(rules, env, list);
}

/** `service.name=web,deployment.environment=prod`: the standard tags among the pairs. */
function addOtelResourceAttributes(list: TagList, value: string): void {
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const tag = OTEL_RESOURCE_ATTRIBUTES.get(pair.slice(0, eq).trim());
    if (tag !== undefined) list.addStandard(tag, pair.slice(eq + 1).trim());
  }
}

/**
 * `["team:core","owner:a"]`: every entry at high cardinality, as the Agent adds them; an entry that
 * is not exactly `name:value` (no colon, or more than one) is skipped. Malformed JSON adds nothing.
 */
function addAdTagsLabel(list: TagList, raw: string | undefined): void {
  if (!raw) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return;
  }
  if (!Array.isArray(parsed)) return;
  for (const item of parsed) {
    if (typeof item !== 'string') continue;
    const parts = item.split(':');
    if (parts.length === 2) list.addHigh(parts[0] as string, parts[1]);
  }
}
