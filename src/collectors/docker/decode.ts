/**
 * Decoders from the Engine API's JSON to the typed payloads of types.ts. Pure: they check types
 * field by field (a daemon of another version may send null, omit or add fields) and throw
 * DecodeError only when a payload lacks what identifies it (a container without an Id).
 */
import { DecodeError } from '../../errors.js';
import type { ContainerInspect, ContainerSummary, DockerEvent, DockerVersion } from './types.js';

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function optStr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A string map (labels, attributes); non-string values are dropped, null gives {}. */
function strMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'string') out[k] = v;
  return out;
}

function strList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function decodeVersion(value: unknown): DockerVersion {
  const v = obj(value);
  const components = Array.isArray(v.Components) ? v.Components.map((c) => ({ Name: str(obj(c).Name), Version: str(obj(c).Version) })) : undefined;
  return {
    ...(optStr(v.Version) !== undefined ? { Version: str(v.Version) } : {}),
    ...(optStr(v.ApiVersion) !== undefined ? { ApiVersion: str(v.ApiVersion) } : {}),
    ...(optStr(v.MinAPIVersion) !== undefined ? { MinAPIVersion: str(v.MinAPIVersion) } : {}),
    ...(optStr(v.Os) !== undefined ? { Os: str(v.Os) } : {}),
    ...(components ? { Components: components } : {}),
  };
}

export function decodeContainerList(value: unknown): ContainerSummary[] {
  if (!Array.isArray(value)) throw new DecodeError('container list', { cause: new Error('not an array') });
  const out: ContainerSummary[] = [];
  for (const item of value) {
    const c = obj(item);
    const id = str(c.Id);
    if (id === '') continue;
    out.push({ Id: id, Names: strList(c.Names), Image: str(c.Image), ImageID: str(c.ImageID), Labels: strMap(c.Labels), State: str(c.State) });
  }
  return out;
}

export function decodeInspect(value: unknown): ContainerInspect {
  const c = obj(value);
  const id = str(c.Id);
  if (id === '') throw new DecodeError('container inspect', { cause: new Error('no Id') });
  const config = obj(c.Config);
  const state = obj(c.State);
  const pid = typeof state.Pid === 'number' && Number.isSafeInteger(state.Pid) && state.Pid >= 0 ? state.Pid : undefined;
  return {
    Id: id,
    Name: str(c.Name),
    Image: str(c.Image),
    Config: { Image: str(config.Image), Labels: strMap(config.Labels), Env: strList(config.Env) },
    State: { Status: str(state.Status), Running: state.Running === true, Restarting: state.Restarting === true, Paused: state.Paused === true, ...(pid !== undefined ? { Pid: pid } : {}) },
    HostConfig: { NetworkMode: str(obj(c.HostConfig).NetworkMode) },
    NetworkSettings: decodeNetworkSettings(obj(c.NetworkSettings)),
  };
}

function decodeNetworkSettings(settings: Json): NonNullable<ContainerInspect['NetworkSettings']> {
  const networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> = {};
  for (const [name, raw] of Object.entries(obj(settings.Networks))) {
    const network = obj(raw);
    networks[name] = { IPAddress: str(network.IPAddress), GlobalIPv6Address: str(network.GlobalIPv6Address) };
  }
  return { IPAddress: str(settings.IPAddress), GlobalIPv6Address: str(settings.GlobalIPv6Address), Networks: networks };
}

// Top-level `"timeNano":<digits>`. Inside a JSON string a quote is escaped, so a label value can
// never produce this unescaped text, and a label *named* timeNano has a string value, not digits.
const TIME_NANO = /"timeNano"\s*:\s*(\d+)/;

/**
 * One line of the events stream (RS already stripped by the line reader, but tolerated here too).
 * undefined for a line that is not a JSON object; the caller counts it and moves on.
 */
export function decodeEventLine(line: string): DockerEvent | undefined {
  const text = line.charCodeAt(0) === 0x1e ? line.slice(1) : line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const e = parsed as Json;
  const actor = obj(e.Actor);
  // Type/Action/Actor exist from API 1.22 on; the legacy status/id fields (gone in 1.52) are a fallback only.
  const type = str(e.Type) || (optStr(e.status) !== undefined ? 'container' : '');
  const fullAction = str(e.Action) || str(e.status);
  const id = str(actor.ID) || str(e.id);
  if (type === '' || fullAction === '') return undefined;
  const sep = fullAction.indexOf(':');
  const action = (sep >= 0 ? fullAction.slice(0, sep) : fullAction).trim();
  const detail = sep >= 0 ? fullAction.slice(sep + 1).trim() : undefined;
  const nano = TIME_NANO.exec(text)?.[1];
  let timeNano: bigint | undefined;
  if (nano !== undefined) timeNano = BigInt(nano);
  else if (typeof e.time === 'number' && Number.isSafeInteger(e.time)) timeNano = BigInt(e.time) * 1_000_000_000n;
  return { type, action, id, attributes: strMap(actor.Attributes), ...(detail !== undefined ? { detail } : {}), ...(timeNano !== undefined ? { timeNano } : {}) };
}
