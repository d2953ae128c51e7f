/**
 * containerd's gRPC API over its unix socket: the few read calls and the event subscription the
 * collector needs, returning decoded, typed records. I/O only: it knows nothing about tags.
 *
 * Every namespaced call carries the `containerd-namespace` metadata header (containerd answers
 * `code 9 namespace is required` without it); Subscribe is sent without one so that it receives
 * every namespace's events, each Envelope naming its own.
 */
import { Client, Metadata, credentials, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { AbortedError, DecodeError, NotFoundError, SocketError, TaggerError, TimeoutError } from '../../errors.js';
import { loadEventDecoder, type EventDecoder } from './decode.js';
import { hostPlatform, manifestStep, type Platform } from './image-config.js';
import { loadContainerdServices, timestampMs, type ContainerdMethods, type WireContainer, type WireEnvelope, type WireProcess } from './proto.js';
import type { ContainerRecord, EventEnvelope, TaskRecord, TaskStatus } from './types.js';

export const NAMESPACE_HEADER = 'containerd-namespace';
/** OCI specs are a few KB (tens with CRI); anything far bigger is not worth parsing for env. */
export const DEFAULT_SPEC_MAX_BYTES = 1024 * 1024;
/** Manifests and indexes are a few KB; a blob past this is not one worth reading. */
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

export interface ContainerdClientOptions {
  /** Path of containerd's socket (`/run/containerd/containerd.sock`). */
  readonly socket: string;
  /** Deadline of each unary call. Default 10 s. */
  readonly callTimeoutMs?: number;
  readonly specMaxBytes?: number;
  /** Where the .proto files are, when not beside this module (see loadContainerdServices). */
  readonly protoDir?: string;
  /** Whose manifest an index resolves to. Default the host's (hostPlatform). */
  readonly platform?: Platform;
}

export interface EventSubscription {
  /** Ends the stream; `done` then resolves. */
  cancel(): void;
  /** Rejects with the stream's error (code 14 when containerd goes away); resolves once cancelled. */
  readonly done: Promise<void>;
}

/** The calls the collector makes; the class below is the real one, tests may pass their own. */
export interface ContainerdApi {
  readonly target: string;
  listNamespaces(signal?: AbortSignal): Promise<string[]>;
  listContainers(namespace: string, signal?: AbortSignal): Promise<ContainerRecord[]>;
  /** undefined when containerd says NOT_FOUND. */
  getContainer(namespace: string, id: string, signal?: AbortSignal): Promise<ContainerRecord | undefined>;
  listTasks(namespace: string, signal?: AbortSignal): Promise<TaskRecord[]>;
  getTask(namespace: string, containerId: string, signal?: AbortSignal): Promise<TaskRecord | undefined>;
  /**
   * The config digest of an image for the host's platform (the Agent's image_id); undefined when
   * the image or the blobs leading to its config are not in containerd.
   */
  imageConfigDigest(namespace: string, name: string, signal?: AbortSignal): Promise<string | undefined>;
  subscribe(filters: readonly string[], onEvent: (event: EventEnvelope) => void): EventSubscription;
  close(): void;
}

const TASK_STATUSES: ReadonlySet<string> = new Set(['UNKNOWN', 'CREATED', 'RUNNING', 'STOPPED', 'PAUSED', 'PAUSING']);

export class ContainerdClient implements ContainerdApi {
  readonly target: string;
  /** Made on first use and again after close(), so a restarted tagger reconnects. */
  private channel: Client | undefined;
  private readonly methods: ContainerdMethods;
  private readonly decodeEvent: EventDecoder;
  private readonly callTimeoutMs: number;
  private readonly specMaxBytes: number;
  private readonly platform: Platform;

  constructor(options: ContainerdClientOptions) {
    this.target = `unix://${options.socket}`;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.specMaxBytes = options.specMaxBytes ?? DEFAULT_SPEC_MAX_BYTES;
    this.platform = options.platform ?? hostPlatform();
    this.methods = loadContainerdServices(options.protoDir).methods;
    this.decodeEvent = loadEventDecoder(options.protoDir);
  }

  /** The one channel for every service; grpc-js reconnects it on its own after containerd restarts. */
  private get client(): Client {
    this.channel ??= new Client(this.target, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.enable_retries': 0,
      // A local socket is cheap to retry: find a restarted containerd within a couple of seconds
      // (grpc-js's default reconnect backoff grows to two minutes).
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
    return this.channel;
  }

  async listNamespaces(signal?: AbortSignal): Promise<string[]> {
    const res = await this.unary(this.methods.listNamespaces, {}, undefined, signal);
    return res.namespaces.map((n) => n.name);
  }

  async listContainers(namespace: string, signal?: AbortSignal): Promise<ContainerRecord[]> {
    const res = await this.unary(this.methods.listContainers, { filters: [] }, namespace, signal);
    return res.containers.map((c) => this.container(namespace, c));
  }

  async getContainer(namespace: string, id: string, signal?: AbortSignal): Promise<ContainerRecord | undefined> {
    try {
      const res = await this.unary(this.methods.getContainer, { id }, namespace, signal);
      return res.container ? this.container(namespace, res.container) : undefined;
    } catch (error) {
      if (error instanceof TaggerError && error.code === 'TAGGER_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async listTasks(namespace: string, signal?: AbortSignal): Promise<TaskRecord[]> {
    const res = await this.unary(this.methods.listTasks, {}, namespace, signal);
    return res.tasks.map(task);
  }

  async getTask(namespace: string, containerId: string, signal?: AbortSignal): Promise<TaskRecord | undefined> {
    try {
      const res = await this.unary(this.methods.getTask, { containerId }, namespace, signal);
      return res.process ? task(res.process) : undefined;
    } catch (error) {
      if (error instanceof TaggerError && error.code === 'TAGGER_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async imageConfigDigest(namespace: string, name: string, signal?: AbortSignal): Promise<string | undefined> {
    let image;
    try {
      image = (await this.unary(this.methods.getImage, { name }, namespace, signal)).image;
    } catch (error) {
      if (error instanceof TaggerError && error.code === 'TAGGER_NOT_FOUND') return undefined;
      throw error;
    }
    let candidates = image?.target ? [{ digest: image.target.digest, mediaType: image.target.mediaType }] : [];
    // A manifest is one step, an index two; nested indexes are allowed one more.
    for (let depth = 0; depth < 3 && candidates.length > 0; depth++) {
      let next: typeof candidates = [];
      for (const candidate of candidates) {
        const blob = await this.readBlob(namespace, candidate.digest, signal);
        if (!blob) continue; // a platform whose manifest was not pulled
        const step = manifestStep(blob, candidate.mediaType, this.platform);
        if (step?.kind === 'config') return step.digest;
        if (step?.kind === 'index') {
          next = [...step.manifests];
          break;
        }
      }
      candidates = next;
    }
    return undefined;
  }

  subscribe(filters: readonly string[], onEvent: (event: EventEnvelope) => void): EventSubscription {
    const m = this.methods.subscribe;
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { filters: [...filters] }, new Metadata());
    let cancelled = false;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (raw: WireEnvelope) => {
        let event: EventEnvelope;
        try {
          event = envelope(raw, this.decodeEvent);
        } catch {
          return; // an undecodable event is skipped; the next re-list repairs whatever it meant
        }
        onEvent(event);
      });
      call.on('error', (error: ServiceError) => {
        if (cancelled || error.code === status.CANCELLED) resolve();
        else reject(grpcError(error, `containerd event stream at ${this.target}`));
      });
      // A stream that ends cleanly is still an end: the caller resubscribes.
      call.on('end', () => (cancelled ? resolve() : reject(new TaggerError('TAGGER_UNAVAILABLE', `containerd event stream at ${this.target} ended`))));
    });
    done.catch(() => undefined); // the caller awaits it; never an unhandled rejection
    return {
      done,
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
    };
  }

  close(): void {
    this.channel?.close();
    this.channel = undefined;
  }

  /** A content blob, whole; undefined when containerd does not have it. */
  private readBlob(namespace: string, digest: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    const m = this.methods.readContent;
    const what = `containerd ${m.path} ${digest} (namespace ${namespace})`;
    if (signal?.aborted) return Promise.reject(new AbortedError(what));
    const md = new Metadata();
    md.set(NAMESPACE_HEADER, namespace);
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { digest, offset: 0, size: 0 }, md, {
      deadline: Date.now() + this.callTimeoutMs,
    });
    return new Promise<Buffer | undefined>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      call.on('data', (res: { data: Buffer }) => {
        bytes += res.data.length;
        if (bytes > MANIFEST_MAX_BYTES) {
          settle();
          call.cancel();
          reject(new DecodeError(what, { cause: new Error(`blob larger than ${MANIFEST_MAX_BYTES} bytes`) }));
          return;
        }
        chunks.push(res.data);
      });
      call.on('error', (error: ServiceError) => {
        settle();
        if (error.code === status.NOT_FOUND) resolve(undefined);
        else reject(signal?.aborted ? new AbortedError(what) : grpcError(error, what, this.callTimeoutMs));
      });
      call.on('end', () => {
        settle();
        resolve(Buffer.concat(chunks));
      });
    });
  }

  private unary<Req, Res>(m: { path: string; requestSerialize: (r: Req) => Buffer; responseDeserialize: (b: Buffer) => Res }, req: Req, namespace: string | undefined, signal?: AbortSignal): Promise<Res> {
    const what = `containerd ${m.path}${namespace ? ` (namespace ${namespace})` : ''}`;
    if (signal?.aborted) return Promise.reject(new AbortedError(what));
    const md = new Metadata();
    if (namespace !== undefined) md.set(NAMESPACE_HEADER, namespace);
    const options: CallOptions = { deadline: Date.now() + this.callTimeoutMs };
    return new Promise<Res>((resolve, reject) => {
      const call = this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, md, options, (error, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(signal?.aborted ? new AbortedError(what) : grpcError(error, what, this.callTimeoutMs));
        else if (res === undefined) reject(new DecodeError(what, { cause: new Error('empty response') }));
        else resolve(res);
      });
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private container(namespace: string, c: WireContainer): ContainerRecord {
    const base = { namespace, id: c.id, labels: c.labels ?? {}, image: c.image ?? '' };
    const spec = c.spec?.value;
    if (!spec || spec.length === 0) return { ...base, env: [] };
    if (spec.length > this.specMaxBytes) return { ...base, env: [], specSkipped: 'too_large' };
    const env = specEnv(spec);
    return env ? { ...base, env } : { ...base, env: [], specSkipped: 'undecodable' };
  }
}

/** `process.env` of an OCI runtime spec given as JSON bytes; undefined when it is not JSON. */
export function specEnv(spec: Uint8Array): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(spec.buffer, spec.byteOffset, spec.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const env = (parsed as { process?: { env?: unknown } }).process?.env;
  return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : [];
}

function task(p: WireProcess): TaskRecord {
  return {
    // Tasks.List leaves container_id empty and puts the container's ID in id.
    containerId: p.containerId || p.id,
    pid: p.pid,
    status: (TASK_STATUSES.has(p.status) ? p.status : 'UNKNOWN') as TaskStatus,
    exitStatus: p.exitStatus,
    exitedAt: timestampMs(p.exitedAt),
  };
}

function envelope(raw: WireEnvelope, decodeEvent: EventDecoder): EventEnvelope {
  const any = raw.event;
  return {
    namespace: raw.namespace,
    topic: raw.topic,
    timestamp: timestampMs(raw.timestamp) ?? 0,
    event: any ? decodeEvent(any.type_url, any.value) : { kind: 'other', type: '' },
  };
}

/** A gRPC status as one of the project's typed errors (callers branch on `code`). */
function grpcError(error: ServiceError, what: string, timeoutMs = 0): TaggerError {
  switch (error.code) {
    case status.NOT_FOUND:
      return new NotFoundError(what);
    case status.UNAVAILABLE:
      return new SocketError(what, { cause: new Error(error.details || 'unavailable') });
    case status.DEADLINE_EXCEEDED:
      return new TimeoutError(what, timeoutMs);
    case status.CANCELLED:
      return new AbortedError(what);
    default:
      return new TaggerError('TAGGER_UNAVAILABLE', `${what}: gRPC code ${error.code}: ${error.details}`, { cause: error });
  }
}
