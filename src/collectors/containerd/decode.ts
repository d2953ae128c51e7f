/**
 * containerd's event payloads (the Envelope's `event` Any: `containerd.events.TaskExit` and
 * friends) decoded by protobufjs from proto/event-payloads.proto, into the collector's
 * ContainerdEvent. The gRPC services themselves go through @grpc/proto-loader (proto.ts).
 */
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { DecodeError } from '../../errors.js';
import { PROTO_DIR, timestampMs, type WireTimestamp } from './proto.js';
import type { ContainerdEvent } from './types.js';

/** Decodes one payload by its type URL; unknown types come back as `other`. Throws DecodeError. */
export type EventDecoder = (typeUrl: string, value: Uint8Array) => ContainerdEvent;

/** The payload fields read, camelCased as protobufjs gives them (absent ones at their defaults). */
interface PayloadFields {
  readonly id: string;
  readonly containerId: string;
  readonly pid: number;
  readonly exitStatus: number;
  readonly exitedAt: WireTimestamp | null;
}

type ToEvent = (fields: PayloadFields, type: string) => ContainerdEvent;

/** Each declared payload type and what it means to the collector. */
const EVENTS: Readonly<Record<string, ToEvent>> = {
  'containerd.events.ContainerCreate': (f) => ({ kind: 'container-create', id: f.id }),
  'containerd.events.ContainerUpdate': (f) => ({ kind: 'container-update', id: f.id }),
  'containerd.events.ContainerDelete': (f) => ({ kind: 'container-delete', id: f.id }),
  'containerd.events.TaskStart': (f) => ({ kind: 'task-start', containerId: f.containerId, pid: f.pid }),
  'containerd.events.TaskExit': (f) => ({ kind: 'task-exit', containerId: f.containerId, processId: f.id, pid: f.pid, exitStatus: f.exitStatus, exitedAt: timestampMs(f.exitedAt) }),
  'containerd.events.TaskDelete': (f) => ({ kind: 'task-delete', containerId: f.containerId, processId: f.id, pid: f.pid, exitStatus: f.exitStatus, exitedAt: timestampMs(f.exitedAt) }),
  'containerd.events.TaskCreate': taskOther,
  'containerd.events.TaskOOM': taskOther,
  'containerd.events.TaskPaused': taskOther,
  'containerd.events.TaskResumed': taskOther,
};

function taskOther(f: PayloadFields, type: string): ContainerdEvent {
  return { kind: 'task-other', type, containerId: f.containerId };
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true };

/**
 * Parses proto/event-payloads.proto (a few ms): call once per client. `protoDir` as for
 * loadContainerdServices.
 */
export function loadEventDecoder(protoDir: string = PROTO_DIR): EventDecoder {
  const root = new protobuf.Root().loadSync(join(protoDir, 'event-payloads.proto'));
  const types = new Map(Object.entries(EVENTS).map(([name, toEvent]) => [name, { message: root.lookupType(name), toEvent }]));
  return (typeUrl, value) => {
    // containerd 1.x sends bare names (`containerd.events.TaskExit`); a `host/` prefix is tolerated.
    const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const known = types.get(type);
    if (!known) return { kind: 'other', type };
    let fields: PayloadFields;
    try {
      // The plain Reader, not the one Reader.create picks for a Buffer: that one reads a string
      // past the end of a truncated payload without a word (Buffer#utf8Slice clamps).
      fields = known.message.toObject(known.message.decode(new protobuf.Reader(value)), TO_OBJECT) as PayloadFields;
    } catch (error) {
      throw new DecodeError(`containerd event ${type}`, { cause: error });
    }
    return known.toEvent(fields, type);
  };
}
