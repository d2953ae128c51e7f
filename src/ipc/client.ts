/**
 * Client of the daemon's HTTP API, on the one shared HTTP client. The CLI, the remote replica and
 * the benchmarks use it. The token is read from its file on first use and re-read once after a
 * 401 (the daemon may have created it after we started).
 */
import { DecodeError, HttpStatusError, TimeoutError, isTaggerError } from '../errors.js';
import { HttpClient, type TlsOptions } from '../net/http-client.js';
import type { Origin } from '../origin/types.js';
import type { Cardinality } from '../types.js';
import { readTokenFile } from './auth.js';
import type { ExplainReport } from './explain.js';
import { decodeStreamLine, originQuery, splitEntityLine, type EncodedEntityMessage, type EntitiesBody, type OriginBody, type StreamMessage, type TagsBody } from './protocol.js';

export interface IpcClientOptions {
  /** The daemon's unix socket path, or `address` as host:port (or `https://host:port`). */
  readonly socket?: string;
  readonly address?: string;
  /** For an `https://` address: the CA to verify the daemon with, or no verification. */
  readonly tls?: TlsOptions;
  readonly token?: string;
  readonly tokenFile?: string;
  /** Per-request timeout. Default 5 s. */
  readonly timeoutMs?: number;
}

export interface StreamRequest {
  readonly cardinality: Cardinality;
  readonly prefixes?: readonly string[];
  /** A cluster instance's per-node filter: only that node's pods and the global entity. */
  readonly node?: string;
}

export interface StreamCallOptions {
  readonly signal?: AbortSignal;
  /**
   * The stream fails with a TimeoutError when no line (event or heartbeat) comes for this long.
   * A daemon that announces its heartbeat (`x-tagger-heartbeat-ms`) sets it instead: see
   * readTimeoutFor().
   */
  readonly readTimeoutMs?: number;
  readonly onOpen?: () => void;
  /**
   * Given, added/modified lines in the daemon's own layout come here with their tags unparsed
   * (splitEntityLine) instead of decoded to onMessage: a replica decodes them on first use.
   */
  readonly onEncodedEntity?: (message: EncodedEntityMessage) => void;
}

export interface HealthResult {
  readonly healthy: boolean;
  readonly body: { status?: string; reasons?: string[] };
}

export class IpcClient {
  private readonly http: HttpClient;
  private token: string | undefined;

  constructor(private readonly options: IpcClientOptions) {
    const target = options.socket ? (options.socket.startsWith('unix://') ? options.socket : `unix://${options.socket}`) : options.address;
    if (!target) throw new Error('IpcClient needs socket or address');
    this.http = new HttpClient(target, { timeoutMs: options.timeoutMs ?? 5_000, ...(options.tls ? { tls: options.tls } : {}) });
    this.token = options.token;
  }

  get target(): string {
    return this.http.endpoint.display;
  }

  getTags(entity: string, cardinality: Cardinality = 'low', signal?: AbortSignal): Promise<TagsBody> {
    return this.getJson<TagsBody>(`/v1/tags?${new URLSearchParams({ entity, cardinality }).toString()}`, signal);
  }

  entities(signal?: AbortSignal): Promise<EntitiesBody> {
    return this.getJson<EntitiesBody>('/v1/entities', signal);
  }

  explain(entity: string, signal?: AbortSignal): Promise<ExplainReport> {
    return this.getJson<ExplainReport>(`/v1/explain?${new URLSearchParams({ entity }).toString()}`, signal);
  }

  /** `/v1/origin` for any one form (`{pid}`, `{cgroupInode}`, `{containerId}`, `{externalData}`, `{podUid, containerName}`, `{ip}`). */
  origin(origin: Origin, cardinality: Cardinality = 'low', signal?: AbortSignal): Promise<OriginBody> {
    const query = originQuery(origin);
    query.set('cardinality', cardinality);
    return this.getJson<OriginBody>(`/v1/origin?${query.toString()}`, signal);
  }

