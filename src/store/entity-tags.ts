/**
 * One entity's tags: what each source said, and the merged lists queries read. The merged list
 * is computed once per change, frozen, and laid out low, then orchestrator, then high, so each
 * cardinality's answer is a prefix and a query allocates nothing after its first read.
 */
import { EMPTY } from './intern.js';
import { tagName } from '../tags.js';
import type { Cardinality, EntityId, MergedTags, SourcePriority, SourceTags } from '../types.js';

/**
 * One source's tags for an entity. Its levels share one frozen array (low, then orchestrator,
 * then high) to save the two array headers per source that separate lists would cost; the
 * level getters slice, and are used off the query path only (merge, dumps).
 */
export class SourceEntry implements SourceTags {
  constructor(
    readonly source: string,
    readonly priority: SourcePriority,
    private readonly tags: readonly string[],
    readonly lowEnd: number,
    readonly orchestratorEnd: number,
    readonly standard: readonly string[],
  ) {}

  /**
   * Builds an entry from level lists, dropping duplicates (a tag keeps its lowest level), so that
   * an entity with one source can share this very array as its merged view. `intern` pools the
   * low, orchestrator and standard strings as they are copied in: one exact-size array is built,
   * with no intermediate lists (a replica's initial sync builds thousands of these at once).
   * High-cardinality tags are unique per entity and not pooled.
   */
  static of(source: string, priority: SourcePriority, levels: SourceTags, intern?: (s: string) => string): SourceEntry {
    const { low, orchestrator, high } = levels;
    const total = low.length + orchestrator.length + high.length;
    const standard = levels.standard.length === 0 ? EMPTY : dedupe(copy(levels.standard, intern));
    if (total === 0) return new SourceEntry(source, priority, EMPTY, 0, 0, standard);
    let tags = new Array<string>(total);
    let k = 0;
    for (const tag of low) tags[k++] = intern ? intern(tag) : tag;
    for (const tag of orchestrator) tags[k++] = intern ? intern(tag) : tag;
    for (const tag of high) tags[k++] = tag;
    let lowEnd = low.length;
    let orchestratorEnd = lowEnd + orchestrator.length;
    if (hasDuplicates(tags)) {
      const seen = new Set<string>();
      const out: string[] = [];
      for (let i = 0; i < tags.length; i++) {
        const tag = tags[i] as string;
        if (!seen.has(tag) && seen.add(tag)) out.push(tag);
        if (i === low.length - 1) lowEnd = out.length;
        if (i === low.length + orchestrator.length - 1) orchestratorEnd = out.length;
      }
      if (low.length === 0) lowEnd = 0;
      if (orchestrator.length === 0) orchestratorEnd = lowEnd;
      tags = out.slice();
    }
    return new SourceEntry(source, priority, Object.freeze(tags), lowEnd, orchestratorEnd, standard);
  }

  get low(): readonly string[] {
    return copyRange(this.tags, 0, this.lowEnd);
  }
  get orchestrator(): readonly string[] {
    return copyRange(this.tags, this.lowEnd, this.orchestratorEnd);
  }
  get high(): readonly string[] {
    return copyRange(this.tags, this.orchestratorEnd, this.tags.length);
  }
  /** Every tag at every level, without copying. */
  get all(): readonly string[] {
    return this.tags;
  }

  /** True when `other` holds exactly these tags, level by level, in the same order. */
  sameAs(other: SourceTags): boolean {
    const { low, orchestrator, high } = other;
    if (low.length !== this.lowEnd || orchestrator.length !== this.orchestratorEnd - this.lowEnd || high.length !== this.tags.length - this.orchestratorEnd) return false;
    let i = 0;
    for (const list of [low, orchestrator, high]) for (const tag of list) if (tag !== this.tags[i++]) return false;
    return sameList(this.standard, other.standard);
  }
}

/** The merged tags of an entity: `all` holds low, orchestrator, high in that order. */
export class Merged {
  private lowView: readonly string[] | undefined;
  private orchestratorView: readonly string[] | undefined;

  constructor(
    public all: readonly string[],
    public lowEnd: number,
    public orchestratorEnd: number,
    public standard: readonly string[],
  ) {}

  /** Takes another Merged's lists (an entity record keeps its merged tags in its own fields). */
  protected assign(other: Merged): void {
    this.all = other.all;
    this.lowEnd = other.lowEnd;
    this.orchestratorEnd = other.orchestratorEnd;
    this.standard = other.standard;
    this.lowView = undefined;
    this.orchestratorView = undefined;
  }

  /** A detached copy of the current lists, for comparing before and after a change. */
  copy(): Merged {
    return new Merged(this.all, this.lowEnd, this.orchestratorEnd, this.standard);
  }

