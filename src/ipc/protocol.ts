/**
 * The IPC wire format, pure: query validation for every route, the JSON bodies the server sends,
 * and the NDJSON lines of /v1/stream. Server, client and remote replica share it, so a field is
 * spelled in one place. No I/O here.
 */
import { CONTAINER_PREFIX, ECS_TASK_PREFIX, INTERNAL_PREFIX, POD_PREFIX, parseCardinality, parseEntityId, type ParsedEntity } from '../entity.js';
import { InvalidCardinalityError, InvalidEntityError, TaggerError } from '../errors.js';
import { eventVersion } from '../store/tag-store.js';
import type { Cardinality, EntityEvent, EntityId, EntitySnapshot, EventEntity, MergedTags, SourceTags } from '../types.js';

/** A request the client got wrong: answered 400 with the message. */
export class BadRequestError extends TaggerError {
  constructor(message: string) {
    super('TAGGER_INVALID_ENTITY', message);
  }
}

export const MAX_PREFIXES = 16;
export const MAX_PREFIX_LENGTH = 300;
/** Linux caps pid_max at 2^22. */
export const MAX_PID = 4_194_304;
/** A snapshot goes out in writes of about this size, so one write never holds the whole store. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

const KNOWN_PREFIXES = [CONTAINER_PREFIX, POD_PREFIX, ECS_TASK_PREFIX, INTERNAL_PREFIX];

/** The one value of a query parameter; a repeated one is an error (except `prefix`). */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new BadRequestError(`parameter ${name} given more than once`);
  return all[0];
}

export function requiredParam(params: URLSearchParams, name: string): string {
  const raw = single(params, name);
  if (raw === undefined || raw === '') throw new BadRequestError(`missing parameter ${name}`);
  return raw;
}

export function parseEntityParam(params: URLSearchParams): ParsedEntity {
  return parseEntityId(requiredParam(params, 'entity'));
}

/** `low` when absent; `low`, `orchestrator` (`orch`), `high` or 0, 1, 2 otherwise. */
export function parseCardinalityParam(params: URLSearchParams): Cardinality {
  const raw = single(params, 'cardinality');
  if (raw === undefined || raw === '') return 'low';
  return parseCardinality(/^[012]$/.test(raw) ? Number(raw) : raw);
}

/** Each `prefix` must be a known entity kind's prefix, optionally followed by the start of an ID. */
export function parsePrefixParams(params: URLSearchParams): string[] {
  const prefixes = params.getAll('prefix');
  if (prefixes.length > MAX_PREFIXES) throw new BadRequestError(`at most ${MAX_PREFIXES} prefix parameters`);
  for (const p of prefixes) {
    if (p.length === 0 || p.length > MAX_PREFIX_LENGTH) throw new BadRequestError('prefix must be 1 to 300 characters');
    if (!KNOWN_PREFIXES.some((k) => p.startsWith(k) || k.startsWith(p))) {
      throw new BadRequestError(`prefix ${JSON.stringify(p.slice(0, 60))} matches no entity kind (${KNOWN_PREFIXES.join(', ')})`);
    }
  }
  return prefixes;
}

export function parsePidParam(params: URLSearchParams): number {
  const raw = requiredParam(params, 'pid');
  if (!/^[1-9]\d{0,6}$/.test(raw) || Number(raw) > MAX_PID) throw new BadRequestError(`pid must be a whole number from 1 to ${MAX_PID}`);
  return Number(raw);
}

/** The status and JSON body of an error; a request error is 400, anything else 500 without detail. */
export function errorResponse(error: unknown): { status: number; body: { error: string } } {
  if (error instanceof BadRequestError || error instanceof InvalidEntityError || error instanceof InvalidCardinalityError) {
    return { status: 400, body: { error: error.message } };
  }
  return { status: 500, body: { error: 'internal error' } };
}

// ---- bodies ----

export interface TagsBody {
  readonly entity: EntityId;
  readonly cardinality: Cardinality;
  readonly tags: readonly string[];
}

export interface EntityBody {
  readonly id: EntityId;
  readonly sources: Readonly<Record<string, SourceTags>>;
  readonly tags: { readonly low: readonly string[]; readonly orchestrator: readonly string[]; readonly high: readonly string[] };
}

export interface EntitiesBody {
  readonly entities: readonly EntityBody[];
}

export interface OriginBody {
  readonly pid: number;
  readonly container_id: string | null;
  readonly entity: EntityId | null;
  readonly tags: readonly string[];
}

export function entityBody(e: EntitySnapshot): EntityBody {
  const sources: Record<string, SourceTags> = {};
  for (const [name, s] of Object.entries(e.sources)) sources[name] = { low: s.low, orchestrator: s.orchestrator, high: s.high, standard: s.standard };
  return { id: e.id, sources, tags: { low: e.tags.low, orchestrator: e.tags.orchestrator, high: e.tags.high } };
}