  /** /healthz needs no token; a 503 is an answer, not an error. */
  async health(signal?: AbortSignal): Promise<HealthResult> {
    const res = await this.http.request('/healthz', signal ? { signal } : {});
    let body: HealthResult['body'] = {};
    try {
      body = JSON.parse(res.body) as HealthResult['body'];
    } catch {
      // keep {}: the status alone answers
    }
    return { healthy: res.status === 200, body };
  }

  /**
   * Follows /v1/stream, calling `onMessage` for every message (heartbeats included) until the
   * server ends the stream (resolves) or it fails: socket error, bad line, read timeout, abort.
   */
  async stream(request: StreamRequest, onMessage: (message: StreamMessage) => void, options: StreamCallOptions = {}): Promise<void> {
    const params = new URLSearchParams({ cardinality: request.cardinality });
    for (const p of request.prefixes ?? []) params.append('prefix', p);
    if (request.node !== undefined) params.set('node', request.node);
    let readTimeoutMs = options.readTimeoutMs ?? 90_000;
    const onEncoded = options.onEncodedEntity;
    const watchdog = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // A line only records the time: re-arming a timer per line cost more than decoding it during a
    // snapshot. The one timer, when it fires, re-arms for what is left of the window.
    let lastLine = Date.now();
    const check = (): void => {
      const idle = Date.now() - lastLine;
      if (idle < readTimeoutMs) {
        timer = setTimeout(check, readTimeoutMs - idle);
        return;
      }
      timedOut = true;
      watchdog.abort();
    };
    const arm = (): void => {
      lastLine = Date.now();
      timer ??= setTimeout(check, readTimeoutMs);
    };
    // The caller's signal is linked by hand, and unlinked at the end: AbortSignal.any() per
    // reconnect would hang one more dependent signal on the replica's long-lived one each time.
    const callerSignal = options.signal;
    const forward = (): void => watchdog.abort(callerSignal?.reason);
    if (callerSignal?.aborted) forward();
    else callerSignal?.addEventListener('abort', forward, { once: true });
    const signal = watchdog.signal;
    arm();
    try {
      await this.http.streamLines(
        `/v1/stream?${params.toString()}`,
        (line) => {
          arm();
          if (onEncoded) {
            const encoded = splitEntityLine(line);
            if (encoded) return onEncoded(encoded);
          }
          let message: StreamMessage;
          try {
            message = decodeStreamLine(line);
          } catch (cause) {
            throw new DecodeError('stream line', { cause });
          }
          onMessage(message);
        },
        {
          signal,
          headersTimeoutMs: readTimeoutMs,
          headers: this.authHeaders(),
          onOpen: (headers) => {
            readTimeoutMs = readTimeoutFor(headers['x-tagger-heartbeat-ms'], readTimeoutMs);
            options.onOpen?.();
          },
        },
      );
    } catch (error) {
      if (timedOut) throw new TimeoutError('stream read', readTimeoutMs);
      if (isTaggerError(error, 'TAGGER_HTTP_STATUS') && (error as HttpStatusError).status === 401) this.token = undefined;
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      callerSignal?.removeEventListener('abort', forward);
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async getJson<T>(path: string, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await this.http.getJson<T>(path, { headers: this.authHeaders(), ...(signal ? { signal } : {}) });
    } catch (error) {
      if (!(error instanceof HttpStatusError) || error.status !== 401 || this.options.token !== undefined || !this.options.tokenFile) throw error;
      // The token file may have been (re)created since we read it.
      this.token = undefined;
      return await this.http.getJson<T>(path, { headers: this.authHeaders(), ...(signal ? { signal } : {}) });
    }
  }

  private authHeaders(): Record<string, string> {
    if (this.token === undefined && this.options.tokenFile) this.token = readTokenFile(this.options.tokenFile);
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }
}

/**
 * The read timeout for a stream whose daemon heartbeats every `header` ms: three heartbeats, so
 * one late or lost keepalive on a loaded host is not a disconnect (the Datadog Agent's replica
 * allows 10 min against 9). Without a usable header, `fallback`.
 */
export function readTimeoutFor(header: string | string[] | undefined, fallback: number): number {
  const ms = typeof header === 'string' && /^\d{1,10}$/.test(header) ? Number(header) : 0;
  return ms > 0 ? ms * 3 : fallback;
}
