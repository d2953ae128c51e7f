/**
 * One entity's tags: what each source said, and the merged lists queries read. The merged list
 * is computed once per change, frozen, and laid out low, then orchestrator, then high, so each
 * cardinality's answer is a prefix and a query allocates nothing after its first read.
 */
import { EMPTY } from './intern.js';
import { tagName } from '../tags.js';
import type { Cardinality, EntityId, MergedTags, SourcePriority, SourceTags } from '../types.js';

export interface SourceEntry {
  readonly source: string;
  readonly priority: SourcePriority;
  readonly tags: SourceTags;
}

/** The merged tags of an entity: `all` holds low, orchestrator, high in that order. */
export class Merged {
  private lowView: readonly string[] | undefined;
  private orchestratorView: readonly string[] | undefined;

  constructor(
    readonly all: readonly string[],
    readonly lowEnd: number,
    readonly orchestratorEnd: number,
    readonly standard: readonly string[],
  ) {}

  /** Tags at `cardinality` and below; the same frozen array on every call until the next change. */
  upTo(cardinality: Cardinality): readonly string[] {
    if (cardinality === 'high') return this.all;
    if (cardinality === 'low') {
      if (this.lowEnd === this.all.length) return this.all;
      return (this.lowView ??= Object.freeze(this.all.slice(0, this.lowEnd)));
    }
    if (this.orchestratorEnd === this.all.length) return this.all;
    return (this.orchestratorView ??= Object.freeze(this.all.slice(0, this.orchestratorEnd)));
  }

  /** Level-by-level lists (each level alone), for events and dumps. Allocates. */
  split(upTo: Cardinality = 'high'): MergedTags {
    const orch = upTo !== 'low';
    const high = upTo === 'high';
    return {
      low: this.all.slice(0, this.lowEnd),
      orchestrator: orch ? this.all.slice(this.lowEnd, this.orchestratorEnd) : [],
      high: high ? this.all.slice(this.orchestratorEnd) : [],
      standard: [...this.standard],
    };
  }

  /** True when a subscriber at `cardinality` would see the same tags in both. */
  sameUpTo(other: Merged, cardinality: Cardinality): boolean {
    return sameList(this.upTo(cardinality), other.upTo(cardinality)) && sameList(this.standard, other.standard);
  }
}

export const EMPTY_MERGED = new Merged(EMPTY, 0, 0, EMPTY);

/**
 * Merges the sources' tags. For each tag name, only the sources of the highest priority that
 * give that name contribute it; equal priorities keep every value. Duplicates are dropped, a tag
 * keeping its lowest level.
 */
export function mergeSources(sources: readonly SourceEntry[]): Merged {
  if (sources.length === 0) return EMPTY_MERGED;
  if (sources.length === 1) {
    const t = (sources[0] as SourceEntry).tags;
    return fromLevels([t.low], [t.orchestrator], [t.high], t.standard);
  }
  const best = new Map<string, number>();
  for (const s of sources) {
    for (const list of [s.tags.low, s.tags.orchestrator, s.tags.high, s.tags.standard]) {
      for (const tag of list) {
        const name = tagName(tag);
        const prev = best.get(name);
        if (prev === undefined || s.priority > prev) best.set(name, s.priority);
      }
    }
  }
  const keep = (s: SourceEntry, list: readonly string[]): readonly string[] => {
    let dropped = false;
    for (const tag of list) if (best.get(tagName(tag)) !== s.priority) dropped = true;
    return dropped ? list.filter((tag) => best.get(tagName(tag)) === s.priority) : list;
  };
  const standard = new Set<string>();
  for (const s of sources) for (const tag of keep(s, s.tags.standard)) standard.add(tag);
  return fromLevels(
    sources.map((s) => keep(s, s.tags.low)),
    sources.map((s) => keep(s, s.tags.orchestrator)),
    sources.map((s) => keep(s, s.tags.high)),
    [...standard],
  );
}

function fromLevels(
  low: ReadonlyArray<readonly string[]>,
  orchestrator: ReadonlyArray<readonly string[]>,
  high: ReadonlyArray<readonly string[]>,
  standard: readonly string[],
): Merged {
  const seen = new Set<string>();
  const all: string[] = [];
  const addLevel = (lists: ReadonlyArray<readonly string[]>): void => {
    for (const list of lists) {
      for (const tag of list) {
        if (!seen.has(tag)) {
          seen.add(tag);
          all.push(tag);
        }
      }
    }
  };
  addLevel(low);
  const lowEnd = all.length;
  addLevel(orchestrator);
  const orchestratorEnd = all.length;
  addLevel(high);
  const std = standard.length === 0 ? EMPTY : Object.freeze([...new Set(standard)]);
  return new Merged(all.length === 0 ? EMPTY : Object.freeze(all), lowEnd, orchestratorEnd, std);
}

/** The store's record of one entity. */
export class EntityRecord {
  /** Few sources per entity (1 to 4): an array beats a Map in memory and speed. */
  sources: SourceEntry[] = [];
  merged: Merged = EMPTY_MERGED;
  /** source -> time after which the entity is removed; set while a delete is pending. */
  deletes: Map<string, number> | undefined;

  constructor(readonly id: EntityId) {}

  source(name: string): SourceEntry | undefined {
    for (const s of this.sources) if (s.source === name) return s;
    return undefined;
  }

  /** The earliest time a pending delete allows removal, or undefined. */
  removeAfter(): number | undefined {
    if (!this.deletes) return undefined;
    let min: number | undefined;
    for (const t of this.deletes.values()) if (min === undefined || t < min) min = t;
    return min;
  }
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameSourceTags(a: SourceTags, b: SourceTags): boolean {
  return sameList(a.low, b.low) && sameList(a.orchestrator, b.orchestrator) && sameList(a.high, b.high) && sameList(a.standard, b.standard);
}
