/**
 * Docker Engine API client (also Podman's Docker-compatible service): I/O only, typed responses.
 * Requests go to `/v<version>/...` with the version negotiated once per connection: the lower of
 * ours and the daemon's, refused when the daemon is older than API 1.40 or its minimum is newer
 * than ours.
 */
import { DecodeError, HttpStatusError, PermanentError, causeMessage, isAccessDenied, isTaggerError } from '../../errors.js';
import { HttpClient, type Endpoint } from '../../net/http-client.js';
import { decodeContainerList, decodeEventLine, decodeInspect, decodeVersion } from './decode.js';
import { dockerEndpoint, explainTlsClose, loadDockerTls, type DockerTlsOptions } from './tls.js';
import type { ContainerInspect, ContainerSummary, DockerEvent, DockerVersion } from './types.js';

/**
 * The newest API version this client is written for. Everything it reads (Id, Names, Labels,
 * Config.Image/Env/Labels, State, events' Type/Action/Actor/timeNano) is unchanged up to 1.52;
 * 1.47 is the newest we have recorded payloads of, and Docker 29 still accepts it (minimum 1.44).
 */
export const API_VERSION_OURS = '1.47';
/** The oldest daemon API accepted (Docker 19.03); Podman 4.3 speaks 1.41. */
export const API_VERSION_MIN = '1.40';

/** Compares `1.41` with `1.9` numerically (major, then minor). */
export function compareApiVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [bm = 0, bn = 0] = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return am !== bm ? am - bm : an - bn;
}

/** The version to speak with a daemon; PermanentError when there is none we share. */
export function negotiateApiVersion(version: DockerVersion): string {
  const theirs = version.ApiVersion;
  if (!theirs || !/^\d+\.\d+$/.test(theirs)) throw new PermanentError(`Docker API version unknown (the daemon's /version has ApiVersion ${JSON.stringify(theirs ?? null)})`);
  if (compareApiVersions(theirs, API_VERSION_MIN) < 0) throw new PermanentError(`Docker API ${theirs} is too old: ${API_VERSION_MIN} or newer is required`);
  const theirMin = version.MinAPIVersion;
  if (theirMin && /^\d+\.\d+$/.test(theirMin) && compareApiVersions(theirMin, API_VERSION_OURS) > 0) {
    throw new PermanentError(`Docker daemon requires API ${theirMin} or newer; this tagger speaks up to ${API_VERSION_OURS}`);
  }
  return compareApiVersions(theirs, API_VERSION_OURS) < 0 ? theirs : API_VERSION_OURS;
}

export interface DockerClientOptions {
  /** Timeout of ordinary requests (list, inspect). Default 10 s. */
  readonly timeoutMs?: number;
  /** Connections kept to the daemon (the events stream holds one). Default 16. */
  readonly connections?: number;
  /** TLS for a tcp host, as DOCKER_TLS_VERIFY / DOCKER_TLS turn it on. A unix socket ignores it. */
  readonly tls?: DockerTlsOptions;
}

export interface ContainerList {
  readonly containers: ContainerSummary[];
  /** The daemon's clock at the reply (HTTP Date header, whole seconds), when it sent one. */
  readonly serverTimeMs?: number;
}

export class DockerClient {
  private readonly endpoint: Endpoint & { readonly basePath: string; readonly tls: boolean };
  /** Made at first use: with TLS that reads the certificate files, which may fail and is retried. */
  private httpClient: Promise<HttpClient> | undefined;
  /** Which client certificate TLS presents, for errors; and whether the daemon ever answered. */
  private clientCertNote = '';
  private answered = false;
  private version: string | undefined;
  /** What `/version` said last, for health and logs. */
  daemon: DockerVersion | undefined;
  /** The daemon's clock when `/version` last answered (HTTP Date header, whole seconds). */
  versionTimeMs: number | undefined;

  /**
   * `host` as in DOCKER_HOST: `unix:///var/run/docker.sock`, `/path`, `tcp://host:2376`. A malformed
   * host throws here, at once; unreadable certificate files fail the first request instead.
   */
  constructor(
    host: string,
    private readonly options: DockerClientOptions = {},
  ) {
    this.endpoint = dockerEndpoint(host, options.tls !== undefined);
  }

  get display(): string {
    return this.endpoint.display;
  }

  /** The negotiated version, once `negotiate()` has run. */
  get apiVersion(): string | undefined {
    return this.version;
  }

  /** True when `/_ping` answers `OK`. Never throws. */
  /** `denied` (set only when true): the daemon is there but refuses us (EACCES on its socket, HTTP 401/403). */
  async ping(signal?: AbortSignal, timeoutMs = 2_000): Promise<{ ok: true } | { ok: false; reason: string; denied?: true }> {
    try {
      const res = await this.call((http) => http.request('/_ping', { timeoutMs, ...(signal ? { signal } : {}) }));
      if (res.status === 200 && res.body.trim() === 'OK') return { ok: true };
      return { ok: false, reason: `${this.display}/_ping answered HTTP ${res.status}`, ...(res.status === 401 || res.status === 403 ? { denied: true as const } : {}) };
    } catch (error) {
      return { ok: false, reason: causeMessage(error), ...(isAccessDenied(error) ? { denied: true as const } : {}) };
    }
  }

  /** The negotiated version, reading `/version` first when no call has yet (a fetch before any session). */
  async ensureNegotiated(signal?: AbortSignal): Promise<string> {
    return this.version ?? this.negotiate(signal);
  }

