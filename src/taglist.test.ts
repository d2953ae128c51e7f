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

  it('marks a tag standard only through addStandard (the Agent: AddStandard)', () => {
    const tags = new TagList().addStandard('env', 'prod').addLow('service', 'web').addHigh('version', '1.2').compute();
    expect(tags.low).toEqual(['env:prod', 'service:web']);
    expect(tags.high).toEqual(['version:1.2']);
    expect(tags.standard).toEqual(['env:prod']);
  });

  it('addTag splits name:value at the first colon and skips a tag with no colon or no name', () => {
    const tags = new TagList().addTag('low', 'url:http://x:8080').addTag('high', ' team : core ').addTag('low', 'bare').addTag('low', ':value').addTag('low', 'empty:').compute();
    expect(tags.low).toEqual(['url:http://x:8080']);
    expect(tags.high).toEqual(['team:core']);
    expect(tags.standard).toEqual([]);
  });

  it('addAuto sends +name to high without the +, anything else to low', () => {
    const tags = new TagList().addAuto('+git_sha', 'deadbeef').addAuto('team', 'core').compute();
    expect(tags.high).toEqual(['git_sha:deadbeef']);
    expect(tags.low).toEqual(['team:core']);
  });

  it('keeps a + in a name added at a fixed cardinality, as the Agent does', () => {
    expect(new TagList().addLow('+x', 'y').compute().low).toEqual(['+x:y']);
  });
});

function applyTo(rules: ReturnType<typeof compileRules>, entries: Record<string, string>): ReturnType<TagList['compute']> {
  const list = new TagList();
  applyRules(rules, Object.entries(entries), list);
  return list.compute();
}

describe('rules', () => {
  it('matches exact keys case-insensitively', () => {
    const rules = compileRules({ GitCommit: 'git_commit' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { gitcommit: 'abc123', other: 'x' }).low).toEqual(['git_commit:abc123']);
  });

  it('sends a +name to high', () => {
    const rules = compileRules({ request: '+request_id' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { request: 'r1' })).toMatchObject({ low: [], high: ['request_id:r1'] });
  });

  it('splits a string rule value on commas into several tags (trimmed)', () => {
    const rules = compileRules({ team: 'team, owner,+squad' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { team: 'core' })).toMatchObject({ low: ['owner:core', 'team:core'], high: ['squad:core'] });
  });

  it('accepts a list of tag names too', () => {
    const rules = compileRules({ team: ['team', 'owner'] }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { team: 'core' }).low).toEqual(['owner:core', 'team:core']);
  });

  it('replaces %%label%%, %%env%% and %%annotation%% by the matched key whatever the target', () => {
    const rules = compileRules({ 'app.*': 'l_%%label%%,e_%%env%%,a_%%annotation%%' }, 'annotation', 'kubelet.pod_annotations_as_tags');
    expect(applyTo(rules, { 'App.Tier': 'front' }).low).toEqual(['a_App.Tier:front', 'e_App.Tier:front', 'l_App.Tier:front']);
  });

  it('blanks any other %%x%% placeholder', () => {
    const rules = compileRules({ team: 'x_%%host%%_%%label%%%%kube_namespace%%' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { team: 'core' }).low).toEqual(['x__team:core']);
  });

  it('compiles a glob only when the key has *, so ? and [ are literal otherwise', () => {
    const rules = compileRules({ 'app?': 'q', 'x[12]': 'bracket' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { appa: '1', 'app?': '2', x1: '3', 'x[12]': '4' }).low).toEqual(['bracket:4', 'q:2']);
  });

  it('in a glob, supports ?, [...] and {a,b} as the Agent\'s glob library does', () => {
    const rules = compileRules({ 'dd_tag_?*': '%%env%%', '*[12]': 'digit', '{a,b}.*': 'ab' }, 'env', 'docker.env_as_tags');
    expect(applyTo(rules, { DD_TAG_A: '1', DD_TAG_: '2', X1: 'one', X3: 'three', 'b.c': 'bee', 'c.d': 'no' }).low).toEqual([
      'DD_TAG_A:1',
      'ab:bee',
      'digit:one',
    ]);
  });

  it('adds a rule that names env, service or version as a standard tag, but not a +name', () => {
    const rules = compileRules({ app_env: 'env', app_version: '+version' }, 'label', 'docker.labels_as_tags');
    expect(applyTo(rules, { app_env: 'prod', app_version: '2' })).toMatchObject({ low: ['env:prod'], high: ['version:2'], standard: ['env:prod'] });
  });

  it('reads env entries, skipping lines without a name', () => {
    expect(envEntries(['A=1', 'B==2', 'BROKEN', '=v'])).toEqual([
      ['A', '1'],
      ['B', '=2'],
    ]);
  });

  it('rejects empty tag names naming the config key', () => {
    let caught: unknown;
    try {
      compileRules({ app: ' , ' }, 'label', 'docker.labels_as_tags');
    } catch (e) {
      caught = e;
    }
    expect(isTaggerError(caught, 'TAGGER_INVALID_CONFIG')).toBe(true);
    expect((caught as Error).message).toContain('docker.labels_as_tags.app');
  });

  it('rejects an unclosed { in a glob', () => {
    expect(() => compileRules({ 'a{b*': 'x' }, 'label', 'docker.labels_as_tags')).toThrow(/unclosed/);
  });
});

describe('TagList.isEmpty', () => {
  it('is true until a tag is added, skipped empties included', () => {
    const list = new TagList().addLow('a', '').addHigh('', 'x');
    expect(list.isEmpty()).toBe(true);
    expect(list.addStandard('env', 'prod').isEmpty()).toBe(false);
  });
});
