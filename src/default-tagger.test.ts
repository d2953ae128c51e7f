import { afterEach, describe, expect, it } from 'vitest';
import { getDefaultTagger, resetDefaultTagger, setDefaultTagger, tag, tagSync } from './default-tagger.js';
import { isTaggerError } from './errors.js';
import { LocalTagger } from './tagger/local-tagger.js';

describe('the default tagger', () => {
  afterEach(() => resetDefaultTagger());

  it('throws TAGGER_NOT_INITIALIZED before init(), from getDefaultTagger, tag and tagSync alike', async () => {
    let caught: unknown;
    try {
      getDefaultTagger();
    } catch (error) {
      caught = error;
    }
    expect(isTaggerError(caught, 'TAGGER_NOT_INITIALIZED')).toBe(true);
    expect((caught as Error).message).toBe('tagger: call init() before tag()');
    expect(() => tagSync('container_id://abc')).toThrow(/call init\(\)/);
    expect(() => tag('container_id://abc')).toThrow(/call init\(\)/);
  });

  it('answers from the tagger set as default', () => {
    const tagger = new LocalTagger();
    tagger.store.processTagInfo([{ source: 'docker', entity: 'container_id://abc', low: ['image_name:nginx'], orchestrator: [], high: [], standard: [] }]);
    setDefaultTagger(tagger);
    expect(getDefaultTagger()).toBe(tagger);
    expect(tagSync('container_id://abc')).toEqual(['image_name:nginx']);
  });
});
