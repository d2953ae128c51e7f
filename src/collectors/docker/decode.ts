/**
 * Decoders from the Engine API's JSON to the typed payloads of types.ts. Pure: they check types
 * field by field (a daemon of another version may send null, omit or add fields) and throw
 * DecodeError only when a payload lacks what identifies it (a container without an Id).
 */
import { DecodeError } from '../../errors.js';
import { isRecord, optionalString, recordOf, stringList, stringOrEmpty, stringRecord } from '../json-fields.js';
import type { ContainerInspect, ContainerSummary, DockerEvent, DockerVersion } from './types.js';

export function decodeVersion(value: unknown): DockerVersion {
  const v = recordOf(value);
  const components = Array.isArray(v.Components) ? v.Components.map((c) => ({ Name: stringOrEmpty(recordOf(c).Name), Version: stringOrEmpty(recordOf(c).Version) })) : undefined;
  return {
    ...(optionalString(v.Version) !== undefined ? { Version: stringOrEmpty(v.Version) } : {}),
    ...(optionalString(v.ApiVersion) !== undefined ? { ApiVersion: stringOrEmpty(v.ApiVersion) } : {}),
    ...(optionalString(v.MinAPIVersion) !== undefined ? { MinAPIVersion: stringOrEmpty(v.MinAPIVersion) } : {}),
    ...(optionalString(v.Os) !== undefined ? { Os: stringOrEmpty(v.Os) } : {}),
    ...(components ? { Components: components } : {}),
  };
}

export function decodeContainerList(value: unknown): ContainerSummary[] {
  if (!Array.isArray(value)) throw new DecodeError('container list', { cause: new Error('not an array') });
  const out: ContainerSummary[] = [];
  for (const item of value) {
    const c = recordOf(item);
    const id = stringOrEmpty(c.Id);
    if (id === '') continue;
    out.push({ Id: id, Names: stringList(c.Names), Image: stringOrEmpty(c.Image), ImageID: stringOrEmpty(c.ImageID), Labels: stringRecord(c.Labels), State: stringOrEmpty(c.State) });
  }
  return out;
}

export function decodeInspect(value: unknown): ContainerInspect {
  const c = recordOf(value);
  const id = stringOrEmpty(c.Id);
  if (id === '') throw new DecodeError('container inspect', { cause: new Error('no Id') });
  const config = recordOf(c.Config);
  const state = recordOf(c.State);
  const pid = typeof state.Pid === 'number' && Number.isSafeInteger(state.Pid) && state.Pid >= 0 ? state.Pid : undefined;
  return {
    Id: id,
    Name: stringOrEmpty(c.Name),
    Image: stringOrEmpty(c.Image),
    Config: { Image: stringOrEmpty(config.Image), Labels: stringRecord(config.Labels), Env: stringList(config.Env) },
    State: { Status: stringOrEmpty(state.Status), Running: state.Running === true, Restarting: state.Restarting === true, Paused: state.Paused === true, ...(pid !== undefined ? { Pid: pid } : {}) },
    HostConfig: { NetworkMode: stringOrEmpty(recordOf(c.HostConfig).NetworkMode) },
    NetworkSettings: decodeNetworkSettings(recordOf(c.NetworkSettings)),
  };
}

function decodeNetworkSettings(settings: Record<string, unknown>): NonNullable<ContainerInspect['NetworkSettings']> {
  const networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> = {};
  for (const [name, raw] of Object.entries(recordOf(settings.Networks))) {
    const network = recordOf(raw);
    networks[name] = { IPAddress: stringOrEmpty(network.IPAddress), GlobalIPv6Address: stringOrEmpty(network.GlobalIPv6Address) };
  }
  return { IPAddress: stringOrEmpty(settings.IPAddress), GlobalIPv6Address: stringOrEmpty(settings.GlobalIPv6Address), Networks: networks };
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
  if (!isRecord(parsed)) return undefined;
  const e = parsed;
  const actor = recordOf(e.Actor);
  // Type/Action/Actor exist from API 1.22 on; the legacy status/id fields (gone in 1.52) are a fallback only.
  const type = stringOrEmpty(e.Type) || (optionalString(e.status) !== undefined ? 'container' : '');
  const fullAction = stringOrEmpty(e.Action) || stringOrEmpty(e.status);
  const id = stringOrEmpty(actor.ID) || stringOrEmpty(e.id);
  if (type === '' || fullAction === '') return undefined;
  const sep = fullAction.indexOf(':');
  const action = (sep >= 0 ? fullAction.slice(0, sep) : fullAction).trim();
  const detail = sep >= 0 ? fullAction.slice(sep + 1).trim() : undefined;
  const nano = TIME_NANO.exec(text)?.[1];
  let timeNano: bigint | undefined;
  if (nano !== undefined) timeNano = BigInt(nano);
  else if (typeof e.time === 'number' && Number.isSafeInteger(e.time)) timeNano = BigInt(e.time) * 1_000_000_000n;
  return { type, action, id, attributes: stringRecord(actor.Attributes), ...(detail !== undefined ? { detail } : {}), ...(timeNano !== undefined ? { timeNano } : {}) };
}