  /** Reads `/version` (unversioned path) and fixes the version of every later request. */
  async negotiate(signal?: AbortSignal): Promise<string> {
    const { value: daemon, serverTimeMs } = await this.getDated('/version', decodeVersion, signal);
    this.daemon = daemon;
    this.versionTimeMs = serverTimeMs;
    this.version = negotiateApiVersion(daemon);
    return this.version;
  }

  /** Running containers (`all=0`), plus the daemon's time of the answer. */
  async listContainers(signal?: AbortSignal): Promise<ContainerList> {
    const { value: containers, serverTimeMs } = await this.getDated(this.path('/containers/json'), decodeContainerList, signal);
    return { containers, ...(serverTimeMs !== undefined ? { serverTimeMs } : {}) };
  }

  /** One container; undefined when the daemon says 404 (removed meanwhile). */
  async inspect(id: string, signal?: AbortSignal): Promise<ContainerInspect | undefined> {
    try {
      const path = this.path(`/containers/${encodeURIComponent(id)}/json`);
      return await this.call((http) => http.getJson(path, { decode: decodeInspect, ...(signal ? { signal } : {}) }));
    } catch (error) {
      if (isTaggerError(error, 'TAGGER_HTTP_STATUS') && (error as HttpStatusError).status === 404) return undefined;
      throw error;
    }
  }

  /** The first `repo:tag` of an image, to name a container created from an image ID. */
  async imageRepoTag(id: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const path = this.path(`/images/${encodeURIComponent(id)}/json`);
      const image = await this.call((http) => http.getJson(path, signal ? { signal } : {}));
      const tags = image !== null && typeof image === 'object' ? (image as { RepoTags?: unknown }).RepoTags : undefined;
      const first: unknown = Array.isArray(tags) ? tags.find((t) => typeof t === 'string' && t !== '' && !t.startsWith('<none>')) : undefined;
      return typeof first === 'string' ? first : undefined;
    } catch (error) {
      if (isTaggerError(error, 'TAGGER_HTTP_STATUS') && (error as HttpStatusError).status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Follows container events from `since` (`<seconds>.<nanoseconds>`, daemon time) until the
   * daemon ends the stream (resolves) or it fails (rejects). Lines that are not events are
   * counted through `onBadLine`.
   */
  async streamEvents(
    since: string,
    onEvent: (event: DockerEvent) => void,
    options: { signal?: AbortSignal; onOpen?: () => void; onBadLine?: (line: string) => void } = {},
  ): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const path = this.path(`/events?since=${encodeURIComponent(since)}&filters=${filters}`);
    await this.call((http) =>
      http.streamLines(
        path,
        (line) => {
          const event = decodeEventLine(line);
          if (event) onEvent(event);
          else options.onBadLine?.(line);
        },
        { headersTimeoutMs: 10_000, ...(options.signal ? { signal: options.signal } : {}), ...(options.onOpen ? { onOpen: options.onOpen } : {}) },
      ),
    );
  }

  async close(): Promise<void> {
    const pending = this.httpClient;
    this.httpClient = undefined;
    await (await pending?.catch(() => undefined))?.close();
  }

  /**
   * One request on the shared client. Over TLS, until the daemon has answered once, a connection it
   * closes gets a hint: with TLS 1.3 a daemon that refuses the client certificate just closes the
   * connection, and undici reports only "other side closed".
   */
  private async call<T>(request: (http: HttpClient) => Promise<T>): Promise<T> {
    const http = await this.http();
    try {
      const result = await request(http);
      this.answered = true;
      return result;
    } catch (error) {
      throw this.endpoint.tls && !this.answered ? explainTlsClose(error, this.clientCertNote) : error;
    }
  }

  /** The shared HTTP client, made once; a failure (an unreadable certificate) is retried on the next call. */
  private http(): Promise<HttpClient> {
    this.httpClient ??= this.openHttp().catch((error: unknown) => {
      this.httpClient = undefined;
      throw error;
    });
    return this.httpClient;
  }

  private async openHttp(): Promise<HttpClient> {
    const loaded = this.endpoint.tls && this.options.tls ? await loadDockerTls(this.options.tls) : undefined;
    this.clientCertNote = loaded?.clientCertNote ?? '';
    return new HttpClient(this.endpoint, { timeoutMs: this.options.timeoutMs ?? 10_000, connections: this.options.connections ?? 16, ...(loaded ? { tls: loaded.tls } : {}) });
  }

  /** GET JSON, with the daemon's clock at the answer (its Date header) when it sent one. */
  private async getDated<T>(path: string, decode: (body: unknown) => T, signal?: AbortSignal): Promise<{ value: T; serverTimeMs?: number }> {
    const res = await this.call((http) => http.request(path, signal ? { signal } : {}));
    if (res.status !== 200) throw new HttpStatusError(res.status, `${this.display}${path}`, res.body);
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch (cause) {
      throw new DecodeError(`JSON from ${this.display}${path}`, { cause });
    }
    const date = res.headers.date;
    const serverTimeMs = typeof date === 'string' ? Date.parse(date) : NaN;
    return { value: decode(body), ...(Number.isFinite(serverTimeMs) ? { serverTimeMs } : {}) };
  }

  private path(p: string): string {
    if (!this.version) throw new PermanentError('Docker client used before version negotiation');
    return `/v${this.version}${p}`;
  }
}