  /** Tags at `cardinality` and below; the same frozen array on every call until the next change. */
  upTo(cardinality: Cardinality): readonly string[] {
    if (cardinality === 'high') return this.all;
    if (cardinality === 'low') {
      if (this.lowEnd === this.all.length) return this.all;
      return (this.lowView ??= Object.freeze(copyRange(this.all, 0, this.lowEnd).slice()));
    }
    if (this.orchestratorEnd === this.all.length) return this.all;
    return (this.orchestratorView ??= Object.freeze(copyRange(this.all, 0, this.orchestratorEnd).slice()));
  }

  /** Level-by-level lists (each level alone), for events and dumps. Allocates. */
  split(upTo: Cardinality = 'high'): MergedTags {
    const orch = upTo !== 'low';
    const high = upTo === 'high';
    return {
      low: copyRange(this.all, 0, this.lowEnd),
      orchestrator: orch ? copyRange(this.all, this.lowEnd, this.orchestratorEnd) : [],
      high: high ? copyRange(this.all, this.orchestratorEnd, this.all.length) : [],
      standard: copyRange(this.standard, 0, this.standard.length),
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
  const first = sources[0] as SourceEntry;
  // One source: its own duplicate-free array is the merged view (no copy).
  if (sources.length === 1) return new Merged(first.all, first.lowEnd, first.orchestratorEnd, first.standard);

  // Priority resolution is needed only when the sources' priorities differ.
  let best: Map<string, number> | undefined;
  if (sources.some((s) => s.priority !== first.priority)) {
    best = new Map();
    for (const s of sources) {
      for (const list of [s.all, s.standard]) {
        for (const tag of list) {
          const name = tagName(tag);
          const prev = best.get(name);
          if (prev === undefined || s.priority > prev) best.set(name, s.priority);
        }
      }
    }
  }
  const kept = (s: SourceEntry, tag: string): boolean => best === undefined || best.get(tagName(tag)) === s.priority;

  const seen = new Set<string>();
  const all: string[] = [];
  let lowEnd = 0;
  let orchestratorEnd = 0;
  for (let level = 0; level < 3; level++) {
    for (const s of sources) {
      const tags = s.all;
      const start = level === 0 ? 0 : level === 1 ? s.lowEnd : s.orchestratorEnd;
      const end = level === 0 ? s.lowEnd : level === 1 ? s.orchestratorEnd : tags.length;
      for (let i = start; i < end; i++) {
        const tag = tags[i] as string;
        if (!seen.has(tag) && kept(s, tag)) {
          seen.add(tag);
          all.push(tag);
        }
      }
    }
    if (level === 0) lowEnd = all.length;
    if (level === 1) orchestratorEnd = all.length;
  }

  const standards = sources.filter((s) => s.standard.length > 0);
  let standard: readonly string[] = EMPTY;
  if (standards.length === 1 && (standards[0] as SourceEntry).standard.every((t) => kept(standards[0] as SourceEntry, t))) {
    // Usually one source gives standard tags: share its frozen list rather than copy it.
    standard = (standards[0] as SourceEntry).standard;
  } else if (standards.length > 0) {
    standard = Object.freeze([...new Set(standards.flatMap((s) => s.standard.filter((t) => kept(s, t))))]);
  }
  // slice() drops the spare capacity push() leaves behind: this array lives as long as the entity.
  return new Merged(all.length === 0 ? EMPTY : Object.freeze(all.slice()), lowEnd, orchestratorEnd, standard);
}

/**
 * `list[start..end)` as a new array, by a loop: the store's arrays are frozen, V8's `slice()` has
 * no fast path for frozen elements, and every stream snapshot copies ranges (figures in
 * docs/http-api.md). Built with push() so the array stays packed (`new Array(n)` makes a holey
 * one, which JSON.stringify serializes more slowly); short-lived arrays only, it may carry spare
 * capacity.
 */
function copyRange(list: readonly string[], start: number, end: number): string[] {
  const out: string[] = [];
  for (let i = start; i < end; i++) out.push(list[i] as string);
  return out;
}

function copy(list: readonly string[], intern: ((s: string) => string) | undefined): readonly string[] {
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = intern ? intern(list[i] as string) : (list[i] as string);
  return Object.freeze(out);
}

/** Pairwise for short lists (no allocation), a Set for long ones. */
function hasDuplicates(list: readonly string[]): boolean {
  if (list.length > 24) return new Set(list).size !== list.length;
  for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) if (list[i] === list[j]) return true;
  return false;
}

function dedupe(list: readonly string[]): readonly string[] {
  if (list.length === 0) return EMPTY;
  return hasDuplicates(list) ? Object.freeze([...new Set(list)]) : list;
}

/**
 * The store's record of one entity. It is its own merged view (extends Merged) rather than
 * pointing to one: one object header less per entity.
 */
export class EntityRecord extends Merged {
  /** Few sources per entity (1 to 4): an array beats a Map in memory and speed. */
  sources: SourceEntry[] = [];
  /** source -> time after which the entity is removed; set while a delete is pending. */
  deletes: Map<string, number> | undefined;

  constructor(readonly id: EntityId) {
    super(EMPTY, 0, 0, EMPTY);
  }

  setMerged(merged: Merged): void {
    this.assign(merged);
  }

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

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

