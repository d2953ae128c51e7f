/**
 * The IPC wire format, pure: query validation for every route, the JSON bodies the server sends,
 * and the NDJSON lines of /v1/stream. Server, client and remote replica share it, so a field is
 * spelled in one place. No I/O here.
 */
import { CONTAINER_PREFIX, ECS_TASK_PREFIX, INTERNAL_PREFIX, POD_PREFIX, parseCardinality } from '../entity.js';
import { BadRequestError, InvalidCardinalityError, InvalidEntityError, InvalidOriginError } from '../errors.js';
import { LIBRARY_NAMES, QUERY_NAMES } from '../origin/parse.js';
import type { Origin, ParsedOrigin } from '../origin/types.js';
import type { Cardinality, EntityEvent, EntityId, EntitySnapshot, EventEntity, MergedTags, SourceTags } from '../types.js';

export const MAX_PREFIXES = 16;
export const MAX_PREFIX_LENGTH = 300;

const KNOWN_PREFIXES = [CONTAINER_PREFIX, POD_PREFIX, ECS_TASK_PREFIX, INTERNAL_PREFIX];

/** The one value of a query parameter; a repeated one is an error (except `prefix`). */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new BadRequestError(name, `parameter ${name} given more than once`);
  return all[0];
}

export function requiredParam(params: URLSearchParams, name: string): string {
  const raw = single(params, name);
  if (raw === undefined || raw === '') throw new BadRequestError(name, `missing parameter ${name}`);
  return raw;
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
  if (prefixes.length > MAX_PREFIXES) throw new BadRequestError('prefix', `at most ${MAX_PREFIXES} prefix parameters`);
  for (const p of prefixes) {
    if (p.length === 0 || p.length > MAX_PREFIX_LENGTH) throw new BadRequestError('prefix', 'prefix must be 1 to 300 characters');
    if (!KNOWN_PREFIXES.some((k) => p.startsWith(k) || k.startsWith(p))) {
      throw new BadRequestError('prefix', `prefix ${JSON.stringify(p.slice(0, 60))} matches no entity kind (${KNOWN_PREFIXES.join(', ')})`);
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
  if (raw.length === 0 || raw.length > 253 || !NODE_NAME.test(raw)) throw new BadRequestError('node', 'node must be a Kubernetes node name (lowercase letters, digits, - and ., at most 253)');
  return raw;
}

/** The status and JSON body of an error; a request error is 400, anything else 500 without detail. */
export function errorResponse(error: unknown): { status: number; body: { error: string; parameter?: string } } {
  if (error instanceof InvalidOriginError) return { status: 400, body: { error: error.message, parameter: error.parameter } };
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

/** The origin as the request gave it (one form), the canonical container ID or null, the entity or null, its tags. */
export interface OriginBody extends OriginEcho {
  readonly container_id: string | null;
  readonly entity: EntityId | null;
  readonly tags: readonly string[];
}

/** The request's origin, echoed: numbers as numbers, an IP in canonical form, external data as given. */
export interface OriginEcho {
  readonly pid?: number;
  readonly cgroup_inode?: number;
  readonly external_data?: string;
  readonly pod_uid?: string;
  readonly container_name?: string;
  readonly ip?: string;
}

/** The echo of a parsed `/v1/origin` query (a `container_id` is answered by the reply's own canonical field). */
export function originEcho(origin: ParsedOrigin, params: URLSearchParams): OriginEcho {
  switch (origin.kind) {
    case 'pid':
      return { pid: origin.pid };
    case 'cgroup_inode':
      return { cgroup_inode: origin.inode };
    case 'container_id':
      return {};
    case 'ip':
      return { ip: origin.ip };
    case 'pod_container': {
      const external = params.get(QUERY_NAMES.externalData);
      if (external !== null) return { external_data: external };
      return { pod_uid: origin.podUid, ...(origin.containerName !== undefined ? { container_name: origin.containerName } : {}) };
    }
  }
}

/** The `/v1/origin` query for a library origin (the client's side of parseOriginQuery). */
export function originQuery(origin: Origin): URLSearchParams {
  const params = new URLSearchParams();
  const fields = origin as Partial<Record<keyof typeof LIBRARY_NAMES, unknown>>;
  for (const key of Object.keys(LIBRARY_NAMES) as Array<keyof typeof LIBRARY_NAMES>) {
    const value = fields[key];
    if (value !== undefined && value !== null) params.set(QUERY_NAMES[key], String(value));
  }
  return params;
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

/** The head of an event's line: `{"type":...,"entity":`, followed by entityJson() and LINE_TAIL. */
export function lineHead(type: EntityEvent['type']): string {
  return type === 'added' ? ADDED_HEAD : type === 'modified' ? MODIFIED_HEAD : DELETED_HEAD;
}

export const LINE_TAIL = '}\n';

/** The JSON of an event's entity as a stream line carries it. Deletes carry only the ID. */
export function entityJson(event: EntityEvent): string {
  if (event.type === 'deleted') return JSON.stringify({ id: event.entity.id });
  const { id, tags: t } = event.entity;
  // Fresh objects of fixed shape: no stray field of the store's objects can reach the wire.
  return JSON.stringify({ id, tags: { low: t.low, orchestrator: t.orchestrator, high: t.high, standard: t.standard } });
}

/** One event as one NDJSON line (with its newline). */
export function encodeEvent(event: EntityEvent): string {
  return lineHead(event.type) + entityJson(event) + LINE_TAIL;
}

const ADDED_HEAD = '{"type":"added","entity":';
const MODIFIED_HEAD = '{"type":"modified","entity":';
const DELETED_HEAD = '{"type":"deleted","entity":';

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
