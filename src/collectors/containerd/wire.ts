/**
 * A minimal protobuf wire reader for the event payloads inside containerd's Envelope.event Any
 * (`containerd.events.TaskExit` and friends). The gRPC services go through @grpc/proto-loader;
 * these few flat messages (strings, uint32s, a Timestamp) are read here by field number, which
 * spares declaring every event message and needs no generated code.
 */
import { DecodeError } from '../../errors.js';
import type { ContainerdEvent } from './types.js';

type WireValue = number | Uint8Array;

/** Field number -> values in order (repeated fields keep every value). */
export type WireFields = Map<number, WireValue[]>;

/** Splits one message into its fields. Varints above 2^53 lose precision (none here reach it). */
export function readFields(buf: Uint8Array): WireFields {
  const fields: WireFields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    let value: WireValue;
    switch (wireType) {
      case 0: {
        const [v, next] = readVarint(buf, pos);
        value = v;
        pos = next;
        break;
      }
      case 1:
        pos += 8;
        continue;
      case 2: {
        const [length, next] = readVarint(buf, pos);
        if (next + length > buf.length) throw new DecodeError('protobuf message', { cause: new Error('truncated field') });
        value = buf.subarray(next, next + length);
        pos = next + length;
        break;
      }
      case 5:
        pos += 4;
        continue;
      default:
        throw new DecodeError('protobuf message', { cause: new Error(`unsupported wire type ${wireType}`) });
    }
    if (field === 0) throw new DecodeError('protobuf message', { cause: new Error('field number 0') });
    const list = fields.get(field);
    if (list) list.push(value);
    else fields.set(field, [value]);
  }
  if (pos > buf.length) throw new DecodeError('protobuf message', { cause: new Error('truncated') });
  return fields;
}

function readVarint(buf: Uint8Array, start: number): [number, number] {
  let result = 0;
  let factor = 1;
  for (let pos = start; pos < buf.length && pos - start < 10; pos++) {
    const byte = buf[pos] as number;
    result += (byte & 0x7f) * factor;
    factor *= 128;
    if ((byte & 0x80) === 0) return [result, pos + 1];
  }
  throw new DecodeError('protobuf varint', { cause: new Error('truncated or too long') });
}

const decoder = new TextDecoder('utf-8');

function str(fields: WireFields, n: number): string {
  const v = fields.get(n)?.at(-1);
  return v instanceof Uint8Array ? decoder.decode(v) : '';
}

function uint(fields: WireFields, n: number): number {
  const v = fields.get(n)?.at(-1);
  return typeof v === 'number' ? v : 0;
}

/** A google.protobuf.Timestamp field as epoch milliseconds; undefined when absent or zero. */
function timestamp(fields: WireFields, n: number): number | undefined {
  const v = fields.get(n)?.at(-1);
  if (!(v instanceof Uint8Array)) return undefined;
  const ts = readFields(v);
  const ms = uint(ts, 1) * 1000 + Math.floor(uint(ts, 2) / 1e6);
  return ms > 0 ? ms : undefined;
}

/**
 * Decodes an event payload by its type URL (containerd 1.x sends bare names such as
 * `containerd.events.TaskExit`; a `host/` prefix is tolerated). Unknown types come back as
 * `other`: the collector ignores them.
 */
export function decodeEvent(typeUrl: string, value: Uint8Array): ContainerdEvent {
  const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  switch (type) {
    case 'containerd.events.ContainerCreate':
      return { kind: 'container-create', id: str(readFields(value), 1) };
    case 'containerd.events.ContainerUpdate':
      return { kind: 'container-update', id: str(readFields(value), 1) };
    case 'containerd.events.ContainerDelete':
      return { kind: 'container-delete', id: str(readFields(value), 1) };
    case 'containerd.events.TaskStart': {
      const f = readFields(value);
      return { kind: 'task-start', containerId: str(f, 1), pid: uint(f, 2) };
    }
    case 'containerd.events.TaskExit': {
      // container_id 1, id 2 (the process: the container's own ID for its init), pid 3, exit_status 4, exited_at 5
      const f = readFields(value);
      return { kind: 'task-exit', containerId: str(f, 1), processId: str(f, 2), pid: uint(f, 3), exitStatus: uint(f, 4), exitedAt: timestamp(f, 5) };
    }
    case 'containerd.events.TaskDelete': {
      // container_id 1, pid 2, exit_status 3, exited_at 4, id 5 (empty for the init process)
      const f = readFields(value);
      return { kind: 'task-delete', containerId: str(f, 1), processId: str(f, 5), pid: uint(f, 2), exitStatus: uint(f, 3), exitedAt: timestamp(f, 4) };
    }
    case 'containerd.events.TaskCreate':
    case 'containerd.events.TaskOOM':
    case 'containerd.events.TaskPaused':
    case 'containerd.events.TaskResumed':
      return { kind: 'task-other', type, containerId: str(readFields(value), 1) };
    default:
      return { kind: 'other', type };
  }
}
