import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { createTagger } from './create-tagger.js';
import { isTaggerError } from './errors.js';
import { LocalTagger } from './tagger.js';

describe('createTagger', () => {
  it('takes durations from a raw config object and from a loaded one alike', () => {
    const fromRaw = createTagger({ config: { store: { deletion_grace: '30s', tombstone_ttl: '2m' } }, collectors: [] });
    const fromLoaded = createTagger({ config: resolveConfig({ store: { deletion_grace: '30s', tombstone_ttl: '2m' } }), collectors: [] });
    for (const tagger of [fromRaw, fromLoaded]) {
      expect(tagger).toBeInstanceOf(LocalTagger);
      expect(tagger.store.deletionGraceMs).toBe(30_000);
      expect(tagger.store.tombstoneTtlMs).toBe(120_000);
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
});
