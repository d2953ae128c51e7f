import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYS } from './config/schema.js';
import { checkDaemonConfig, defaultConfig, envNameOf, loadConfig, parseDuration, resolveConfig } from './config.js';

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
    [{ mode: 'sidecar' }, {}, 'mode'],
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

describe('duration ranges', () => {
  it.each([
    [{ store: { prune_interval: 0 } }, {}, 'invalid config store.prune_interval: must be between 100ms and 1h, got 0ms'],
    [{}, { TAGGER_STORE_PRUNE_INTERVAL: '0' }, 'invalid config TAGGER_STORE_PRUNE_INTERVAL: must be between 100ms and 1h, got 0ms'],
    [{ kubelet: { poll_interval: '0ms' } }, {}, 'kubelet.poll_interval: must be between 500ms and 10m'],
    [{ ipc: { heartbeat_interval: '1ms' } }, {}, 'ipc.heartbeat_interval: must be between 100ms and 10m, got 1ms'],
    [{ fetch: { timeout: 0 } }, {}, 'fetch.timeout: must be between 100ms and 1m'],
    [{ store: { prune_interval: '600h' } }, {}, 'store.prune_interval: must be between 100ms and 1h, got 600h'],
    [{ store: { deletion_grace: '25h' } }, {}, 'store.deletion_grace: must be between 0ms and 24h'],
    [{ store: { tombstone_ttl: 0 } }, {}, 'store.tombstone_ttl: must be between 1s and 24h'],
    [{ fetch: { not_found_ttl: 0 } }, {}, 'fetch.not_found_ttl: must be between 1s and 1h'],
    [{ fetch: { error_ttl: '10ms' } }, {}, 'fetch.error_ttl: must be between 100ms and 1h'],
  ])('refuses %j %j: %s', (values, env, message) => {
    expect(() => resolveConfig(values, env)).toThrow(message);
  });

  it('has a range, below the 2^31 ms timer limit, for every duration key', () => {
    const durations = [...KEYS.values()].filter((spec) => spec.range !== undefined);
    expect(durations.length).toBeGreaterThanOrEqual(8);
    for (const { key, range, default: fallback } of durations) {
      const [min, max] = range as readonly [number, number];
      expect(max, key).toBeLessThan(2 ** 31);
      const ms = parseDuration(key, fallback);
      expect(ms, key).toBeGreaterThanOrEqual(min);
      expect(ms, key).toBeLessThanOrEqual(max);
      // Both ends are accepted.
      for (const end of [min, max]) expect(() => resolveConfig(nested(key, `${end}ms`))).not.toThrow();
    }
  });
});

describe('toggles and bools', () => {
  it.each([true, 'true', 'TRUE', 1, '1', 'yes', 'on'])('read %j as on from YAML and the environment alike', (raw) => {
    expect(resolveConfig({ docker: { enabled: raw, tls: raw } }).docker).toMatchObject({ enabled: 'true', tls: true });
    expect(resolveConfig({}, { TAGGER_DOCKER_ENABLED: String(raw), TAGGER_DOCKER_TLS: String(raw) }).docker).toMatchObject({ enabled: 'true', tls: true });
  });

  it.each([false, 'false', 0, '0', 'no', 'Off'])('read %j as off from YAML and the environment alike', (raw) => {
    expect(resolveConfig({ docker: { enabled: raw, tls: raw } }).docker).toMatchObject({ enabled: 'false', tls: false });
    expect(resolveConfig({}, { TAGGER_DOCKER_ENABLED: String(raw), TAGGER_DOCKER_TLS: String(raw) }).docker).toMatchObject({ enabled: 'false', tls: false });
  });

  it('refuses other values, and auto for a bool', () => {
    expect(() => resolveConfig({ docker: { enabled: 2 } })).toThrow('docker.enabled: must be auto, true or false');
    expect(() => resolveConfig({ docker: { tls: 'auto' } })).toThrow('docker.tls: must be true or false');
  });
});

describe('YAML shapes', () => {
  it('takes an empty section (only comments under it) as no keys, not an unknown key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagger-config-'));
    const file = join(dir, 'tagger.yaml');
    writeFileSync(file, 'docker:\n  # labels_as_tags:\n  #   app: app\nstore:\n  deletion_grace: 30s\n');
    const c = loadConfig({ file, env: {} });
    expect(c.docker.enabled).toBe('auto');
    expect(c.store.deletion_grace).toBe(30_000);
    // A null under a name that is no section is still unknown.
    expect(() => resolveConfig({ dockr: null })).toThrow('dockr: unknown key');
  });
});

describe('the daemon\'s own checks', () => {
  it('refuses remote.socket equal to ipc.socket in remote mode (the replica would follow itself)', () => {
    const c = resolveConfig({ mode: 'remote', remote: { socket: '/var/run/tagger/tagger.sock' } });
    expect(() => checkDaemonConfig(c)).toThrow('invalid config remote.socket: must differ from ipc.socket (/var/run/tagger/tagger.sock)');
    expect(() => checkDaemonConfig(resolveConfig({ mode: 'remote', remote: { socket: '/var/run/tagger/../tagger/tagger.sock' } }))).toThrow('remote.socket');
    expect(() => checkDaemonConfig(resolveConfig({ mode: 'remote', remote: { socket: '/var/run/node/tagger.sock' } }))).not.toThrow();
  });

  it('needs ipc.socket or ipc.tcp_address', () => {
    expect(() => checkDaemonConfig(resolveConfig({ ipc: { socket: '' } }))).toThrow('invalid config ipc.socket: one of ipc.socket and ipc.tcp_address must be set');
    expect(() => checkDaemonConfig(resolveConfig({ ipc: { socket: '', tcp_address: '127.0.0.1:7000' } }))).not.toThrow();
  });
});

function nested(key: string, value: unknown): Record<string, unknown> {
  const [section, name] = key.split('.') as [string, string | undefined];
  return name === undefined ? { [section]: value } : { [section]: { [name]: value } };
}
