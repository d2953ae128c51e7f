import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../rules.js';
import { decodeInspect } from './decode.js';
import { extractContainer, isPauseImage, type ExtractOptions } from './extract.js';
import type { ContainerInspect } from './types.js';

const TESTDATA = new URL('./testdata/', import.meta.url);
function inspectFixture(name: string): ContainerInspect {
  return decodeInspect(JSON.parse(readFileSync(new URL(name, TESTDATA), 'utf8')));
}
const BASE: ExtractOptions = { source: 'docker' };

interface Expected {
  entity: string;
  low: string[];
  orchestrator?: string[];
  high: string[];
  standard?: string[];
}

// Expectations written by hand from each payload's Id, Name, Config.Image, Config.Labels, Config.Env.
const FIXTURES: Array<[string, Expected]> = [
  [
    'captures/dockerd-20.10/container_inspect.json',
    {
      entity: 'container_id://71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64',
      low: ['docker_image:local/busybox:latest', 'env:prod', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:latest', 'short_image:busybox'],
      high: ['container_id:71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64', 'container_name:t1'],
      standard: ['env:prod'],
    },
  ],
  [
    'captures/dockerd-20.10/e2e_inspect.json',
    {
      entity: 'container_id://3709594bc00389ae5638b0851ea7e297c3fd6d9cc73a10518fceb5794510061f',
      low: ['docker_image:local/busybox:latest', 'env:prod', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:latest', 'short_image:busybox'],
      high: ['container_id:3709594bc00389ae5638b0851ea7e297c3fd6d9cc73a10518fceb5794510061f', 'container_name:e2e'],
      standard: ['env:prod'],
    },
  ],
  [
    'captures/dockerd-20.10/e2e_inspect_stopped.json',
    {
      entity: 'container_id://3709594bc00389ae5638b0851ea7e297c3fd6d9cc73a10518fceb5794510061f',
      low: ['docker_image:local/busybox:latest', 'env:prod', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:latest', 'short_image:busybox'],
      high: ['container_id:3709594bc00389ae5638b0851ea7e297c3fd6d9cc73a10518fceb5794510061f', 'container_name:e2e'],
      standard: ['env:prod'],
    },
  ],
  [
    'captures/podman-4.3/container_inspect.json',
    {
      entity: 'container_id://3a781b532670ebc371643bc2f7c4c7cad1681550fa8562176a37e849668f9990',
      low: ['docker_image:localhost/busybox:latest', 'env:prod', 'image_id:sha256:ba83b8e632f743504a0db91afa2ee1440de4f2e58f2fc298126f9888e73add16', 'image_name:localhost/busybox', 'image_tag:latest', 'short_image:busybox'],
      high: ['container_id:3a781b532670ebc371643bc2f7c4c7cad1681550fa8562176a37e849668f9990', 'container_name:t1'],
      standard: ['env:prod'],
    },
  ],
  [
    'captures/podman-4.3/e2e_inspect.json',
    {
      entity: 'container_id://c1c31206b36e5f51d91ef15664f63de5b402ebbce4b1b969b4dc9a33c28ce752',
      low: ['docker_image:localhost/busybox:latest', 'env:prod', 'image_id:sha256:42528423fc4e41f96b3189fc324fc486528ad8fb6905e2d15ab3a71a54f5686d', 'image_name:localhost/busybox', 'image_tag:latest', 'short_image:busybox'],
      high: ['container_id:c1c31206b36e5f51d91ef15664f63de5b402ebbce4b1b969b4dc9a33c28ce752', 'container_name:e2e'],
      standard: ['env:prod'],
    },
  ],
  [
    'docker/container_inspect_swagger_v1.47.json',
    {
      entity: 'container_id://ba033ac4401106a3b513bc9d639eee123ad78ca3616b921167cd74b20e25ed39',
      low: ['docker_image:ubuntu', 'image_id:04c5d3b7b0656168630d3ba35d8889bd0e9caafcaeb3004d2bfbc47e7c5d35d2', 'image_name:ubuntu', 'short_image:ubuntu'],
      high: ['container_id:ba033ac4401106a3b513bc9d639eee123ad78ca3616b921167cd74b20e25ed39', 'container_name:boring_euclid'],
    },
  ],
  [
    'docker/inspect_compose_gluetun_watchtower.json',
    {
      entity: 'container_id://25e75393800b5c450a6841212a3b92ed28fa35414a586dec9f2c8a520d4910c2',
      low: [
        'compose_project:wt-contnet',
        'compose_service:producer',
        'docker_image:qmcgaw/gluetun',
        // From the image's OCI labels, which Docker merges into the container's.
        'git.commit.sha:eecfb3952f202c0de3867d88e96d80c6b0f48359',
        'git.repository_url:https://github.com/qdm12/gluetun',
        'image_id:sha256:c22b543d33bfdcb9992cbef23961677133cdf09da71d782468ae2517138bad51',
        'image_name:qmcgaw/gluetun',
        'short_image:gluetun',
      ],
      high: ['container_id:25e75393800b5c450a6841212a3b92ed28fa35414a586dec9f2c8a520d4910c2', 'container_name:wt-contnet-producer-1'],
    },
  ],
  [
    'docker/inspect_exited_watchtower.json',
    {
      entity: 'container_id://ae8964ba86c7cd7522cf84e09781343d88e0e3543281c747d88b27e246578b65',
      low: ['docker_image:containrrr/watchtower:latest', 'image_id:sha256:4dbc5f9c07028a985e14d1393e849ea07f68804c4293050d5a641b138db72daa', 'image_name:containrrr/watchtower', 'image_tag:latest', 'short_image:watchtower'],
      high: ['container_id:ae8964ba86c7cd7522cf84e09781343d88e0e3543281c747d88b27e246578b65', 'container_name:watchtower-stopped'],
    },
  ],
  [
    'docker/inspect_running_portainer_watchtower.json',
    {
      entity: 'container_id://b978af0b858aa8855cce46b628817d4ed58e58f2c4f66c9b9c5449134ed4c008',
      low: ['docker_image:portainer/portainer:latest', 'image_id:sha256:19d07168491a3f9e2798a9bed96544e34d57ddc4757a4ac5bb199dea896c87fd', 'image_name:portainer/portainer', 'image_tag:latest', 'short_image:portainer'],
      high: ['container_id:b978af0b858aa8855cce46b628817d4ed58e58f2c4f66c9b9c5449134ed4c008', 'container_name:portainer'],
    },
  ],
];

describe('extractContainer on fixtures', () => {
  for (const [file, want] of FIXTURES) {
    it(file, () => {
      const info = extractContainer(inspectFixture(file), BASE);
      expect(info).toEqual({ source: 'docker', entity: want.entity, low: want.low, orchestrator: want.orchestrator ?? [], high: want.high, standard: want.standard ?? [] });
    });
  }

  it('keeps the 110 env variables of the gluetun container out of the tags unless a rule names them', () => {
    const inspect = inspectFixture('docker/inspect_compose_gluetun_watchtower.json');
    const plain = extractContainer(inspect, BASE);
    expect([...plain.low, ...plain.orchestrator, ...plain.high].some((t) => t.startsWith('vpn') || t.includes('nordvpn'))).toBe(false);
    const ruled = extractContainer(inspect, {
      ...BASE,
      envRules: compileRules({ vpn_service_provider: 'vpn_provider', 'VPN_T*': '+%%env%%' }, 'env', 'docker.env_as_tags'),
      labelRules: compileRules({ 'org.opencontainers.image.title': 'image_title', 'COM.DOCKER.COMPOSE.VERSION': 'compose_version' }, 'label', 'docker.labels_as_tags'),
    });
    expect(ruled.low).toContain('vpn_provider:nordvpn');
    expect(ruled.low).toContain('image_title:gluetun');
    expect(ruled.low).toContain('compose_version:2.19.1');
    expect(ruled.high).toContain('VPN_TYPE:openvpn');
  });

  it('applies labels_as_tags to the captured label (team) case-insensitively', () => {
    const info = extractContainer(inspectFixture('captures/dockerd-20.10/e2e_inspect.json'), {
      ...BASE,
      labelRules: compileRules({ TEAM: 'team', service: 'service' }, 'label', 'docker.labels_as_tags'),
    });
    expect(info.low).toEqual(['docker_image:local/busybox:latest', 'env:prod', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:latest', 'service:web', 'short_image:busybox', 'team:core']);
    expect(info.standard).toEqual(['env:prod', 'service:web']);
  });
});

describe('extractContainer on every label and env the issue names', () => {
  const base = inspectFixture('captures/dockerd-20.10/container_inspect.json');
  function withConfig(labels: Record<string, string>, env: string[], image = base.Config.Image): ContainerInspect {
    return { ...base, Config: { Image: image, Labels: labels, Env: env } };
  }

  it('unified service tags from env and labels; disagreeing values are both kept', () => {
    const info = extractContainer(
      withConfig({ 'com.datadoghq.tags.env': 'staging', 'com.datadoghq.tags.service': 'api' }, ['DD_ENV=prod', 'DD_SERVICE=api', 'DD_VERSION=1.2.3']),
      BASE,
    );
    expect(info.standard).toEqual(['env:prod', 'env:staging', 'service:api', 'version:1.2.3']);
    expect(info.low).toEqual(expect.arrayContaining(['env:prod', 'env:staging', 'service:api', 'version:1.2.3']));
  });

  it('the com.datadoghq.ad.env|service|version labels are not read (the Agent has no such labels)', () => {
    const info = extractContainer(withConfig({ 'com.datadoghq.ad.service': 'api', 'com.datadoghq.ad.env': 'prod' }, []), BASE);
    expect(info.standard).toEqual([]);
  });

  it('OpenTelemetry env: OTEL_SERVICE_NAME and the OTEL_RESOURCE_ATTRIBUTES keys give standard tags', () => {
    const info = extractContainer(
      withConfig({}, ['OTEL_SERVICE_NAME=checkout', 'OTEL_RESOURCE_ATTRIBUTES=service.version=2.1, deployment.environment.name = qa,host.name=x,broken']),
      BASE,
    );
    expect(info.standard).toEqual(['env:qa', 'service:checkout', 'version:2.1']);
    expect(info.low.some((t) => t.startsWith('host'))).toBe(false);
    const legacy = extractContainer(withConfig({}, ['OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod,service.name=web']), BASE);
    expect(legacy.standard).toEqual(['env:prod', 'service:web']);
  });

  it('git.commit.sha / git.repository_url from DD_GIT_* env, at low', () => {
    const info = extractContainer(withConfig({}, ['DD_GIT_COMMIT_SHA=abc123', 'DD_GIT_REPOSITORY_URL=github.com/acme/web']), BASE);
    expect(info.low).toEqual(expect.arrayContaining(['git.commit.sha:abc123', 'git.repository_url:github.com/acme/web']));
    expect(info.standard).toEqual([]);
  });

  it('docker_image is name[:tag] without the digest; an untagged or digest-only reference has no image_tag', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    expect(extractContainer(withConfig({}, [], `app:1@${digest}`), BASE).low).toEqual(expect.arrayContaining(['docker_image:app:1', 'image_tag:1']));
    const digestOnly = extractContainer(withConfig({}, [], `app@${digest}`), BASE).low;
    expect(digestOnly).toContain('docker_image:app');
    expect(digestOnly.some((t) => t.startsWith('image_tag:'))).toBe(false);
  });

  it('com.datadoghq.ad.tags: every k:v entry at high (Agent: AddHigh); other entries and malformed JSON add nothing', () => {
    const good = extractContainer(withConfig({ 'com.datadoghq.ad.tags': '["team:core","env:prod","url:http://x","nocolon",5]' }, []), BASE);
    expect(good.high).toEqual(expect.arrayContaining(['team:core', 'env:prod']));
    expect(good.low.some((t) => t.startsWith('team:') || t.startsWith('env:'))).toBe(false);
    // Not a standard tag: the Agent marks only its UST sources as standard.
    expect(good.standard).not.toContain('env:prod');
    // "url:http://x" splits into three parts on ":", so the Agent skips it.
    expect([...good.low, ...good.high].some((t) => t.startsWith('url') || t.startsWith('nocolon'))).toBe(false);
    const bad = extractContainer(withConfig({ 'com.datadoghq.ad.tags': '[team:core' }, []), BASE);
    expect(bad.high.some((t) => t.startsWith('team'))).toBe(false);
  });

  it('swarm and rancher labels (rancher_container high)', () => {
    const info = extractContainer(
      withConfig(
        {
          'com.docker.swarm.service.name': 'web_api',
          'com.docker.stack.namespace': 'web',
          'io.rancher.stack.name': 'shop',
          'io.rancher.stack_service.name': 'shop/cart',
          'io.rancher.container.name': 'shop-cart-1',
        },
        [],
      ),
      BASE,
    );
    expect(info.low).toEqual(expect.arrayContaining(['swarm_service:web_api', 'swarm_namespace:web', 'rancher_stack:shop', 'rancher_service:shop/cart']));
    expect(info.high).toContain('rancher_container:shop-cart-1');
    expect(info.low).not.toContain('rancher_container:shop-cart-1');
  });

  it('nomad, marathon, chronos and mesos env (mesos_task orchestrator); other env ignored', () => {
    const info = extractContainer(
      withConfig({}, [
        'NOMAD_TASK_NAME=redis',
        'NOMAD_JOB_NAME=cache',
        'NOMAD_GROUP_NAME=cache-group',
        'NOMAD_NAMESPACE=default',
        'NOMAD_DC=dc1',
        'MARATHON_APP_ID=/web',
        'CHRONOS_JOB_NAME=nightly',
        'CHRONOS_JOB_OWNER=ops@example.com',
        'MESOS_TASK_ID=web.1234',
        'SECRET_TOKEN=hunter2',
        'NOEQUALS',
      ]),
      BASE,
    );
    expect(info.low).toEqual([
      'chronos_job:nightly',
      'chronos_job_owner:ops@example.com',
      'docker_image:local/busybox:latest',
      'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c',
      'image_name:local/busybox',
      'image_tag:latest',
      'marathon_app:/web',
      'nomad_dc:dc1',
      'nomad_group:cache-group',
      'nomad_job:cache',
      'nomad_namespace:default',
      'nomad_task:redis',
      'short_image:busybox',
    ]);
    expect(info.orchestrator).toEqual(['mesos_task:web.1234']);
    expect(JSON.stringify(info)).not.toContain('hunter2');
  });

  it('kubernetes and ECS containers still get their runtime tags', () => {
    const k8s = extractContainer(
      withConfig({ 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'prod', 'io.kubernetes.container.name': 'app' }, [], 'registry.k8s.io/pause:3.9'),
      BASE,
    );
    expect(k8s.low).toEqual(['docker_image:registry.k8s.io/pause:3.9', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:registry.k8s.io/pause', 'image_tag:3.9', 'short_image:pause']);
    expect(k8s.high).toContain('container_name:t1');
    const ecs = extractContainer(withConfig({ 'com.amazonaws.ecs.task-arn': 'arn:aws:ecs:us-west-2:1:task/c/abc', 'com.amazonaws.ecs.container-name': 'app' }, []), BASE);
    expect(ecs.low).toContain('short_image:busybox');
    expect(ecs.high).toContain('container_id:71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64');
  });

  it('an image ID in Config.Image uses the resolved name, or no image tags at all', () => {
    const byId = withConfig({}, [], 'sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c');
    expect(extractContainer(byId, { ...BASE, resolvedImage: 'local/busybox:1.36' }).low).toEqual([
      'docker_image:local/busybox:1.36',
      'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c',
      'image_name:local/busybox',
      'image_tag:1.36',
      'short_image:busybox',
    ]);
    expect(extractContainer(byId, BASE).low).toEqual(['image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c']);
  });
});

describe('isPauseImage (the Agent\'s exclude_pause_container list)', () => {
  it('matches the known sandbox images, with or without tag, anywhere in the reference', () => {
    for (const image of [
      'registry.k8s.io/pause:3.9',
      'k8s.gcr.io/pause-amd64:3.1',
      'gcr.io/google_containers/pause-amd64:3.0',
      'amazon/amazon-ecs-pause:0.1.0',
      '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5',
      'rancher/mirrored-pause:3.7',
      'mcr.microsoft.com/oss/kubernetes/pause:3.6',
      'openshift/origin-pod',
      'registry.redhat.io/rhel7/pod-infrastructure:latest',
    ]) {
      expect(isPauseImage(image), image).toBe(true);
    }
  });

  it('leaves other images, and an image merely named pause elsewhere', () => {
    for (const image of ['local/busybox:latest', 'docker.io/library/pause:1', 'pause', 'nginx@sha256:' + 'ab'.repeat(32), '']) {
      expect(isPauseImage(image), image).toBe(false);
    }
  });
});
