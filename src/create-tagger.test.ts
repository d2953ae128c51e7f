import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { createTagger, libraryConfig } from './create-tagger.js';
import { isTaggerError } from './errors.js';
import { LocalTagger } from './tagger/local-tagger.js';

describe('createTagger', () => {
  it('takes durations from a raw config object and from a loaded one alike', () => {
    const fromRaw = createTagger({ config: { store: { deletion_grace: '30s', tombstone_ttl: '2m' } }, collectors: [] });
    const fromLoaded = createTagger({ config: resolveConfig({ store: { deletion_grace: '30s', tombstone_ttl: '2m' } }), collectors: [] });
    for (const tagger of [fromRaw, fromLoaded]) {
      expect(tagger).toBeInstanceOf(LocalTagger);
      expect((tagger as LocalTagger).store.deletionGraceMs).toBe(30_000);
      expect((tagger as LocalTagger).store.tombstoneTtlMs).toBe(120_000);
    }
  });

  it('builds the configured collectors, leaving out disabled ones', () => {
    const tagger = createTagger({
      config: { docker: { enabled: 'true', host: 'unix:///nonexistent.sock' }, containerd: { enabled: 'false' }, kubelet: { enabled: 'false' }, ecs: { enabled: 'false' } },
    }) as LocalTagger;
    expect(tagger.collectorNames()).toEqual(['docker']);
  });

  it('refuses remote mode without a daemon to follow, naming the key', () => {
    let caught: unknown;
    try {
      createTagger({ mode: 'remote', config: {} });
    } catch (e) {
      caught = e;
    }
    expect(isTaggerError(caught, 'TAGGER_INVALID_CONFIG')).toBe(true);
    expect((caught as Error).message).toContain('remote.socket');
  });

  describe('builds its config as the daemon does: the TAGGER_CONFIG file, then the environment, then the object', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagger-lib-config-'));
    const file = join(dir, 'tagger.yaml');
    writeFileSync(file, 'store:\n  deletion_grace: 40s\n  tombstone_ttl: 4m\n  prune_interval: 4s\n');

    it('layers the file, TAGGER_* and the object, the object winning', () => {
      const env = { TAGGER_CONFIG: file, TAGGER_STORE_TOMBSTONE_TTL: '3m', TAGGER_STORE_PRUNE_INTERVAL: '3s' };
      const tagger = createTagger({ env, config: { store: { prune_interval: '2s' } }, collectors: [] }) as LocalTagger;
      expect(tagger.store.deletionGraceMs).toBe(40_000); // the file
      expect(tagger.store.tombstoneTtlMs).toBe(180_000); // TAGGER_* over the file
      const config = libraryConfig({ env, config: { store: { prune_interval: '2s' } } });
      expect(config.store.prune_interval).toBe(2_000); // the object over TAGGER_*
      expect(config.store.tombstone_ttl).toBe(180_000);
    });

    it('honours the standard variables when a config object is passed (an ECS task, a DOCKER_HOST)', () => {
      const env = { DOCKER_HOST: 'tcp://127.0.0.1:2375', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' };
      const config = libraryConfig({ env, config: { ecs: { task_tags: true } } });
      expect(config.ecs.task_tags).toBe(true);
      expect(config.ecs.metadata_uri_v4).toBe('http://169.254.170.2/v4/abc');
      expect(config.docker.host).toBe('tcp://127.0.0.1:2375');
      // A key the object sets beats its standard variable too.
      expect(libraryConfig({ env, config: { docker: { host: 'unix:///run/d.sock' } } }).docker.host).toBe('unix:///run/d.sock');
    });

    it('names the key of a bad value in any layer', () => {
      expect(() => libraryConfig({ env: { TAGGER_STORE_DELETION_GRACE: 'soon' }, config: {} })).toThrow('TAGGER_STORE_DELETION_GRACE');
      expect(() => libraryConfig({ env: {}, config: { store: { nope: 1 } } })).toThrow('store.nope');
      expect(() => libraryConfig({ env: { TAGGER_CONFIG: join(dir, 'missing.yaml') }, config: {} })).toThrow('missing.yaml');
    });

    it('takes a loaded config as it is', () => {
      const loaded = resolveConfig({ store: { deletion_grace: '7s' } });
      expect(libraryConfig({ env: { TAGGER_STORE_DELETION_GRACE: '9s' }, config: loaded })).toBe(loaded);
    });
  });
});
