/**
 * A fake containerd for unit tests: a real gRPC server (@grpc/grpc-js) on a temporary unix
 * socket, speaking the project's own declarations, that replays events recorded from a real
 * containerd (testdata/*.json) and keeps the containers and tasks those events imply, so that
 * Get and List answer as containerd would at each point of the recording.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { NAMESPACE_HEADER } from '../client.js';
import { loadEventDecoder } from '../decode.js';
import { loadContainerdServices, type WireImage, type WireAny, type WireContainer, type WireEnvelope, type WireProcess, type WireTimestamp } from '../proto.js';

interface RecordedAny {
  type_url: string;
  value: string; // base64
}
/** The recordings' payloads are decoded as the client decodes them. */
const decodeEvent = loadEventDecoder();

export interface RecordedContainer extends Omit<WireContainer, 'spec'> {
  spec?: RecordedAny | null;
}
export interface RecordedEvent {
  namespace: string;
  topic: string;
  timestamp: WireTimestamp;
  event: RecordedAny;
}
export interface Recording {
  namespaces: string[];
  initial: Record<string, { containers: RecordedContainer[]; tasks: WireProcess[] }>;
  /** `ns/id` -> the container as Get returned it right after its create/start/update event. */
  containers: Record<string, RecordedContainer>;
  events: RecordedEvent[];
}

export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8')) as Recording;
}

function toAny(a: RecordedAny | null | undefined): WireAny | null {
  return a ? { type_url: a.type_url, value: Buffer.from(a.value, 'base64') } : null;
}
export function toWireContainer(c: RecordedContainer): WireContainer {
  return { ...c, spec: toAny(c.spec) };
}

