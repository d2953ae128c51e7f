import { describe, expect, it } from 'vitest';
import { compileRules, applyRules, envEntries } from './rules.js';
import { TagList } from './taglist.js';
import { isTaggerError } from './errors.js';

describe('TagList', () => {
  it('deduplicates, skips empty names and values, and keeps each tag at its lowest level', () => {
    const list = new TagList()
      .addLow('image_name', 'nginx')
      .addLow('image_name', 'nginx')
      .addLow('', 'x')
      .addLow('empty', '')
      .addLow('undef', undefined)
      .addOrchestrator('pod_name', 'web-1')
      .addHigh('pod_name', 'web-1')
      .addHigh('container_id', 'abc');
    expect(list.compute()).toEqual({ low: ['image_name:nginx'], orchestrator: ['pod_name:web-1'], high: ['container_id:abc'], standard: [] });
  });

  it('sends +name to high and records env/service/version as standard and low', () => {
    const list = new TagList().add('low', '+git_sha', 'deadbeef').addLow('env', 'prod').addLow('service', 'web').addLow('version', '1.2');
    const tags = list.compute();
    expect(tags.high).toEqual(['git_sha:deadbeef']);
    expect(tags.low).toEqual(['env:prod', 'service:web', 'version:1.2']);
    expect(tags.standard).toEqual(['env:prod', 'service:web', 'version:1.2']);
  });

  it('parses raw name:value tags and ignores ones without a name', () => {
    const tags = new TagList().addRaw('low', 'team:core').addRaw('low', ':nope').addRaw('low', 'novalue').addRaw('low', 'url:http://x').compute();
    expect(tags.low).toEqual(['team:core', 'url:http://x']);
  });
});

describe('rules', () => {
  it('matches keys case-insensitively, globs, templates and + for high', () => {
    const rules = compileRules({ GitCommit: '+git_commit', 'app.*': 'app_%%label%%', team: ['team', 'owner'] }, 'label', 'docker.labels_as_tags');
    const list = new TagList();
    applyRules(rules, Object.entries({ gitcommit: 'abc123', 'app.name': 'web', 'App.Tier': 'front', Team: 'core', other: 'x' }), list);
    expect(list.compute()).toEqual({
      low: ['app_App.Tier:front', 'app_app.name:web', 'owner:core', 'team:core'],
      orchestrator: [],
      high: ['git_commit:abc123'],
      standard: [],
    });
  });

  it('supports ? and character classes, and env entries', () => {
    const rules = compileRules({ 'DD_TAG_?': '%%env%%', 'X[12]': 'x' }, 'env', 'docker.env_as_tags');
    const list = new TagList();
    applyRules(rules, envEntries(['DD_TAG_A=1', 'DD_TAG_AB=2', 'X1=one', 'X3=three', 'BROKEN', '=v']), list);
    expect(list.compute().low).toEqual(['DD_TAG_A:1', 'x:one']);
  });

  it('rejects empty tag names naming the config key', () => {
    let caught: unknown;
    try {
      compileRules({ app: ' ' }, 'label', 'docker.labels_as_tags');
    } catch (e) {
      caught = e;
    }
    expect(isTaggerError(caught, 'TAGGER_INVALID_CONFIG')).toBe(true);
    expect((caught as Error).message).toContain('docker.labels_as_tags.app');
  });
});