export function entitiesBody(list: readonly EntitySnapshot[]): EntitiesBody {
  return { entities: [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(entityBody) };
}

// ---- stream ----

export type StreamMessage = EntityEvent | { readonly type: 'synced' } | { readonly type: 'heartbeat' };

export const SYNCED_LINE = '{"type":"synced"}\n';
export const HEARTBEAT_LINE = '{"type":"heartbeat"}\n';

/**
 * The encoded entity (`{"id":...,"tags":{...}}`) of each entity version (see eventVersion), one
 * map per cardinality. Weak: an entry goes with the version it encodes. So every subscriber, and
 * every later snapshot, reuses an entity's encoding until its tags change; encoding was most of a
 * daemon's cost per sync.
 */
const encodedEntities: Readonly<Record<Cardinality, WeakMap<object, string>>> = { low: new WeakMap(), orchestrator: new WeakMap(), high: new WeakMap() };

/**
 * One event as one NDJSON line (with its newline). Deletes carry only the ID. `cardinality` is
 * the one the event was made for (its subscription's): given, the entity's encoding is cached.
 */
export function encodeEvent(event: EntityEvent, cardinality?: Cardinality): string {
  const parts: string[] = [];
  pushEvent(parts, event, cardinality);
  return parts.join('');
}

/**
 * Appends an event's line to `parts` (for one join() per chunk) and returns its length. Strings
 * built with `+` are trees of cons cells that V8 flattens only when they are written: with 10k
 * lines of 40 pieces each, the cells cost more (GC, then flattening) than the encoding itself.
 * join() and JSON.stringify give flat strings, which is also what the cache keeps.
 */
function pushEvent(parts: string[], event: EntityEvent, cardinality: Cardinality | undefined): number {
  const entity = event.entity;
  let json: string | undefined;
  if (event.type === 'deleted') {
    json = JSON.stringify({ id: entity.id });
  } else {
    const version = eventVersion(entity as EventEntity);
    const cache = cardinality !== undefined && version !== undefined ? encodedEntities[cardinality] : undefined;
    json = cache?.get(version as object);
    if (json === undefined) {
      const t = (entity as EventEntity).tags;
      // Fresh objects of fixed shape: no stray field of the store's objects can reach the wire.
      json = JSON.stringify({ id: entity.id, tags: { low: t.low, orchestrator: t.orchestrator, high: t.high, standard: t.standard } });
      cache?.set(version as object, json);
    }
  }
  const head = event.type === 'added' ? ADDED_HEAD : event.type === 'modified' ? MODIFIED_HEAD : DELETED_HEAD;
  parts.push(head, json, LINE_TAIL);
  return head.length + json.length + LINE_TAIL.length;
}

const ADDED_HEAD = '{"type":"added","entity":';
const MODIFIED_HEAD = '{"type":"modified","entity":';
const DELETED_HEAD = '{"type":"deleted","entity":';
const LINE_TAIL = '}\n';

/** Events as NDJSON text in chunks of about `maxBytes` (a single larger line is its own chunk). */
export function encodeChunks(batches: Iterable<readonly EntityEvent[]>, maxBytes = SNAPSHOT_CHUNK_BYTES, cardinality?: Cardinality): string[] {
  return [...iterateChunks(batches, maxBytes, cardinality)];
}

/** As encodeChunks, lazily: a writer waiting on backpressure holds one chunk, not the whole store. */
export function* iterateChunks(batches: Iterable<readonly EntityEvent[]>, maxBytes = SNAPSHOT_CHUNK_BYTES, cardinality?: Cardinality): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const batch of batches) {
    for (const event of batch) {
      const before = parts.length;
      const lineSize = pushEvent(parts, event, cardinality);
      if (size > 0 && size + lineSize > maxBytes) {
        const line = parts.splice(before);
        yield parts.join('');
        parts = line;
        size = 0;
      }
      size += lineSize;
    }
  }
  if (size > 0) yield parts.join('');
}

/** Parses one stream line; throws on anything that is not a well-formed message. */
export function decodeStreamLine(line: string): StreamMessage {
  const value: unknown = JSON.parse(line);
  if (value === null || typeof value !== 'object') throw new Error('stream line is not an object');
  const msg = value as { type?: unknown; entity?: unknown };
  switch (msg.type) {
    case 'synced':
    case 'heartbeat':
      return { type: msg.type };
    case 'deleted': {
      const id = (msg.entity as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string' || id === '') throw new Error('deleted event without entity.id');
      return { type: 'deleted', entity: { id } };
    }
    case 'added':
    case 'modified':
      return { type: msg.type, entity: decodeEventEntity(msg.entity) };
    default:
      throw new Error(`unknown stream message type ${JSON.stringify(msg.type)}`);
  }
}

function decodeEventEntity(raw: unknown): EventEntity {
  const e = raw as { id?: unknown; tags?: Record<string, unknown> } | undefined;
  if (!e || typeof e.id !== 'string' || e.id === '' || !e.tags || typeof e.tags !== 'object') throw new Error('event without entity.id and entity.tags');
  const tags: MergedTags = { low: tagList(e.tags.low), orchestrator: tagList(e.tags.orchestrator), high: tagList(e.tags.high), standard: tagList(e.tags.standard) };
  return { id: e.id, tags };
}

function tagList(raw: unknown): readonly string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string')) throw new Error('tags must be lists of strings');
  return raw as string[];
}
