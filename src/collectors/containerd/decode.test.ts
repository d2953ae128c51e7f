import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../errors.js';
import { loadRecording } from './test-support/fake-containerd.js';
import { loadEventDecoder } from './decode.js';

const decodeEvent = loadEventDecoder();
const rec = loadRecording('ctr-session-1.6.json');
const payload = (i: number): [string, Buffer] => {
  const e = rec.events[i];
  if (!e) throw new Error(`no event ${i}`);
  return [e.event.type_url, Buffer.from(e.event.value, 'base64')];
};

describe('decodeEvent on events recorded from containerd 1.6', () => {
  it('reads TaskStart: container and init pid', () => {
    expect(decodeEvent(...payload(2))).toEqual({ kind: 'task-start', containerId: 'rec-exit', pid: 26451 });
  });

  it('reads the init TaskExit with its exit code and time', () => {
    // exited_at seconds 1795847757, nanos 4448781 (bytes 08 cd ec a9 d8 06 10 8d c4 8f 02)
    expect(decodeEvent(...payload(9))).toEqual({ kind: 'task-exit', containerId: 'rec-exit', processId: 'rec-exit', pid: 26451, exitStatus: 3, exitedAt: 1795847757004 });
    expect(decodeEvent(...payload(10))).toMatchObject({ containerId: 'rec-running', processId: 'rec-running', exitStatus: 137 });
  });

  it('reads an exec exit: its own ID, exit status 0 omitted on the wire', () => {
    expect(decodeEvent(...payload(5))).toMatchObject({ kind: 'task-exit', containerId: 'rec-running', processId: 'e1', pid: 26485, exitStatus: 0 });
  });

  it('reads TaskDelete, whose id (field 5) is empty for the init process', () => {
    expect(decodeEvent(...payload(11))).toMatchObject({ kind: 'task-delete', containerId: 'rec-exit', processId: '', pid: 26451, exitStatus: 3 });
  });

  it('reads container events and ignores the rest', () => {
    expect(decodeEvent(...payload(0))).toEqual({ kind: 'container-create', id: 'rec-exit' });
    expect(decodeEvent(...payload(8))).toEqual({ kind: 'container-update', id: 'rec-running' });
    expect(decodeEvent(...payload(14))).toEqual({ kind: 'container-delete', id: 'rec-running' });
    expect(decodeEvent(...payload(6))).toEqual({ kind: 'task-other', type: 'containerd.events.TaskPaused', containerId: 'rec-running' });
    expect(decodeEvent(...payload(3))).toEqual({ kind: 'other', type: 'containerd.events.TaskExecAdded' });
  });

  it('accepts a type URL with a host prefix', () => {
    const [, value] = payload(2);
    expect(decodeEvent('types.containerd.io/containerd.events.TaskStart', value)).toMatchObject({ kind: 'task-start', containerId: 'rec-exit' });
  });
});

describe('a payload that is not the message it claims', () => {
  it('throws DecodeError naming the event type', () => {
    // field 1 (container_id) says 5 bytes follow, 1 does
    expect(() => decodeEvent('containerd.events.TaskStart', Buffer.from([0x0a, 0x05, 0x61]))).toThrow(DecodeError);
    expect(() => decodeEvent('containerd.events.TaskExit', Buffer.from([0x18, 0x80]))).toThrow('cannot decode containerd event containerd.events.TaskExit');
  });

  it('skips fields it does not declare, as containerd adds them', () => {
    // TaskStart: container_id "a", then an undeclared field 9 (fixed32) and field 10 (string "zz")
    const value = Buffer.from([0x0a, 0x01, 0x61, 0x4d, 1, 2, 3, 4, 0x52, 0x02, 0x7a, 0x7a, 0x10, 0xac, 0x02]);
    expect(decodeEvent('containerd.events.TaskStart', value)).toEqual({ kind: 'task-start', containerId: 'a', pid: 300 });
  });
});
