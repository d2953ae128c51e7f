/**
 * The 12-hex short-ID index of the store: short -> the full container IDs that start with it. A
 * short ID resolves only when exactly one known container has it (as `docker inspect` does): with
 * two, the answer would depend on which was seen last, and removing one must not lose the other.
 */
import { CONTAINER_PREFIX, isFullHexContainerId } from '../entity.js';
import type { EntityId } from '../types.js';

export class ShortIdIndex {
  /** One ID (the usual case, no array) or every ID sharing the prefix. */
  private readonly byShort = new Map<string, EntityId | EntityId[]>();

  add(id: EntityId): void {
    if (!isFullHexContainerId(id)) return;
    const short = shortOf(id);
    const held = this.byShort.get(short);
    if (held === undefined) this.byShort.set(short, id);
    else if (typeof held === 'string') {
      if (held !== id) this.byShort.set(short, [held, id]);
    } else if (!held.includes(id)) held.push(id);
  }

  remove(id: EntityId): void {
    if (!isFullHexContainerId(id)) return;
    const short = shortOf(id);
    const held = this.byShort.get(short);
    if (held === id) this.byShort.delete(short);
    else if (Array.isArray(held)) {
      const rest = held.filter((other) => other !== id);
      this.byShort.set(short, rest.length === 1 ? (rest[0] as EntityId) : rest);
    }
  }

  /** The one full ID with this 12-hex prefix; undefined when none or several. */
  resolve(short: string): EntityId | undefined {
    const held = this.byShort.get(short.toLowerCase());
    return typeof held === 'string' ? held : undefined;
  }
}

function shortOf(id: EntityId): string {
  return id.slice(CONTAINER_PREFIX.length, CONTAINER_PREFIX.length + 12);
}
