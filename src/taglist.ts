/**
 * TagList: the one way a collector assembles an entity's tags. It deduplicates, skips empty
 * names and values, sends a `+name` to high cardinality, and records env / service / version as
 * standard tags as well as low ones.
 */
import { STANDARD_TAG_NAMES, formatTag } from './tags.js';
import type { Cardinality, EntityId, TagInfo } from './types.js';

export class TagList {
  private readonly low = new Set<string>();
  private readonly orchestrator = new Set<string>();
  private readonly high = new Set<string>();
  private readonly standard = new Set<string>();

  /** Adds `name:value` at a cardinality. A name starting with `+` goes to high. */
  add(cardinality: Cardinality, name: string, value: string | undefined | null): this {
    if (value === undefined || value === null) return this;
    let tagName = name.trim();
    let level = cardinality;
    if (tagName.startsWith('+')) {
      tagName = tagName.slice(1).trim();
      level = 'high';
    }
    const tagValue = String(value).trim();
    if (tagName === '' || tagValue === '') return this;
    const tag = formatTag(tagName, tagValue);
    this.setFor(level).add(tag);
    if (STANDARD_TAG_NAMES.has(tagName)) this.standard.add(tag);
    return this;
  }

  addLow(name: string, value: string | undefined | null): this {
    return this.add('low', name, value);
  }
  addOrchestrator(name: string, value: string | undefined | null): this {
    return this.add('orchestrator', name, value);
  }
  addHigh(name: string, value: string | undefined | null): this {
    return this.add('high', name, value);
  }

  /** Adds a ready `name:value` string (from a JSON tag list such as `com.datadoghq.ad.tags`). */
  addRaw(cardinality: Cardinality, tag: string): this {
    const colon = tag.indexOf(':');
    if (colon <= 0) return this;
    return this.add(cardinality, tag.slice(0, colon), tag.slice(colon + 1));
  }

  /** Moves everything of another list into this one. */
  merge(other: TagList): this {
    for (const t of other.low) this.low.add(t);
    for (const t of other.orchestrator) this.orchestrator.add(t);
    for (const t of other.high) this.high.add(t);
    for (const t of other.standard) this.standard.add(t);
    return this;
  }

  /**
   * The lists, each sorted. A tag already at a lower level is not repeated higher, so
   * a query at a level never sees a duplicate.
   */
  compute(): { low: string[]; orchestrator: string[]; high: string[]; standard: string[] } {
    const low = [...this.low].sort();
    const orchestrator = [...this.orchestrator].filter((t) => !this.low.has(t)).sort();
    const high = [...this.high].filter((t) => !this.low.has(t) && !this.orchestrator.has(t)).sort();
    return { low, orchestrator, high, standard: [...this.standard].sort() };
  }

  toTagInfo(source: string, entity: EntityId): TagInfo {
    return { source, entity, ...this.compute() };
  }

  private setFor(c: Cardinality): Set<string> {
    return c === 'low' ? this.low : c === 'orchestrator' ? this.orchestrator : this.high;
  }
}

/** The TagInfo that asks the store to delete an entity from a source (after its grace). */
export function deletionTagInfo(source: string, entity: EntityId): TagInfo {
  return { source, entity, low: [], orchestrator: [], high: [], standard: [], deleteEntity: true };
}
