/**
 * I/O for the ECS collector; it knows nothing about tags. Three ways to learn a task:
 * - the ECS agent's introspection API on an EC2 container instance (`ecs.agent_url`, default
 *   http://localhost:51678): `/v1/tasks?dockerid=<id>` finds the task of any container on the host;
 * - task metadata v4 (`ECS_CONTAINER_METADATA_URI_V4`, or v3 `ECS_CONTAINER_METADATA_URI`):
 *   `/task` (or `/taskWithTags`) describes the task the tagger itself runs in (Fargate, sidecars);
 * - task metadata v2 (`http://169.254.170.2/v2/metadata`), the same for older agents.
 * Answers are returned as parsed JSON; "not found" is `undefined`, any other failure throws.
 */
import { HttpStatusError } from '../../errors.js';
import { HttpClient, parseEndpoint } from '../../net/http-client.js';

export const ECS_V2_METADATA_URL = 'http://169.254.170.2';

export interface EcsClientOptions {
  /** Agent introspection base URL; empty to skip. */
  readonly agentUrl: string;
  /** Task metadata v4 base (the env var's value); empty when unset. */
  readonly metadataUriV4?: string;
  /** Task metadata v3 base; empty when unset. */
  readonly metadataUri?: string;
  /** Task metadata v2 base. Default ECS_V2_METADATA_URL; empty to skip. Injectable for tests. */
  readonly v2Url?: string;
  readonly timeoutMs?: number;
}

export type MetadataVersion = 'v4' | 'v3' | 'v2';

export class EcsClient {
  private readonly clients = new Map<string, HttpClient>();
  readonly agentUrl: string;
  readonly metadataUriV4: string;
  readonly metadataUri: string;
  readonly v2Url: string;
  private readonly timeoutMs: number;

  constructor(options: EcsClientOptions) {
    this.agentUrl = options.agentUrl.trim();
    this.metadataUriV4 = options.metadataUriV4?.trim() ?? '';
    this.metadataUri = options.metadataUri?.trim() ?? '';
    this.v2Url = (options.v2Url ?? ECS_V2_METADATA_URL).trim();
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** The task metadata endpoint for the tagger's own task, newest first; undefined when none is set. */
  localMetadataVersion(): MetadataVersion | undefined {
    return this.metadataUriV4 ? 'v4' : this.metadataUri ? 'v3' : undefined;
  }

  /**
   * The tagger's own task from metadata v4 or v3 (`/taskWithTags` when asked and v4; an agent too
   * old for it answers non-2xx, and plain `/task` is used instead).
   */
  async localTask(withTags: boolean, signal?: AbortSignal): Promise<unknown> {
    if (this.metadataUriV4) return this.taskV4(this.metadataUriV4, withTags, signal);
    if (this.metadataUri) return this.client(this.metadataUri).getJson('/task', { signal });
    return undefined;
  }

  /**
   * A task from the metadata v4 endpoint at `uri` (a container's ECS_CONTAINER_METADATA_URI_V4:
   * the tagger's own, or another task's on an EC2 host). Connections are kept per origin, not per
   * URI: every task on a host has its own path on the same link-local address.
   */
  async taskV4(uri: string, withTags: boolean, signal?: AbortSignal): Promise<unknown> {
    const { origin, basePath } = parseEndpoint(uri);
    const http = this.client(origin);
    if (withTags) {
      try {
        return await http.getJson(`${basePath}/taskWithTags`, { signal });
      } catch (error) {
        if (!(error instanceof HttpStatusError)) throw error;
      }
    }
    return http.getJson(`${basePath}/task`, { signal });
  }

  /** The task from metadata v2; undefined when v2 is switched off. */
  async v2Task(signal?: AbortSignal): Promise<unknown> {
    if (!this.v2Url) return undefined;
    return this.client(this.v2Url).getJson('/v2/metadata', { signal });
  }

  /** The introspection task of one container; undefined when the agent does not know it. */
  async introspectionTask(dockerId: string, signal?: AbortSignal): Promise<unknown> {
    try {
      return await this.client(this.agentUrl).getJson(`/v1/tasks?dockerid=${encodeURIComponent(dockerId)}`, { signal });
    } catch (error) {
      // The agent answers 404 (400 on some versions) for a container it does not run.
      if (error instanceof HttpStatusError && (error.status === 404 || error.status === 400)) return undefined;
      throw error;
    }
  }

  /** Every task the agent runs (`/v1/tasks`). */
  introspectionTasks(signal?: AbortSignal): Promise<unknown> {
    return this.client(this.agentUrl).getJson('/v1/tasks', { signal });
  }

  /** `/v1/metadata`: the cluster and the agent's version. */
  introspectionMetadata(signal?: AbortSignal, timeoutMs?: number): Promise<unknown> {
    return this.client(this.agentUrl).getJson('/v1/metadata', { signal, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  private client(base: string): HttpClient {
    let client = this.clients.get(base);
    if (!client) {
      client = new HttpClient(base, { timeoutMs: this.timeoutMs, connections: 2, maxBodyBytes: 16 * 1024 * 1024 });
      this.clients.set(base, client);
    }
    return client;
  }
}
