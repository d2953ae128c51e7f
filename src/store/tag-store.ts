/**
 * TagStore: every entity's tags, per source, merged for queries.
 *
 * Semantics (after the Datadog Agent's tagstore):
 * - A TagInfo replaces everything its source said about the entity; other sources are untouched.
 * - A delete from source S marks the entity; it stays queryable until the first prune after the
 *   deletion grace, then goes entirely. Adds from other sources meanwhile do not cancel the delete
 *   ("delete eventually wins"); an add from S itself does (a restarted container).
 * - A removed entity leaves a tombstone for a while: adds from other sources are dropped and counted,
 *   so a lagging source cannot resurrect it; an add from a deleting source revives it.
 * - Tags sent with their own delete in one batch (an exited container's inspect) are no evidence
 *   of life: they never lift a tombstone nor cancel a pending delete (docs/store.md, point 6).
 */
import { systemClock, type Clock } from '../clock.js';
import { entityKindOf } from '../entity.js';
import { priorityOf, type Cardinality, type EntityEvent, type EntityId, type EntitySnapshot, type SourceTags, type TagInfo } from '../types.js';
import { EntityRecord, EMPTY_MERGED, mergeSources, SourceEntry, type Merged } from './entity-tags.js';
import { DeferredEntries, type DeferredDecoding } from './deferred.js';
import { InternPool } from './intern.js';
import { ShortIdIndex } from './short-ids.js';
import { Subscription, type SubscribeOptions } from './subscriptions.js';

export interface TagStoreOptions {
  readonly clock?: Clock;
  /** How long a deleted entity stays queryable. Default 5 minutes. */
  readonly deletionGraceMs?: number;
  /** How long a removed entity's tombstone blocks other sources. Default 10 minutes. */
  readonly tombstoneTtlMs?: number;
  /** Share tag strings between entities. Default true (off only to measure what it saves). */
  readonly intern?: boolean;
  /** Enables defer(): how entries kept encoded are decoded on first use, and their source. */
  readonly deferred?: DeferredDecoding;
}

export interface StoreCounters {
  updates: number;
  unchangedUpdates: number;
  deletesRequested: number;
  deletesCancelled: number;
  entitiesPruned: number;
  tombstoneDrops: number;
  malformed: number;
  subscriberDrops: number;
}

export interface Tombstone {
  readonly sources: ReadonlySet<string>;
  readonly removedAt: number;
  readonly expiresAt: number;
}

interface Change {
  readonly record: EntityRecord;
  /** The merged lists before the change; undefined for a new entity or with no subscribers. */
  readonly before: Merged | undefined;
  readonly isNew: boolean;
}

export class TagStore {
  private readonly clock: Clock;
  readonly deletionGraceMs: number;
  readonly tombstoneTtlMs: number;
  private readonly entities = new Map<EntityId, EntityRecord>();
  /** 12-hex prefix -> full container IDs; built on the first short-ID query, then kept up to date. */
  private shortIds: ShortIdIndex | undefined;
  private readonly pendingDeletes = new Set<EntityRecord>();
  private readonly tombstones = new Map<EntityId, Tombstone>();
  private readonly subscribers = new Set<Subscription>();
  private readonly pool: InternPool | undefined;
  /**
   * Entities not decoded yet (defer()). An ID is never both there and in `entities`, and entries
   * exist only while there are no subscribers (they would need events).
   */
  private readonly deferred: DeferredEntries;
  private readonly internFn: ((tag: string) => string) | undefined;
  readonly counters: StoreCounters = {
    updates: 0,
    unchangedUpdates: 0,
    deletesRequested: 0,
    deletesCancelled: 0,
    entitiesPruned: 0,
    tombstoneDrops: 0,
    malformed: 0,
    subscriberDrops: 0,
  };
  /** Called for each TagInfo the store refuses, with the reason (for logs). */
  onMalformed: ((info: unknown, reason: string) => void) | undefined;

  constructor(options: TagStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.deletionGraceMs = options.deletionGraceMs ?? 5 * 60_000;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? 10 * 60_000;
    this.pool = options.intern === false ? undefined : new InternPool();
    this.deferred = new DeferredEntries(options.deferred, (entry, reason) => {
      this.counters.malformed++;
      this.onMalformed?.(entry, reason);
    });
    const pool = this.pool;
    this.internFn = pool ? (tag) => pool.intern(tag) : undefined;
  }

