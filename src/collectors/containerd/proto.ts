/**
 * Loads the project's own, minimal declarations of containerd's gRPC services (proto/*.proto,
 * copied into dist/ by scripts/finish-build.mjs) and exposes each method with the message
 * shapes @grpc/proto-loader produces for them. Shared by the client and by the tests' fake
 * containerd, so both speak exactly the same declarations.
 */
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const FILES = ['containers.proto', 'tasks.proto', 'namespaces.proto', 'events.proto', 'images.proto', 'content.proto'];

/** google.protobuf.Any as proto-loader decodes it (field names kept as in the well-known type). */
export interface WireAny {
  type_url: string;
  value: Buffer;
}
export interface WireTimestamp {
  seconds: number;
  nanos: number;
}
export interface WireContainer {
  id: string;
  labels: Record<string, string>;
  image: string;
  spec?: WireAny | null;
  createdAt?: WireTimestamp | null;
}
export interface WireProcess {
  containerId: string;
  id: string;
  pid: number;
  status: string;
  exitStatus: number;
  exitedAt?: WireTimestamp | null;
}
export interface WireDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}
export interface WireImage {
  name: string;
  labels: Record<string, string>;
  target?: WireDescriptor | null;
}
export interface WireEnvelope {
  timestamp?: WireTimestamp | null;
  namespace: string;
  topic: string;
  event?: WireAny | null;
}

export interface ContainerdMethods {
  readonly listNamespaces: MethodDefinition<{ filter?: string }, { namespaces: Array<{ name: string }> }>;
  readonly getContainer: MethodDefinition<{ id: string }, { container?: WireContainer | null }>;
  readonly listContainers: MethodDefinition<{ filters?: string[] }, { containers: WireContainer[] }>;
  readonly getTask: MethodDefinition<{ containerId: string; execId?: string }, { process?: WireProcess | null }>;
  readonly listTasks: MethodDefinition<{ filter?: string }, { tasks: WireProcess[] }>;
  readonly subscribe: MethodDefinition<{ filters: string[] }, WireEnvelope>;
  readonly getImage: MethodDefinition<{ name: string }, { image?: WireImage | null }>;
  readonly readContent: MethodDefinition<{ digest: string; offset?: number; size?: number }, { offset: number; data: Buffer }>;
}

export interface ContainerdServices {
  readonly methods: ContainerdMethods;
  /** Whole service definitions, for a server (the tests' fake containerd). */
  readonly services: {
    readonly namespaces: ServiceDefinition;
    readonly containers: ServiceDefinition;
    readonly tasks: ServiceDefinition;
    readonly events: ServiceDefinition;
    readonly images: ServiceDefinition;
    readonly content: ServiceDefinition;
  };
}

/**
 * Parses the .proto files (about 20 ms): call once per client. `protoDir` is for code compiled
 * elsewhere than dist/ (the benchmarks), where the .proto files were not copied.
 */
export function loadContainerdServices(protoDir: string = PROTO_DIR): ContainerdServices {
  const def = loadSync(FILES, { includeDirs: [protoDir], keepCase: false, longs: Number, enums: String, defaults: true });
  const service = (name: string): ServiceDefinition => {
    const s = def[name];
    if (!s || 'format' in s) throw new Error(`proto: service ${name} missing`);
    return s as ServiceDefinition;
  };
  const namespaces = service('containerd.services.namespaces.v1.Namespaces');
  const containers = service('containerd.services.containers.v1.Containers');
  const tasks = service('containerd.services.tasks.v1.Tasks');
  const events = service('containerd.services.events.v1.Events');
  const images = service('containerd.services.images.v1.Images');
  const content = service('containerd.services.content.v1.Content');
  const method = <Req, Res>(s: ServiceDefinition, name: string): MethodDefinition<Req, Res> => {
    const m = (s as Record<string, MethodDefinition<Req, Res> | undefined>)[name];
    if (!m) throw new Error(`proto: method ${name} missing`);
    return m;
  };
  return {
    services: { namespaces, containers, tasks, events, images, content },
    methods: {
      listNamespaces: method(namespaces, 'List'),
      getContainer: method(containers, 'Get'),
      listContainers: method(containers, 'List'),
      getTask: method(tasks, 'Get'),
      listTasks: method(tasks, 'List'),
      subscribe: method(events, 'Subscribe'),
      getImage: method(images, 'Get'),
      readContent: method(content, 'Read'),
    },
  };
}

/** A Timestamp as epoch ms; undefined for none or Go's zero time (year 1, negative seconds). */
export function timestampMs(ts: WireTimestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return ms > 0 ? ms : undefined;
}
