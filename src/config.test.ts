import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, envNameOf, loadConfig, parseDuration, resolveConfig } from './config.js';

describe('config', () => {
  it('has documented defaults', () => {
    const c = defaultConfig();
    expect(c.mode).toBe('local');
    expect(c.store.deletion_grace).toBe(300_000);
    expect(c.kubelet.poll_interval).toBe(5_000);
    expect(c.ecs.agent_url).toBe('http://localhost:51678');
    expect(c.docker.enabled).toBe('auto');
  });

  it('reads YAML, then TAGGER_* overrides, then standard variables below both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagger-config-'));
    const file = join(dir, 'tagger.yaml');
    writeFileSync(file, 'store:\n  deletion_grace: 30s\ndocker:\n  labels_as_tags:\n    app: app_name\nkubelet:\n  tls_verify: false\n');
    const c = loadConfig({
      file,
      env: { TAGGER_STORE_PRUNE_INTERVAL: '500ms', TAGGER_KUBELET_TLS_VERIFY: 'true', DOCKER_HOST: 'tcp://127.0.0.1:2375', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x', TAGGER_CONTAINERD_NAMESPACES: 'k8s.io, default' },
    });
    expect(c.store.deletion_grace).toBe(30_000);
    expect(c.store.prune_interval).toBe(500);
    expect(c.kubelet.tls_verify).toBe(true);
    expect(c.docker.labels_as_tags).toEqual({ app: 'app_name' });
    expect(c.docker.host).toBe('tcp://127.0.0.1:2375');
    expect(c.ecs.metadata_uri_v4).toBe('http://169.254.170.2/v4/x');
    expect(c.containerd.namespaces).toEqual(['k8s.io', 'default']);
    expect(envNameOf('kubelet.pod_labels_as_tags')).toBe('TAGGER_KUBELET_POD_LABELS_AS_TAGS');
  });

  it('reads DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH as the docker CLI does', () => {
    expect(defaultConfig().docker).toMatchObject({ tls_verify: false, tls: false, cert_path: '' });
    expect(resolveConfig({}, { DOCKER_TLS_VERIFY: '1', DOCKER_TLS: 'yes', DOCKER_CERT_PATH: '/certs' }).docker).toMatchObject({ tls_verify: true, tls: true, cert_path: '/certs' });
    // The CLI never reads the value: any non-empty one is on, even 0 or false; empty is unset.
    expect(resolveConfig({}, { DOCKER_TLS_VERIFY: '0' }).docker.tls_verify).toBe(true);
    expect(resolveConfig({}, { DOCKER_TLS: 'false' }).docker.tls).toBe(true);
    expect(resolveConfig({}, { DOCKER_TLS_VERIFY: '' }).docker.tls_verify).toBe(false);
    // The tagger's own settings beat the standard variables, both ways.
    expect(resolveConfig({}, { DOCKER_TLS_VERIFY: '1', TAGGER_DOCKER_TLS_VERIFY: 'false' }).docker.tls_verify).toBe(false);
    expect(resolveConfig({ docker: { tls_verify: false } }, { DOCKER_TLS_VERIFY: '1' }).docker.tls_verify).toBe(false);
    expect(resolveConfig({ docker: { cert_path: '/etc/docker-certs' } }, { DOCKER_CERT_PATH: '/certs' }).docker.cert_path).toBe('/etc/docker-certs');
    expect(resolveConfig({}, { TAGGER_DOCKER_CERT_PATH: '/mine', DOCKER_CERT_PATH: '/certs' }).docker.cert_path).toBe('/mine');
  });

  it('takes maps from the environment as JSON', () => {
    const c = resolveConfig({}, { TAGGER_DOCKER_ENV_AS_TAGS: '{"TEAM":"team"}' });
    expect(c.docker.env_as_tags).toEqual({ TEAM: 'team' });
  });

  it.each([
    [{ nope: 1 }, {}, 'nope'],
    [{ docker: { enabeld: 'auto' } }, {}, 'docker.enabeld'],
    [{ store: { deletion_grace: 'soon' } }, {}, 'store.deletion_grace'],
    [{ docker: { enabled: 'maybe' } }, {}, 'docker.enabled'],
    [{ mode: 'cluster' }, {}, 'mode'],
    [{}, { TAGGER_KUBELET_TLS_VERIFY: 'perhaps' }, 'TAGGER_KUBELET_TLS_VERIFY'],
    [{}, { TAGGER_DOCKER_TLS_VERIFY: 'perhaps' }, 'TAGGER_DOCKER_TLS_VERIFY'],
    [{}, { TAGGER_DOCKER_LABELS_AS_TAGS: '{not json' }, 'TAGGER_DOCKER_LABELS_AS_TAGS'],
    [{ ipc: { tcp_address: 'localhost' } }, {}, 'ipc.tcp_address'],
    [{ docker: { labels_as_tags: { app: '' } } }, {}, 'docker.labels_as_tags.app'],
  ])('rejects %j %j naming %s', (values, env, key) => {
    expect(() => resolveConfig(values, env)).toThrow(key);
  });

  it('parses durations', () => {
    expect(parseDuration('k', '500ms')).toBe(500);
    expect(parseDuration('k', '10s')).toBe(10_000);
    expect(parseDuration('k', '5m')).toBe(300_000);
    expect(parseDuration('k', 2)).toBe(2_000);
    expect(() => parseDuration('k', '-1s')).toThrow('k');
  });
});

describe('a resolved config', () => {
  it('is taken as it is when resolved again: milliseconds are not read as seconds twice', () => {
    const once = resolveConfig({ store: { deletion_grace: '30s' }, fetch: { not_found_ttl: '1m' } });
    const twice = resolveConfig(once, { TAGGER_STORE_DELETION_GRACE: '1h' });
    expect(twice.store.deletion_grace).toBe(30_000);
    expect(twice.fetch.not_found_ttl).toBe(60_000);
    expect(twice.store.prune_interval).toBe(10_000);
  });
});
