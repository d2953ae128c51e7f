/**
 * The static collector: the `tags` key (the Agent's `tags` / `DD_TAGS` and `extra_tags` /
 * `DD_EXTRA_TAGS`) as low-cardinality tags of the global entity, once at start. The Agent's tagger
 * does the same from its `workloadmeta-static` source; like it, entries that are not `key:value`
 * are left out (they cannot be a tag of an entity), and a key given twice keeps both values.
 */
import { GLOBAL_ENTITY_ID } from '../../entity.js';
import { TagList } from '../../taglist.js';
import type { TagInfo } from '../../types.js';
import type { Collector, CollectorContext, CollectorHealth } from '../collector.js';

export const STATIC_SOURCE = 'static';

/** The global entity's TagInfo for `tags`; empty lists when none is `key:value`. */
export function staticTagInfo(tags: readonly string[]): TagInfo {
  const list = new TagList();
  for (const tag of tags) list.addTag('low', tag);
  return list.toTagInfo(STATIC_SOURCE, GLOBAL_ENTITY_ID);
}

export class StaticCollector implements Collector {
  readonly name = STATIC_SOURCE;
  private readonly info: TagInfo;
  private pushed = false;

  constructor(tags: readonly string[]) {
    this.info = staticTagInfo(tags);
  }

  async run(ctx: CollectorContext): Promise<void> {
    ctx.sink.push([this.info]);
    this.pushed = true;
    ctx.markSynced();
    // Nothing changes until the tagger stops; returning early would read as the stream ending.
    if (ctx.signal.aborted) return;
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  health(): CollectorHealth {
    return { healthy: true, message: this.pushed ? `${this.info.low.length} static tags on ${GLOBAL_ENTITY_ID}` : 'not started' };
  }
}