  /** Applies a batch of updates; subscribers get one batch of events for it. */
  processTagInfo(infos: readonly TagInfo[], now = this.clock.now()): void {
    const changes: Change[] = [];
    const dead = deathsIn(infos);
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i] as TagInfo;
      const reason = invalidReason(info);
      if (reason) {
        this.counters.malformed++;
        this.onMalformed?.(info, reason);
        continue;
      }
      if (this.deferred.size > 0 && this.deferred.has(info.entity)) {
        // The deferred source's new tags replace its old ones, undecoded; anything else needs them.
        if (info.source === this.deferred.source && !info.deleteEntity) this.deferred.delete(info.entity);
        else this.materialize(info.entity);
      }
      if (info.deleteEntity) this.markDeleted(info, now);
      else this.applyAdd(info, changes, dead !== undefined && (dead.get(deathKey(info)) ?? -1) > i);
    }
    if (changes.length > 0 && this.subscribers.size > 0) this.notify(changes);
  }

  /**
   * Records an entity of the deferred source with its tags still encoded: they are decoded on the
   * entity's first use, as if processTagInfo() had been given them now. Decoded at once instead
   * when the store has subscribers (they need events), already holds the entity decoded, or keeps
   * a tombstone for it. An entry that turns out malformed is counted and dropped when decoded.
   */
  defer(id: EntityId, encoded: string): void {
    if (this.deferred.source === undefined) throw new Error('defer() needs the store to be created with the deferred option');
    // (The size checks spare a replica's first sync, into an empty store, two lookups per entity.)
    const decodeNow =
      this.subscribers.size > 0 || (this.entities.size > 0 && this.entities.has(id)) || (this.tombstones.size > 0 && this.tombstones.has(id)) || entityKindOf(id) === undefined;
    if (decodeNow) {
      this.processTagInfo(this.deferred.decode(id, encoded));
      return;
    }
    this.shortIds?.add(id);
    this.deferred.set(id, encoded);
  }

  /** The merged tags up to `cardinality`, or undefined for an unknown entity. Allocates nothing. */
  lookup(id: EntityId, cardinality: Cardinality): readonly string[] | undefined {
    return this.record(id)?.upTo(cardinality);
  }

  standard(id: EntityId): readonly string[] | undefined {
    return this.record(id)?.standard;
  }

  has(id: EntityId): boolean {
    return this.entities.has(id) || this.deferred.has(id);
  }

  hasSource(id: EntityId, source: string): boolean {
    return this.record(id)?.source(source) !== undefined;
  }

  /** The full container ID for a 12-hex short one, if the store knows exactly one. */
  resolveShortId(short: string): EntityId | undefined {
    if (!this.shortIds) {
      // Most clients query full IDs: the index costs memory only once someone uses short ones.
      this.shortIds = new ShortIdIndex();
      for (const id of this.ids()) this.shortIds.add(id);
    }
    return this.shortIds.resolve(short);
  }

  tombstone(id: EntityId): Tombstone | undefined {
    return this.tombstones.get(id);
  }

  getEntity(id: EntityId): EntitySnapshot | undefined {
    const record = this.record(id);
    return record && snapshotOf(record);
  }

  /** Every entity ID, without building snapshots (nor decoding deferred entries). */
  *ids(): Generator<EntityId> {
    yield* this.entities.keys();
    yield* this.deferred.keys();
  }

  list(): EntitySnapshot[] {
    this.materializeAll();
    return [...this.entities.values()].map(snapshotOf);
  }

  get size(): number {
    return this.entities.size + this.deferred.size;
  }

  /** Entities still encoded (see defer()). */
  get deferredCount(): number {
    return this.deferred.size;
  }

  /** Distinct tag strings held (when interning). */
  get distinctTags(): number {
    return this.pool?.size ?? 0;
  }

  get pendingDeleteCount(): number {
    return this.pendingDeletes.size;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Entities by (source, kind), for metrics. O(entities): for scrapes, not the hot path. */
  countBySourceAndKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const record of this.entities.values()) {
      const kind = entityKindOf(record.id) ?? 'unknown';
      for (const s of record.sources) {
        const key = `${s.source}\u0000${kind}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    for (const id of this.deferred.keys()) {
      const key = `${this.deferred.source ?? ''}\u0000${entityKindOf(id) ?? 'unknown'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Removes entities whose grace has passed and expires old tombstones. Returns how many
   * entities were removed. Subscribers get one batch of `deleted` events.
   */
  prune(now = this.clock.now()): number {
    const removed: EntityEvent[] = [];
    for (const record of this.pendingDeletes) {
      const after = record.removeAfter();
      if (after === undefined || after > now) continue;
      this.tombstones.set(record.id, {
        sources: new Set(record.deletes?.keys()),
        removedAt: now,
        expiresAt: now + this.tombstoneTtlMs,
      });
      this.removeRecord(record);
      removed.push({ type: 'deleted', entity: { id: record.id } });
    }
    for (const [id, tomb] of this.tombstones) if (tomb.expiresAt <= now) this.tombstones.delete(id);
    if (this.pool?.wantsSweep()) this.compact();
    this.counters.entitiesPruned += removed.length;
    if (removed.length > 0) this.deliverToAll((s) => removed.filter((e) => s.matches(e.entity.id)));
    return removed.length;
  }

  /** Drops pooled tag strings no entity uses any more (prune does it when the pool has doubled). */
  compact(): void {
    this.pool?.sweep((keep) => {
      for (const record of this.entities.values()) {
        for (const s of record.sources) {
          for (const tag of s.all) keep(tag);
          for (const tag of s.standard) keep(tag);
        }
      }
    });
  }

  /** Removes an entity at once, without grace or tombstone (replicas mirroring a daemon). */
  remove(id: EntityId): boolean {
    if (this.deferred.delete(id)) {
      // No subscribers while entries are deferred: nobody to tell.
      this.shortIds?.remove(id);
      return true;
    }
    const record = this.entities.get(id);
    if (!record) return false;
    this.removeRecord(record);
    this.deliverToAll((s) => (s.matches(id) ? [{ type: 'deleted', entity: { id } }] : []));
    return true;
  }

  /**
   * Subscribes to changes at a cardinality. The first batch is the snapshot of matching
   * entities as `added` events (none when the store is empty).
   */
  subscribe(options: SubscribeOptions): Subscription {
    // Subscribers need an event for every change: nothing may stay deferred from now on.
    this.materializeAll();
    const sub = new Subscription(options, (s) => {
      if (this.subscribers.delete(s) && s.reason !== 'closed') this.counters.subscriberDrops++;
    });
    this.subscribers.add(sub);
    if (options.snapshot !== false) sub.deliver([...this.snapshotBatches(sub, Infinity)].flat(), true);
    return sub;
  }

  /**
   * The entities `sub` matches as `added` events, `size` per batch, each batch made from the store
   * as it is when the batch is taken. For a subscriber that sends its snapshot slowly (the IPC
   * stream, subscribed with `snapshot: false`): it holds one batch at a time rather than an event
   * per entity for the whole send, which would live through every scavenge of the sync. The
   * result still converges: an entity changed, added or removed after the subscription began also
   * reaches the subscriber as a live event, and each event carries full tags, so a batch fresher
   * than the subscription start is harmless.
   */
  *snapshotBatches(sub: Subscription, size = 256): Generator<EntityEvent[]> {
    let batch: EntityEvent[] = [];
    // A Map iterator survives changes: removed entries are skipped, added ones visited.
    for (const record of this.entities.values()) {
      if (!sub.matches(record.id)) continue;
      batch.push(changeEvent('added', record, sub.cardinality));
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The decoded record of `id`, decoding a deferred entry first. */
  private record(id: EntityId): EntityRecord | undefined {
    return this.entities.get(id) ?? (this.deferred.size > 0 ? this.materialize(id) : undefined);
  }

  /** Decodes the deferred entry of `id` into a record (undefined when there is none or it is malformed). */
  private materialize(id: EntityId): EntityRecord | undefined {
    const infos = this.deferred.take(id);
    if (infos === undefined) return undefined;
    this.processTagInfo(infos);
    return this.entities.get(id);
  }

  private materializeAll(): void {
    for (const id of [...this.deferred.keys()]) this.materialize(id);
  }

  /** `dead`: the batch deletes the entity after this add (a dead report, see deathsIn). */
  private applyAdd(info: TagInfo, changes: Change[], dead: boolean): void {
    const tomb = this.tombstones.get(info.entity);
    if (tomb) {
      if (dead || !tomb.sources.has(info.source)) {
        this.counters.tombstoneDrops++;
        return;
      }
      this.tombstones.delete(info.entity);
    }
    let record = this.entities.get(info.entity);
    const isNew = record === undefined;
    if (!record) {
      record = new EntityRecord(info.entity);
      this.entities.set(info.entity, record);
      this.shortIds?.add(info.entity);
    }
    if (!dead && record.deletes?.delete(info.source)) {
      this.counters.deletesCancelled++;
      if (record.deletes.size === 0) {
        record.deletes = undefined;
        this.pendingDeletes.delete(record);
      }
    }
    const priority = priorityOf(info);
    const previous = record.source(info.source);
    if (previous && previous.priority === priority && previous.sameAs(info)) {
      this.counters.unchangedUpdates++;
      return;
    }
    this.counters.updates++;
    const entry = SourceEntry.of(info.source, priority, info, this.internFn);
    if (previous) {
      record.sources[record.sources.indexOf(previous)] = entry;
    } else {
      record.sources.push(entry);
    }
    // The old lists are only needed to tell subscribers what changed.
    const before = isNew || this.subscribers.size === 0 ? undefined : record.copy();
    record.setMerged(mergeSources(record.sources));
    changes.push({ record, before, isNew });
  }

  private markDeleted(info: TagInfo, now: number): void {
    const record = this.entities.get(info.entity);
    if (!record) return;
    this.counters.deletesRequested++;
    record.deletes ??= new Map();
    // A repeated delete from the same source keeps the first deadline: the grace counts from death.
    if (!record.deletes.has(info.source)) record.deletes.set(info.source, now + this.deletionGraceMs);
    this.pendingDeletes.add(record);
  }

  private removeRecord(record: EntityRecord): void {
    this.entities.delete(record.id);
    this.pendingDeletes.delete(record);
    this.shortIds?.remove(record.id);
    record.sources = [];
    record.setMerged(EMPTY_MERGED);
  }

  private notify(changes: readonly Change[]): void {
    this.deliverToAll((sub) => {
      const events: EntityEvent[] = [];
      for (const { record, before, isNew } of changes) {
        if (!sub.matches(record.id) || !this.entities.has(record.id)) continue;
        if (before && before.sameUpTo(record, sub.cardinality)) continue;
        events.push(changeEvent(isNew ? 'added' : 'modified', record, sub.cardinality));
      }
      return events;
    });
  }

  private deliverToAll(eventsFor: (sub: Subscription) => EntityEvent[]): void {
    for (const sub of [...this.subscribers]) {
      const events = eventsFor(sub);
      if (events.length > 0) sub.deliver(events);
    }
  }
}

function snapshotOf(record: EntityRecord): EntitySnapshot {
  const sources: Record<string, SourceTags> = {};
  for (const s of record.sources) sources[s.source] = { low: s.low, orchestrator: s.orchestrator, high: s.high, standard: s.standard };
  const removeAfter = record.removeAfter();
  return {
    id: record.id,
    sources,
    tags: record.split('high'),
    ...(removeAfter !== undefined && record.deletes ? { pendingDelete: { sources: [...record.deletes.keys()], removeAfter } } : {}),
  };
}

/**
 * An added/modified event for `record` at `cardinality`. Its version is the record's merged `all`
 * array, which is replaced on every change of the entity's tags (the shared empty array is no
 * version: two entities may hold it).
 */
function changeEvent(type: 'added' | 'modified', record: EntityRecord, cardinality: Cardinality): EntityEvent {
  const entity = { id: record.id, tags: record.split(cardinality) };
  return record.all.length === 0 ? { type, entity } : { type, entity, version: record.all };
}

/**
 * A source that sends an entity's tags and, later in the same batch, its delete reports a dead
 * entity (Docker's inspect of an exited container, containerd's stopped task): its tags may show
 * it through one grace, but they are no evidence of life, so they never lift a tombstone nor cancel
 * a pending delete. Returns, per source and entity, the index of the batch's last delete (undefined
 * for a batch without deletes: the common case costs one scan and no allocation).
 */
function deathsIn(infos: readonly TagInfo[]): Map<string, number> | undefined {
  let deaths: Map<string, number> | undefined;
  for (let i = 0; i < infos.length; i++) {
    const info = infos[i];
    if (info?.deleteEntity && typeof info.source === 'string') (deaths ??= new Map()).set(deathKey(info), i);
  }
  return deaths;
}

function deathKey(info: TagInfo): string {
  return `${info.source}\u0000${info.entity}`;
}

/** Why a TagInfo cannot be stored, or undefined when it is well-formed. */
function invalidReason(info: TagInfo): string | undefined {
  if (info === null || typeof info !== 'object') return 'not an object';
  if (typeof info.source !== 'string' || info.source === '') return 'missing source';
  if (typeof info.entity !== 'string' || entityKindOf(info.entity) === undefined) return 'bad entity ID';
  if (info.deleteEntity) return undefined;
  for (const key of ['low', 'orchestrator', 'high', 'standard'] as const) {
    const list: unknown = info[key];
    if (!Array.isArray(list)) return `${key} is not a list`;
    for (const tag of list) if (typeof tag !== 'string' || tag === '') return `${key} holds a non-tag`;
  }
  return undefined;
}
