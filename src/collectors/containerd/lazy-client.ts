/**
 * The containerd client, made at its first call: gRPC, protobufjs and the parsed .proto files
 * cost about 110 ms of the daemon's start (of about 290 ms of module loading), and most hosts
 * without containerd's socket never need them. The collector only calls the API once detect() has
 * found the socket, so on those hosts they are never loaded.
 */
import type { ContainerdApi, EventSubscription } from './client.js';

export class LazyContainerdApi implements ContainerdApi {
  private api: Promise<ContainerdApi> | undefined;
  private loaded: ContainerdApi | undefined;

  constructor(
    readonly target: string,
    private readonly make: () => Promise<ContainerdApi>,
  ) {}

  listNamespaces(signal?: AbortSignal): Promise<string[]> {
    return this.load().then((api) => api.listNamespaces(signal));
  }

  listContainers(namespace: string, signal?: AbortSignal): ReturnType<ContainerdApi['listContainers']> {
    return this.load().then((api) => api.listContainers(namespace, signal));
  }

  getContainer(namespace: string, id: string, signal?: AbortSignal): ReturnType<ContainerdApi['getContainer']> {
    return this.load().then((api) => api.getContainer(namespace, id, signal));
  }

  listTasks(namespace: string, signal?: AbortSignal): ReturnType<ContainerdApi['listTasks']> {
    return this.load().then((api) => api.listTasks(namespace, signal));
  }

  getTask(namespace: string, containerId: string, signal?: AbortSignal): ReturnType<ContainerdApi['getTask']> {
    return this.load().then((api) => api.getTask(namespace, containerId, signal));
  }

  imageConfigDigest(namespace: string, name: string, signal?: AbortSignal): Promise<string | undefined> {
    return this.load().then((api) => api.imageConfigDigest(namespace, name, signal));
  }

  /** The stream opens once the client is made; a cancel before that opens none. */
  subscribe(filters: readonly string[], onEvent: Parameters<ContainerdApi['subscribe']>[1]): EventSubscription {
    let inner: EventSubscription | undefined;
    let cancelled = false;
    const done = this.load().then((api) => {
      if (cancelled) return undefined;
      inner = api.subscribe(filters, onEvent);
      return inner.done;
    });
    return {
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
      done,
    };
  }

  close(): void {
    this.loaded?.close();
  }

  /** One client for the wrapper's life (it reconnects after close() on its own); a failed load is tried again. */
  private load(): Promise<ContainerdApi> {
    this.api ??= this.make().then(
      (api) => (this.loaded = api),
      (error: unknown) => {
        this.api = undefined;
        throw error;
      },
    );
    return this.api;
  }
}
