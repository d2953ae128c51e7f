/** What the store's property tests share: a subscriber's view of the store, built from its events. */
import type { EntityEvent } from '../../types.js';

/** Applies event batches to `into` (entity ID -> its tags at every level, sorted), as a replica would. */
export function followEvents(batches: Iterable<readonly EntityEvent[]>, into: Map<string, string[]>): void {
  for (const batch of batches) {
    for (const ev of batch) {
      if (ev.type === 'deleted') into.delete(ev.entity.id);
      else into.set(ev.entity.id, [...ev.entity.tags.low, ...ev.entity.tags.orchestrator, ...ev.entity.tags.high].sort());
    }
  }
}
