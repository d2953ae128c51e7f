/**
 * Tag names, with the Datadog Agent's spelling, grouped by the cardinality they are emitted at.
 * Collectors name tags only through these constants, so a name is spelled in one place.
 */

/** Unified service tagging: the entity's standard tags, emitted at low cardinality too. */
export const Standard = {
  env: 'env',
  service: 'service',
  version: 'version',
} as const;

export const STANDARD_TAG_NAMES: ReadonlySet<string> = new Set(Object.values(Standard));

/** Container runtime tags (Docker, containerd, Podman). */
export const Runtime = {
  dockerImage: 'docker_image', // low
  imageName: 'image_name', // low
  shortImage: 'short_image', // low
  imageTag: 'image_tag', // low
  imageId: 'image_id', // low
  containerName: 'container_name', // high
  containerId: 'container_id', // high
  displayContainerName: 'display_container_name', // high
  runtime: 'runtime', // low
} as const;

/** Source code integration: from `DD_GIT_*` env or the image's OCI labels. */
export const Git = { commitSha: 'git.commit.sha', repositoryUrl: 'git.repository_url' } as const; // low

/** Orchestration layers that Docker labels and env reveal. */
export const Compose = { project: 'compose_project', service: 'compose_service' } as const; // low
export const Swarm = { service: 'swarm_service', namespace: 'swarm_namespace' } as const; // low
export const Rancher = { stack: 'rancher_stack', service: 'rancher_service', container: 'rancher_container' } as const; // container: high
export const Nomad = {
  task: 'nomad_task',
  job: 'nomad_job',
  group: 'nomad_group',
  namespace: 'nomad_namespace',
  dc: 'nomad_dc',
} as const; // low
export const Mesos = {
  marathonApp: 'marathon_app',
  chronosJob: 'chronos_job',
  chronosJobOwner: 'chronos_job_owner',
  mesosTask: 'mesos_task', // orchestrator
} as const;

/** Kubernetes tags (kubelet collector; containerd gives the first three too). */
export const Kube = {
  namespace: 'kube_namespace', // low
  podName: 'pod_name', // orchestrator
  podPhase: 'pod_phase', // low
  containerName: 'kube_container_name', // low
  ownerRefKind: 'kube_ownerref_kind', // low
  ownerRefName: 'kube_ownerref_name', // orchestrator
  deployment: 'kube_deployment', // low
  replicaSet: 'kube_replica_set', // low
  statefulSet: 'kube_stateful_set', // low
  daemonSet: 'kube_daemon_set', // low
  job: 'kube_job', // low, or orchestrator under a CronJob
  cronJob: 'kube_cronjob', // low
  replicationController: 'kube_replication_controller', // low
  oshiftDeploymentConfig: 'oshift_deployment_config', // low
  oshiftDeployment: 'oshift_deployment', // orchestrator
  persistentVolumeClaim: 'persistentvolumeclaim', // low
  qos: 'kube_qos', // low
  priorityClass: 'kube_priority_class', // low
  runtimeClass: 'kube_runtime_class', // low
  argoRollout: 'kube_argo_rollout', // low
  gpuVendor: 'gpu_vendor', // low
  cpuRestartPolicy: 'cpu_restart_policy', // low
  memoryRestartPolicy: 'memory_restart_policy', // low
  remoteConfigId: 'dd_remote_config_id', // low
  remoteConfigRevision: 'dd_remote_config_rev', // low
  kueueLocalQueue: 'kueue_local_queue', // low
  kueueClusterQueue: 'kueue_cluster_queue', // low
  appName: 'kube_app_name',
  appInstance: 'kube_app_instance',
  appVersion: 'kube_app_version',
  appComponent: 'kube_app_component',
  appPartOf: 'kube_app_part_of',
  appManagedBy: 'kube_app_managed_by',
} as const;

/** Amazon ECS tags. */
export const Ecs = {
  taskFamily: 'task_family', // low
  taskName: 'task_name', // low
  taskVersion: 'task_version', // low
  taskArn: 'task_arn', // orchestrator
  clusterName: 'ecs_cluster_name', // low
  genericClusterName: 'cluster_name', // low
  containerName: 'ecs_container_name', // low
  region: 'region', // low
  availabilityZone: 'availability_zone', // low, Fargate only (the Agent's deprecated name)
  availabilityZoneDashed: 'availability-zone', // low, Fargate only
  clusterArn: 'cluster_arn', // low
  awsAccount: 'aws_account', // low
  launchType: 'ecs_launch_type', // low
  service: 'ecs_service', // low
} as const;

/** Tags only the Kubernetes API server knows (the cluster collector). */
export const Cluster = {
  kubeService: 'kube_service', // low, on pods
  kubeClusterName: 'kube_cluster_name', // low, on the global entity
  orchClusterId: 'orch_cluster_id', // low, on the global entity
} as const;

/** `name:value`, the one way a tag string is built. */
export function formatTag(name: string, value: string): string {
  return `${name}:${value}`;
}

/** The name part of `name:value` (the whole string when there is no colon). */
export function tagName(tag: string): string {
  const colon = tag.indexOf(':');
  return colon < 0 ? tag : tag.slice(0, colon);
}
