/**
 * TagList: the one way a collector assembles an entity's tags, with the Datadog Agent's
 * `taglist` semantics. It deduplicates and skips empty names and values. A tag is standard
 * (env / service / version of unified service tagging) only when added with addStandard, as the
 * Agent does for its UST sources; the same name from elsewhere (a JSON annotation, `+env`) is
 * an ordinary tag.
 */
import { formatTag } from './tags.js';
import type { Cardinality, EntityId, TagInfo } from './types.js';

export class TagList {
  private readonly low = new Set<string>();
  private readonly orchestrator = new Set<string>();
  private readonly high = new Set<string>();
  private readonly standard = new Set<string>();

  /** Adds `name:value` at a cardinality. Names and values are trimmed; empty ones are skipped. */
  add(cardinality: Cardinality, name: string, value: string | undefined | null): this {
    const tag = tagOf(name, value);
    if (tag !== undefined) this.setFor(cardinality).add(tag);
    return this;
  }

  /**
   * Adds a tag already written `name:value` (a rule's output, a `tags` entry), split at its first
   * colon so the value may hold more (`url:http://x`). One without a colon or a name is skipped.
   */
  addTag(cardinality: Cardinality, tag: string): this {
    const colon = tag.indexOf(':');
    return colon > 0 ? this.add(cardinality, tag.slice(0, colon), tag.slice(colon + 1)) : this;
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

  /** A standard tag: low cardinality, and listed among the entity's standard tags. */
  addStandard(name: string, value: string | undefined | null): this {
    const tag = tagOf(name, value);
    if (tag !== undefined) {
      this.low.add(tag);
      this.standard.add(tag);
    }
    return this;
  }

  /** A user-named tag: a name starting with `+` goes to high (without the `+`), others to low. */
  addAuto(name: string, value: string | undefined | null): this {
    const trimmed = name.trim();
    return trimmed.startsWith('+') ? this.add('high', trimmed.slice(1), value) : this.add('low', trimmed, value);
  }

  /** True when no tag was added (a standard tag is also a low one). */
  isEmpty(): boolean {
    return this.low.size + this.orchestrator.size + this.high.size === 0;
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

function tagOf(name: string, value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const tagName = name.trim();
  const tagValue = String(value).trim();
  return tagName === '' || tagValue === '' ? undefined : formatTag(tagName, tagValue);
}

/** The TagInfo that asks the store to delete an entity from a source (after its grace). */
export function deletionTagInfo(source: string, entity: EntityId): TagInfo {
  return { source, entity, low: [], orchestrator: [], high: [], standard: [], deleteEntity: true };
}
