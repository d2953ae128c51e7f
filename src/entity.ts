/**
 * Entity IDs and cardinalities as they come in from users, collectors and IPC: parsed, validated
 * and put in canonical form, so the store only ever sees one spelling of each entity.
 */
import { InvalidCardinalityError, InvalidEntityError } from './errors.js';
import type { Cardinality, EntityId, EntityKind } from './types.js';

export const CONTAINER_PREFIX = 'container_id://';
export const POD_PREFIX = 'kubernetes_pod_uid://';
export const ECS_TASK_PREFIX = 'ecs_task://';
export const INTERNAL_PREFIX = 'internal://';
/** The entity whose tags apply to everything on the host (cluster name, host tags...). */
export const GLOBAL_ENTITY_ID: EntityId = 'internal://global';
/** The Datadog Agent's ID for the same entity: accepted on input, resolved to GLOBAL_ENTITY_ID. */
export const AGENT_GLOBAL_ENTITY_ID = 'internal://global-entity-id';

const KIND_BY_PREFIX: ReadonlyArray<readonly [string, EntityKind]> = [
  [CONTAINER_PREFIX, 'container_id'],
  [POD_PREFIX, 'kubernetes_pod_uid'],
  [ECS_TASK_PREFIX, 'ecs_task'],
  [INTERNAL_PREFIX, 'internal'],
];

/** Runtime prefixes kubelet and CRI put in front of container IDs; accepted and stripped on input. */
const RUNTIME_PREFIXES = ['docker://', 'containerd://', 'cri-o://', 'crio://', 'podman://'];

const FULL_HEX_ID = /^[0-9a-f]{64}$/;
const SHORT_HEX_ID = /^[0-9a-f]{12}$/;
/** containerd's identifier rule (ctr / nerdctl names); also covers Fargate's `<32hex>-<digits>`. */
const CONTAINERD_ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const CONTAINERD_ID_MAX = 76;
/** Pod UIDs are UUIDs, static pods use a config hash; ECS task IDs are 32 hex or a UUID. */
const OPAQUE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ParsedEntity {
  readonly kind: EntityKind;
  /** The canonical ID, e.g. `container_id://<64 hex>`. For a short ID, the short form. */
  readonly id: EntityId;
  /** The part after `kind://`. */
  readonly value: string;
  /** True when the input was a 12-hex container ID that the store must resolve to the full one. */
  readonly short: boolean;
}

/**
 * Parses any accepted spelling of an entity ID. Throws InvalidEntityError with the reason.
 * Accepted: `kind://value` for the four kinds, runtime-prefixed container IDs
 * (`docker://<id>`), and bare 12- or 64-hex container IDs.
 */
export function parseEntityId(input: string): ParsedEntity {
  if (typeof input !== 'string') throw new InvalidEntityError(String(input), 'not a string');
  if (input.length === 0) throw new InvalidEntityError(input, 'empty');
  if (input.length > 300) throw new InvalidEntityError(input, 'too long');
  for (const [prefix, kind] of KIND_BY_PREFIX) {
    if (input.startsWith(prefix)) return parseValue(input, kind, input.slice(prefix.length));
  }
  for (const prefix of RUNTIME_PREFIXES) {
    if (input.startsWith(prefix)) return parseValue(input, 'container_id', input.slice(prefix.length));
  }
  const lowered = input.toLowerCase();
  if (FULL_HEX_ID.test(lowered) || SHORT_HEX_ID.test(lowered)) return parseValue(input, 'container_id', input);
  if (input.includes('://')) throw new InvalidEntityError(input, 'unknown prefix; expected container_id://, kubernetes_pod_uid:// or ecs_task://');
  throw new InvalidEntityError(input, 'expected kind://id, e.g. container_id://<id>');
}

function parseValue(input: string, kind: EntityKind, rawValue: string): ParsedEntity {
  let value = rawValue;
  switch (kind) {
    case 'container_id': {
      // A kubelet-style ID may arrive with its runtime prefix inside ours.
      for (const prefix of RUNTIME_PREFIXES) if (value.startsWith(prefix)) value = value.slice(prefix.length);
      const lowered = value.toLowerCase();
      if (FULL_HEX_ID.test(lowered)) return entity(kind, lowered, false);
      if (SHORT_HEX_ID.test(lowered)) return entity(kind, lowered, true);
      if (value.length <= CONTAINERD_ID_MAX && CONTAINERD_ID.test(value)) return entity(kind, value, false);
      throw new InvalidEntityError(input, 'container ID must be 64 hex, 12 hex, or a containerd-style name');
    }
    case 'kubernetes_pod_uid':
    case 'ecs_task':
      if (!OPAQUE_ID.test(value)) throw new InvalidEntityError(input, `${kind} must be letters, digits, '.', '_' or '-'`);
      return entity(kind, value, false);
    case 'internal':
      if (!OPAQUE_ID.test(value)) throw new InvalidEntityError(input, 'internal ID must be letters, digits or -');
      // Clients written for the Agent ask for its spelling of the global entity.
      if (input === AGENT_GLOBAL_ENTITY_ID) return entity(kind, GLOBAL_ENTITY_ID.slice(INTERNAL_PREFIX.length), false);
      return entity(kind, value, false);
  }
}

function entity(kind: EntityKind, value: string, short: boolean): ParsedEntity {
  return { kind, value, short, id: formatEntityId(kind, value) };
}

function formatEntityId(kind: EntityKind, value: string): EntityId {
  return `${kind}://${value}`;
}

/** `container_id://<id>` from a runtime's ID with or without a `docker://`-style prefix. */
export function containerEntityId(runtimeId: string): EntityId {
  let id = runtimeId;
  const sep = id.indexOf('://');
  if (sep >= 0) id = id.slice(sep + 3);
  return CONTAINER_PREFIX + (FULL_HEX_ID.test(id.toLowerCase()) ? id.toLowerCase() : id);
}

/** The kind of a canonical ID, by prefix; undefined for anything else. */
export function entityKindOf(id: EntityId): EntityKind | undefined {
  for (const [prefix, kind] of KIND_BY_PREFIX) if (id.startsWith(prefix)) return kind;
  return undefined;
}

/** True for a 64-hex container ID, the only kind a 12-hex short ID can resolve to. */
export function isFullHexContainerId(id: EntityId): boolean {
  return id.length === CONTAINER_PREFIX.length + 64 && id.startsWith(CONTAINER_PREFIX) && FULL_HEX_ID.test(id.slice(CONTAINER_PREFIX.length));
}

/** Parses `low`, `orchestrator` (or `orch`), `high`, any case; the Python constants 0, 1, 2 too. */
export function parseCardinality(input: unknown): Cardinality {
  if (typeof input === 'number') {
    if (input === 0) return 'low';
    if (input === 1) return 'orchestrator';
    if (input === 2) return 'high';
    throw new InvalidCardinalityError(input);
  }
  if (typeof input !== 'string') throw new InvalidCardinalityError(input);
  switch (input.trim().toLowerCase()) {
    case 'low':
      return 'low';
    case 'orchestrator':
    case 'orch':
      return 'orchestrator';
    case 'high':
      return 'high';
    default:
      throw new InvalidCardinalityError(input);
  }
}
