/**
 * The default tagger: the only module-level state in the library, for callers that want
 * `init()` once and `tag()` anywhere. Everything else takes its tagger as an argument.
 */
import { createTagger, type CreateTaggerOptions } from './create-tagger.js';
import { NotInitializedError } from './errors.js';
import type { CardinalityInput, QueryOptions, Tagger } from './tagger/tagger.js';

let defaultTagger: Tagger | undefined;

/** Creates and starts the default tagger (a second call returns the first one). */
export async function init(config?: CreateTaggerOptions['config'], options: Omit<CreateTaggerOptions, 'config'> = {}): Promise<Tagger> {
  if (defaultTagger) return defaultTagger;
  const tagger = createTagger({ ...options, ...(config ? { config } : {}) });
  defaultTagger = tagger;
  await tagger.start();
  return tagger;
}

export function getDefaultTagger(): Tagger {
  if (!defaultTagger) throw new NotInitializedError('tag()');
  return defaultTagger;
}

export function setDefaultTagger(tagger: Tagger | undefined): void {
  defaultTagger = tagger;
}

/** Tests only: stops and forgets the default tagger. */
export async function resetDefaultTagger(): Promise<void> {
  const tagger = defaultTagger;
  defaultTagger = undefined;
  await tagger?.stop();
}

export function tag(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): Promise<readonly string[]> {
  return getDefaultTagger().tag(entity, cardinality, options);
}

export function tagSync(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): readonly string[] {
  return getDefaultTagger().tagSync(entity, cardinality, options);
}
