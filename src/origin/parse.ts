/**
 * Validation of origins, pure: each form's value checked and put in canonical form, for the
 * query of `/v1/origin` (snake_case parameters) and the library's `resolveOrigin` (camelCase keys).
 * Errors name the parameter as the caller spelled it.
 */
import { isIP } from 'node:net';
import { CONTAINER_PREFIX, parseEntityId } from '../entity.js';
import { InvalidOriginError, TaggerError } from '../errors.js';
import type { Origin, ParsedOrigin } from './types.js';

/** Linux caps pid_max at 2^22. */
export const MAX_PID = 4_194_304;
/** Pod UIDs are UUIDs (36) or a static pod's config hash (32); generous, but bounded. */
const MAX_NAME_LENGTH = 253;
const MAX_EXTERNAL_DATA_LENGTH = 1024;
const MAX_IP_LENGTH = 64;
/** Pod UIDs and container names: what the API server accepts, loosely (a wrong name just resolves to nothing). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DIGITS = /^\d+$/;
const HEX64 = /^[0-9a-f]{64}$/i;
const LOWER_HEX64 = /^[0-9a-f]{64}$/;

/** The parameter names of each form, as the HTTP query and the library spell them. */
export interface OriginParameterNames {
  readonly pid: string;
  readonly cgroupInode: string;
  readonly containerId: string;
  readonly externalData: string;
  readonly podUid: string;
  readonly containerName: string;
  readonly ip: string;
}

export const QUERY_NAMES: OriginParameterNames = {
  pid: 'pid',
  cgroupInode: 'cgroup_inode',
  containerId: 'container_id',
  externalData: 'external_data',
  podUid: 'pod_uid',
  containerName: 'container_name',
  ip: 'ip',
};

export const LIBRARY_NAMES: OriginParameterNames = {
  pid: 'pid',
  cgroupInode: 'cgroupInode',
  containerId: 'containerId',
  externalData: 'externalData',
  podUid: 'podUid',
  containerName: 'containerName',
  ip: 'ip',
};

type Form = keyof Omit<OriginParameterNames, 'containerName'>;
const FORMS: readonly Form[] = ['pid', 'cgroupInode', 'containerId', 'externalData', 'podUid', 'ip'];

/** The one origin of a `/v1/origin` query. Throws InvalidOriginError naming the parameter. */
export function parseOriginQuery(params: URLSearchParams): ParsedOrigin {
  const names = QUERY_NAMES;
  const value = (key: keyof OriginParameterNames): string | undefined => {
    const all = params.getAll(names[key]);
    if (all.length > 1) throw new InvalidOriginError(names[key], 'given more than once');
    return all[0];
  };
  return parseForms(value, value('containerName'), names);
}

/** The origin given to `resolveOrigin`. Throws InvalidOriginError naming the key. */
export function parseOrigin(origin: Origin): ParsedOrigin {
  if (origin === null || typeof origin !== 'object') throw new InvalidOriginError('origin', 'expected an object with one of pid, cgroupInode, containerId, externalData, podUid, ip');
  const fields = origin as Partial<Record<keyof OriginParameterNames, unknown>>;
  // The common case, one valid key, answers without the general walk below (a lookup is ~100 ns).
  const keys = Object.keys(fields);
  if (keys.length === 1) {
    if (typeof fields.containerId === 'string') return { kind: 'container_id', containerId: parseContainerId(fields.containerId, LIBRARY_NAMES.containerId) };
    if (typeof fields.pid === 'number' && Number.isInteger(fields.pid) && fields.pid >= 1 && fields.pid <= MAX_PID) return { kind: 'pid', pid: fields.pid };
    if (typeof fields.ip === 'string') return { kind: 'ip', ip: parseIp(fields.ip, LIBRARY_NAMES.ip) };
  }
  const text = (key: keyof OriginParameterNames): string | undefined => {
    const raw = fields[key];
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === 'string') return raw;
    if ((key === 'pid' || key === 'cgroupInode') && typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return String(raw);
    throw new InvalidOriginError(LIBRARY_NAMES[key], key === 'pid' || key === 'cgroupInode' ? 'expected a whole number' : 'expected a string');
  };
  return parseForms(text, text('containerName'), LIBRARY_NAMES);
}

function parseForms(valueOf: (form: Form) => string | undefined, containerName: string | undefined, names: OriginParameterNames): ParsedOrigin {
  const given = FORMS.filter((form) => valueOf(form) !== undefined);
  if (given.length === 0) {
    if (containerName !== undefined) throw new InvalidOriginError(names.podUid, `missing: ${names.containerName} needs ${names.podUid}`);
    throw new InvalidOriginError('origin', `missing: give one of ${FORMS.map((f) => names[f]).join(', ')}`);
  }
  if (given.length > 1) throw new InvalidOriginError(names[given[1] as Form], `only one origin may be given, but ${given.map((f) => names[f]).join(' and ')} were`);
  const form = given[0] as Form;
  const raw = valueOf(form) as string;
  if (containerName !== undefined && form !== 'podUid') throw new InvalidOriginError(names.containerName, `goes only with ${names.podUid}`);
  switch (form) {
    case 'pid':
      return { kind: 'pid', pid: parsePid(raw, names.pid) };
    case 'cgroupInode':
      return { kind: 'cgroup_inode', inode: parseCgroupInode(raw, names.cgroupInode) };
    case 'containerId':
      return { kind: 'container_id', containerId: parseContainerId(raw, names.containerId) };
    case 'externalData':
      return parseExternalData(raw, names.externalData);
    case 'podUid':
      return {
        kind: 'pod_container',
        podUid: parseName(raw, names.podUid),
        containerName: containerName === undefined ? undefined : parseName(containerName, names.containerName),
        init: undefined,
      };
    case 'ip':
      return { kind: 'ip', ip: parseIp(raw, names.ip) };
  }
}

