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

/** A node name as Kubernetes allows it (a DNS-1123 subdomain, at most 253 characters). */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The stream's `node` filter: undefined when absent; a valid node name otherwise. */
export function parseNodeParam(params: URLSearchParams): string | undefined {
  const raw = single(params, 'node');
  if (raw === undefined) return undefined;
  if (raw.length === 0 || raw.length > 253 || !NODE_NAME.test(raw)) throw new BadRequestError('node must be a Kubernetes node name (lowercase letters, digits, - and ., at most 253)');
  return raw;
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
 * Encodings of recently sent entity versions (see eventVersion), by version: a change is encoded
 * once for all its subscribers (fan-out to 50 streams: half the daemon's CPU), and a snapshot sent
 * soon after another reuses the first one's work (10k entities: ~20 ms). Kept for one to two
 * periods after their last use: for ever, they would add their wire size (~440 bytes for 9 tags)
 * to every entity of a daemon that once served a stream. Weak: an entry also goes with its version.
 */
export class RecentEncodings {
  private current = new WeakMap<object, string>();
  private previous = new WeakMap<object, string>();
  private turnedAt: number;

  constructor(
    private readonly periodMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.turnedAt = now();
  }

  get(version: object): string | undefined {
    let json = this.current.get(version);
    if (json === undefined) {
      json = this.previous.get(version);
      if (json !== undefined) this.current.set(version, json);
    }
    return json;
  }

  set(version: object, json: string): void {
    this.current.set(version, json);
  }

  /** Forgets everything. */
  clear(): void {
    this.current = new WeakMap();
    this.previous = new WeakMap();
  }

  /** Forgets what was not used for a whole period; call before a round of encoding. */
  turn(): void {
    const now = this.now();
    if (now - this.turnedAt < this.periodMs) return;
    this.previous = now - this.turnedAt < 2 * this.periodMs ? this.current : new WeakMap();
    this.current = new WeakMap();
    this.turnedAt = now;
  }
}

/** The encodings cache, one per cardinality (an event's tags depend on its subscriber's). */
const recentEncodings: Readonly<Record<Cardinality, RecentEncodings>> = { low: new RecentEncodings(), orchestrator: new RecentEncodings(), high: new RecentEncodings() };

/** Forgets every cached encoding: the next snapshot encodes from scratch (benchmarks measure it). */
export function clearRecentEncodings(): void {
  for (const cache of Object.values(recentEncodings)) cache.clear();
}

export interface EncodeOptions {
  /** Chunks of about this size (a single larger line is its own chunk). Default 64 KiB. */
  readonly maxBytes?: number;
  /** The cardinality the events were made for (their subscription's): enables the cache. */
  readonly cardinality?: Cardinality;
}

/** One event as one NDJSON line (with its newline). Deletes carry only the ID. */
export function encodeEvent(event: EntityEvent, options: EncodeOptions = {}): string {
  const parts: string[] = [];
  pushEvent(parts, event, options.cardinality === undefined ? undefined : recentEncodings[options.cardinality]);
  return parts.join('');
}

/**
 * Appends an event's line to `parts` (for one join() per chunk) and returns its length. Strings
 * built with `+` are trees of cons cells that V8 flattens only when they are written: with 10k
 * lines of 40 pieces each, the cells cost more (GC, then flattening) than the encoding itself.
 * join() and JSON.stringify give flat strings, which is also what the cache keeps.
 */
function pushEvent(parts: string[], event: EntityEvent, cache: RecentEncodings | undefined): number {
  const entity = event.entity;
  let json: string | undefined;
  if (event.type === 'deleted') {
    json = JSON.stringify({ id: entity.id });
  } else {
    const version = cache && eventVersion(entity as EventEntity);
    json = version && cache.get(version);
    if (json === undefined) {
      const t = (entity as EventEntity).tags;
      // Fresh objects of fixed shape: no stray field of the store's objects can reach the wire.
      json = JSON.stringify({ id: entity.id, tags: { low: t.low, orchestrator: t.orchestrator, high: t.high, standard: t.standard } });
      if (version) cache.set(version, json);
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

/** Events as NDJSON text in chunks of about `maxBytes`. */
export function encodeChunks(batches: Iterable<readonly EntityEvent[]>, options: EncodeOptions = {}): string[] {
  return [...iterateChunks(batches, options)];
}

/** As encodeChunks, lazily: a writer waiting on backpressure holds one chunk, not the whole store. */
export function* iterateChunks(batches: Iterable<readonly EntityEvent[]>, options: EncodeOptions = {}): Generator<string> {
  const maxBytes = options.maxBytes ?? SNAPSHOT_CHUNK_BYTES;
  const cache = options.cardinality === undefined ? undefined : recentEncodings[options.cardinality];
  cache?.turn();
  let parts: string[] = [];
  let size = 0;
  for (const batch of batches) {
    for (const event of batch) {
      const before = parts.length;
      const lineSize = pushEvent(parts, event, cache);
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

/** An added/modified line with its tags left encoded: a replica decodes them on first use. */
export interface EncodedEntityMessage {
  readonly type: 'added' | 'modified';
  readonly id: EntityId;
  /** The `tags` object's JSON, unparsed (decodeEncodedTags reads it). */
  readonly encodedTags: string;
}

const ADDED_ID = `${ADDED_HEAD}{"id":"`;
const MODIFIED_ID = `${MODIFIED_HEAD}{"id":"`;
const TAGS_KEY = ',"tags":';

/**
 * Splits a line laid out as encodeEvent writes it (`{"type":"added","entity":{"id":"...","tags":
 * {...}}}`) into its ID and its tags' JSON, without parsing the tags. Any other line (another
 * layout, an escaped ID) gives undefined and takes decodeStreamLine. The tags are checked when they
 * are decoded, so a bad one costs that entity, not the stream.
 */
export function splitEntityLine(line: string): EncodedEntityMessage | undefined {
  let type: 'added' | 'modified';
  let start: number;
  if (line.startsWith(ADDED_ID)) {
    type = 'added';
    start = ADDED_ID.length;
  } else if (line.startsWith(MODIFIED_ID)) {
    type = 'modified';
    start = MODIFIED_ID.length;
  } else {
    return undefined;
  }
  const idEnd = line.indexOf('"', start);
  if (idEnd <= start || !line.startsWith(TAGS_KEY, idEnd + 1) || !line.endsWith('}}')) return undefined;
  const id = line.slice(start, idEnd);
  if (id.includes('\\')) return undefined;
  return { type, id, encodedTags: line.slice(idEnd + 1 + TAGS_KEY.length, line.length - 2) };
}

/** The tags of an EncodedEntityMessage; throws when they are not four lists of strings. */
export function decodeEncodedTags(encoded: string): MergedTags {
  return decodeTags(JSON.parse(encoded));
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
  return { id: e.id, tags: decodeTags(e.tags) };
}

function decodeTags(raw: unknown): MergedTags {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('tags must be an object of lists');
  const t = raw as Record<string, unknown>;
  return { low: tagList(t.low), orchestrator: tagList(t.orchestrator), high: tagList(t.high), standard: tagList(t.standard) };
}

function tagList(raw: unknown): readonly string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string')) throw new Error('tags must be lists of strings');
  return raw as string[];
}
