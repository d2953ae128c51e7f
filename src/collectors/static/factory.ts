/** The registry's entry for the static collector: on exactly when the `tags` key lists a tag. */
import type { CollectorFactory } from '../factory.js';
import { STATIC_SOURCE, StaticCollector } from './collector.js';

export const staticCollectorFactory: CollectorFactory = {
  name: STATIC_SOURCE,
  enabled: (config) => (config.tags.length > 0 ? 'true' : 'false'),
  create: ({ config }) => new StaticCollector(config.tags),
};