export function parsePid(raw: string, parameter = 'pid'): number {
  if (!/^[1-9]\d{0,6}$/.test(raw) || Number(raw) > MAX_PID) throw new InvalidOriginError(parameter, `must be a whole number from 1 to ${MAX_PID}`);
  return Number(raw);
}

/** Decimal, as DogStatsD clients send it after `in-` (which is accepted too). */
export function parseCgroupInode(raw: string, parameter = 'cgroup_inode'): number {
  const digits = raw.startsWith('in-') ? raw.slice(3) : raw;
  if (!DIGITS.test(digits) || digits.length > 16 || !Number.isSafeInteger(Number(digits)) || Number(digits) < 1) {
    throw new InvalidOriginError(parameter, `must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return Number(digits);
}

/**
 * Any spelling the entity parser accepts for a container (bare 64 or 12 hex, `docker://`,
 * `containerd://`, `cri-o://`, `container_id://`, a containerd name), and `ci-<64 hex>` as a
 * DogStatsD client sends it. Returns the canonical form (12 hex stays short: the store resolves it).
 */
export function parseContainerId(raw: string, parameter = 'container_id'): string {
  // The common spelling, a bare full ID, skips the general parser (it is most of a lookup's cost).
  if (raw.length === 64 && LOWER_HEX64.test(raw)) return raw;
  const value = raw.startsWith('ci-') && HEX64.test(raw.slice(3)) ? raw.slice(3) : raw;
  try {
    // The parameter says it is a container: a bare name is a containerd ID, not an unknown kind.
    const parsed = parseEntityId(value.includes('://') ? value : CONTAINER_PREFIX + value);
    if (parsed.kind !== 'container_id') throw new InvalidOriginError(parameter, `names a ${parsed.kind}, not a container`);
    return parsed.value;
  } catch (error) {
    if (error instanceof InvalidOriginError) throw error;
    const reason = error instanceof TaggerError ? error.message.replace(/^invalid entity ID /, '') : 'not a container ID';
    throw new InvalidOriginError(parameter, reason);
  }
}

/**
 * The admission controller's `DD_EXTERNAL_ENV`: comma-separated items `it-<bool>`, `cn-<container
 * name>`, `pu-<pod uid>` in any order. As the Agent does, items with other prefixes are skipped
 * (a newer admission controller may add some); `it-` takes Go's boolean spellings. The pod UID is
 * required; without a container name the pod itself is the answer.
 */
export function parseExternalData(raw: string, parameter = 'external_data'): ParsedOrigin & { kind: 'pod_container' } {
  if (raw.length === 0) throw new InvalidOriginError(parameter, 'empty');
  if (raw.length > MAX_EXTERNAL_DATA_LENGTH) throw new InvalidOriginError(parameter, `longer than ${MAX_EXTERNAL_DATA_LENGTH} characters`);
  let init: boolean | undefined;
  let containerName: string | undefined;
  let podUid: string | undefined;
  for (const item of raw.split(',')) {
    const value = item.slice(3);
    if (item.startsWith('it-')) {
      if (init !== undefined) throw new InvalidOriginError(parameter, 'it- given more than once');
      init = parseGoBool(value, parameter);
    } else if (item.startsWith('cn-')) {
      if (containerName !== undefined) throw new InvalidOriginError(parameter, 'cn- given more than once');
      containerName = parseName(value, parameter, 'cn- ');
    } else if (item.startsWith('pu-')) {
      if (podUid !== undefined) throw new InvalidOriginError(parameter, 'pu- given more than once');
      podUid = parseName(value, parameter, 'pu- ');
    }
  }
  if (podUid === undefined) throw new InvalidOriginError(parameter, 'no pu-<pod uid> item (expected it-<bool>,cn-<container name>,pu-<pod uid>)');
  return { kind: 'pod_container', podUid, containerName, init };
}

function parseGoBool(value: string, parameter: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new InvalidOriginError(parameter, `it- must be true or false, not ${JSON.stringify(value.slice(0, 20))}`);
}

/** `item` names the part of the parameter being checked (`cn- ` in external data), for the message. */
function parseName(value: string, parameter: string, item = ''): string {
  if (value.length === 0) throw new InvalidOriginError(parameter, `${item}empty`);
  if (value.length > MAX_NAME_LENGTH) throw new InvalidOriginError(parameter, `${item}longer than ${MAX_NAME_LENGTH} characters`);
  if (!NAME.test(value)) throw new InvalidOriginError(parameter, `${item}must be letters, digits, '.', '_' or '-'`);
  return value;
}

/**
 * An IPv4 or IPv6 address in canonical text: IPv6 lowercased and compressed, an IPv4-mapped IPv6
 * address (what a dual-stack socket reports for an IPv4 peer) as plain IPv4, a zone index dropped.
 */
export function parseIp(raw: string, parameter = 'ip'): string {
  if (raw.length === 0) throw new InvalidOriginError(parameter, 'empty');
  if (raw.length > MAX_IP_LENGTH) throw new InvalidOriginError(parameter, `longer than ${MAX_IP_LENGTH} characters`);
  const canonical = canonicalIp(raw);
  if (canonical === undefined) throw new InvalidOriginError(parameter, 'not an IPv4 or IPv6 address');
  return canonical;
}

/** The canonical text of an address, or undefined when it is not one (collectors use it on their payloads). */
export function canonicalIp(raw: string): string | undefined {
  const zone = raw.indexOf('%');
  const address = zone >= 0 ? raw.slice(0, zone) : raw;
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  const compressed = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped) {
    const high = parseInt(mapped[1] as string, 16);
    const low = parseInt(mapped[2] as string, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return compressed;
}