type Unary = (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => void;

export class FakeContainerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'tagger-fake-ctd-'));
  readonly socket = join(this.dir, 'containerd.sock');
  readonly namespaces: string[];
  /** `ns/id` -> container; `ns/id` -> init task. Tests may edit both. */
  readonly containers = new Map<string, WireContainer>();
  readonly tasks = new Map<string, WireProcess>();
  /** `ns/name` -> image; digest -> content blob (manifests, indexes). Empty unless a test fills them. */
  readonly images = new Map<string, WireImage>();
  readonly blobs = new Map<string, Buffer>();
  readonly calls = { subscribe: 0, get: 0, list: 0, missingNamespace: 0, getImage: 0, readContent: 0 };
  private readonly subscribers = new Set<ServerWritableStream<unknown, WireEnvelope>>();
  private server: Server | undefined;
  private next = 0;
  private subscribeWaiters: Array<() => void> = [];

  constructor(readonly recording: Recording) {
    this.namespaces = [...recording.namespaces];
    for (const [ns, { containers, tasks }] of Object.entries(recording.initial)) {
      for (const c of containers) this.containers.set(`${ns}/${c.id}`, toWireContainer(c));
      for (const t of tasks) this.tasks.set(`${ns}/${t.containerId || t.id}`, t);
    }
  }

  async start(): Promise<this> {
    const { services } = loadContainerdServices();
    const server = new Server();
    const ns = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): string | undefined => {
      const value = call.metadata.get(NAMESPACE_HEADER)[0];
      if (typeof value === 'string' && value !== '') return value;
      this.calls.missingNamespace++;
      callback({ code: status.FAILED_PRECONDITION, details: 'namespace is required' });
      return undefined;
    };
    const impl = (methods: Record<string, Unary>): UntypedServiceImplementation => methods as UntypedServiceImplementation;
    server.addService(services.namespaces, impl({ List: (_call, cb) => cb(null, { namespaces: this.namespaces.map((name) => ({ name, labels: {} })) }) }));
    server.addService(
      services.containers,
      impl({
        Get: (call, cb) => {
          const n = ns(call, cb);
          if (n === undefined) return;
          this.calls.get++;
          const id = String(call.request.id);
          const c = this.containers.get(`${n}/${id}`);
          if (c) cb(null, { container: c });
          else cb({ code: status.NOT_FOUND, details: `container "${id}" in namespace "${n}": not found` });
        },
        List: (call, cb) => {
          const n = ns(call, cb);
          if (n === undefined) return;
          this.calls.list++;
          cb(null, { containers: [...this.containers].filter(([k]) => k.startsWith(`${n}/`)).map(([, c]) => c) });
        },
      }),
    );
    server.addService(
      services.tasks,
      impl({
        Get: (call, cb) => {
          const n = ns(call, cb);
          if (n === undefined) return;
          const t = this.tasks.get(`${n}/${String(call.request.containerId)}`);
          if (t) cb(null, { process: t });
          else cb({ code: status.NOT_FOUND, details: 'no running task found' });
        },
        List: (call, cb) => {
          const n = ns(call, cb);
          if (n === undefined) return;
          cb(null, { tasks: [...this.tasks].filter(([k]) => k.startsWith(`${n}/`)).map(([, t]) => ({ ...t, containerId: '' })) });
        },
      }),
    );
    server.addService(
      services.images,
      impl({
        Get: (call, cb) => {
          const n = ns(call, cb);
          if (n === undefined) return;
          this.calls.getImage++;
          const name = String(call.request.name);
          const image = this.images.get(`${n}/${name}`);
          if (image) cb(null, { image });
          else cb({ code: status.NOT_FOUND, details: `image "${name}": not found` });
        },
      }),
    );
    server.addService(services.content, {
      Read: (call: ServerWritableStream<{ digest: string }, { offset: number; data: Buffer }>) => {
        this.calls.readContent++;
        const blob = this.blobs.get(call.request.digest);
        if (!blob) {
          call.emit('error', { code: status.NOT_FOUND, details: `content digest ${call.request.digest}: not found` });
          return;
        }
        // In two chunks, as containerd streams large blobs, so the client's reassembly is exercised.
        const half = Math.floor(blob.length / 2);
        call.write({ offset: 0, data: blob.subarray(0, half) });
        call.write({ offset: half, data: blob.subarray(half) });
        call.end();
      },
    });
    server.addService(services.events, {
      Subscribe: (call: ServerWritableStream<unknown, WireEnvelope>) => {
        this.calls.subscribe++;
        this.subscribers.add(call);
        call.on('cancelled', () => this.subscribers.delete(call));
        for (const w of this.subscribeWaiters.splice(0)) w();
      },
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${this.socket}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    this.server = server;
    return this;
  }

  /** Resolves once at least `count` Subscribe calls have arrived in total. */
  async subscribed(count = 1): Promise<void> {
    while (this.calls.subscribe < count) await new Promise<void>((r) => this.subscribeWaiters.push(r));
  }

  get remaining(): number {
    return this.recording.events.length - this.next;
  }

  /** Applies the next `n` recorded events to the state, then sends them to every subscriber. */
  replay(n = 1): RecordedEvent[] {
    const sent = this.recording.events.slice(this.next, this.next + n);
    this.next += sent.length;
    for (const e of sent) {
      this.apply(e);
      this.send({ namespace: e.namespace, topic: e.topic, timestamp: e.timestamp, event: toAny(e.event) });
    }
    return sent;
  }

  /** Replays up to and including the next event on `topic` (optionally for one container). */
  replayThrough(topic: string, id?: string): void {
    for (;;) {
      const e = this.recording.events[this.next];
      if (!e) throw new Error(`no more ${topic} events`);
      this.replay(1);
      if (e.topic === topic && (id === undefined || idOf(e) === id)) return;
    }
  }

  send(envelope: WireEnvelope): void {
    for (const s of this.subscribers) s.write(envelope);
  }

  /** Ends every event stream with code 14, as a containerd restart does. */
  dropStreams(): void {
    for (const s of [...this.subscribers]) {
      this.subscribers.delete(s);
      s.emit('error', { code: status.UNAVAILABLE, details: 'error reading from server: EOF' });
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.subscribers.clear();
    if (server) server.forceShutdown();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private apply(e: RecordedEvent): void {
    const ev = decodeEvent(e.event.type_url, Buffer.from(e.event.value, 'base64'));
    const key = (id: string): string => `${e.namespace}/${id}`;
    switch (ev.kind) {
      case 'container-create':
      case 'container-update': {
        const c = this.recording.containers[key(ev.id)];
        if (c) this.containers.set(key(ev.id), toWireContainer(c));
        break;
      }
      case 'container-delete':
        this.containers.delete(key(ev.id));
        break;
      case 'task-start':
        this.tasks.set(key(ev.containerId), { containerId: ev.containerId, id: ev.containerId, pid: ev.pid, status: 'RUNNING', exitStatus: 0 });
        break;
      case 'task-exit':
        if (ev.processId === ev.containerId) this.tasks.set(key(ev.containerId), { containerId: ev.containerId, id: ev.containerId, pid: ev.pid, status: 'STOPPED', exitStatus: ev.exitStatus });
        break;
      case 'task-delete':
        if (ev.processId === '') this.tasks.delete(key(ev.containerId));
        break;
      default:
        break;
    }
  }
}

function idOf(e: RecordedEvent): string {
  const ev = decodeEvent(e.event.type_url, Buffer.from(e.event.value, 'base64'));
  return 'id' in ev ? ev.id : 'containerId' in ev ? ev.containerId : '';
}
