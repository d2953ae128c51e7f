/**
 * I/O with the Kubernetes API server, on the shared HTTP client: one page of a list, and a watch
 * stream delivered event by event. It knows nothing about tags or about which fields are kept
 * (the informer's transform decides that at decode).
 *
 * The server is found as client-go's in-cluster config finds it (KUBERNETES_SERVICE_HOST/PORT,
 * the service account's token and CA), unless `kubernetes.api_url` names it. The token file is
 * read again at every request, so a projected token (rotated by the kubelet within the hour) is
 * picked up without a restart. Failures become KubeApiError with the Status the server sent
 * (`reason`, `code`) and its Retry-After, so the informer can tell 410 Expired from 429 from 5xx.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, DecodeError, HttpStatusError } from '../../errors.js';
import { HttpClient } from '../../net/http-client.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeApiSettings {
  /** `kubernetes.api_url`; empty: in-cluster. */
  readonly apiUrl: string;
  /** `kubernetes.token_file`; empty: the service account's. */
  readonly tokenFile: string;
  /** `kubernetes.ca_file`; empty: the service account's. */
  readonly caFile: string;
  readonly tlsVerify: boolean;
}

export interface KubeApiEndpoint {
  readonly url: string;
  readonly tokenFile: string;
  readonly caFile: string;
  readonly tlsVerify: boolean;
}

/** Where the API server is. ConfigError when neither api_url nor the in-cluster variables say. */
export function resolveApiEndpoint(settings: KubeApiSettings, env: NodeJS.ProcessEnv): KubeApiEndpoint {
  const tokenFile = settings.tokenFile || `${SERVICE_ACCOUNT_DIR}/token`;
  const caFile = settings.caFile || `${SERVICE_ACCOUNT_DIR}/ca.crt`;
  if (settings.apiUrl.trim() !== '') return { url: settings.apiUrl.trim().replace(/\/+$/, ''), tokenFile, caFile, tlsVerify: settings.tlsVerify };
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  if (!host || !port) throw new ConfigError('kubernetes.api_url', 'not set, and KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not in the environment (not running in a pod)');
  return { url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, tokenFile, caFile, tlsVerify: settings.tlsVerify };
}

/** A failed API call, with what the server's Status object said. */
export class KubeApiError extends HttpStatusError {
  constructor(
    status: number,
    url: string,
    body: string,
    /** The Status `reason` (`Expired`, `TooManyRequests`, `Unauthorized`...), when the body was one. */
    readonly reason: string | undefined,
    /** From the Retry-After header or the Status's `details.retryAfterSeconds`. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(status, url, body);
  }

  /** 410 Gone: the resourceVersion or continue token is too old; list again. */
  get expired(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}

export interface ListPage {
  readonly resourceVersion: string;
  /** The token for the next page; empty on the last. */
  readonly continueToken: string;
  readonly items: readonly unknown[];
}

export type WatchEvent = { readonly type: string; readonly object: unknown };

/** A list request: one page, optionally restricted by a field selector (`spec.nodeName=node-a`). */
export interface ListOptions {
  readonly limit: number;
  readonly continueToken?: string;
  readonly fieldSelector?: string;
  readonly signal?: AbortSignal;
}

export interface WatchOptions {
  readonly resourceVersion: string;
  readonly timeoutSeconds: number;
  /** The same selector as the list the watch continues, or the watch would send objects the list left out. */
  readonly fieldSelector?: string;
  readonly signal: AbortSignal;
  readonly onEvent: (event: WatchEvent) => void;
  readonly onOpen?: () => void;
}

/** What the informer needs of the API (KubeApiClient; a scripted source in tests). */
export interface KubeApiSource {
  readonly url: string;
  list(path: string, options: ListOptions): Promise<ListPage>;
  /** Resolves when the server ends the stream (its timeout); rejects on errors. `onOpen` once the headers came. */
  watch(path: string, options: WatchOptions): Promise<void>;
  get(path: string, signal?: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

export class KubeApiClient implements KubeApiSource {
  readonly url: string;
  private http: HttpClient | undefined;

  constructor(
    private readonly endpoint: KubeApiEndpoint,
    private readonly options: { readonly timeoutMs?: number } = {},
  ) {
    this.url = endpoint.url;
  }

  async list(path: string, options: ListOptions): Promise<ListPage> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.continueToken) query.set('continue', options.continueToken);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    const body = await this.getBody(`${path}?${query.toString()}`, options.signal);
    return decodeListPage(body, `${this.url}${path}`);
  }

  async get(path: string, signal?: AbortSignal): Promise<unknown> {
    return JSON.parse(await this.getBody(path, signal)) as unknown;
  }

  async watch(path: string, options: WatchOptions): Promise<void> {
    const query = new URLSearchParams({ watch: '1', resourceVersion: options.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(options.timeoutSeconds) });
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    const http = await this.client();
    const headers = await this.authHeaders();
    const where = `${this.url}${path}`;
    try {
      await http.streamLines(
        `${path}?${query.toString()}`,
        (line) => {
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch (cause) {
            throw new DecodeError(`watch event from ${where}`, { cause });
          }
          if (event === null || typeof event !== 'object' || typeof (event as { type?: unknown }).type !== 'string') throw new DecodeError(`watch event from ${where}`, { cause: new Error('not an object with a "type"') });
          options.onEvent(event as WatchEvent);
        },
        { signal: options.signal, headers, headersTimeoutMs: this.options.timeoutMs ?? 30_000, ...(options.onOpen ? { onOpen: options.onOpen } : {}) },
      );
    } catch (error) {
      if (error instanceof HttpStatusError && !(error instanceof KubeApiError)) throw statusError(error.status, where, error.body, undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.http?.close();
    this.http = undefined;
  }

  private async getBody(pathAndQuery: string, signal: AbortSignal | undefined): Promise<string> {
    const http = await this.client();
    const response = await http.request(pathAndQuery, { headers: await this.authHeaders(), ...(signal ? { signal } : {}) });
    if (response.status < 200 || response.status >= 300) {
      const retryAfter = response.headers['retry-after'];
      throw statusError(response.status, `${this.url}${pathAndQuery.split('?')[0] ?? ''}`, response.body, typeof retryAfter === 'string' ? retryAfter : undefined);
    }
    return response.body;
  }

  private async client(): Promise<HttpClient> {
    if (this.http) return this.http;
    const secure = this.url.startsWith('https:');
    let ca: string | undefined;
    if (secure && this.endpoint.tlsVerify) ca = await readFile(this.endpoint.caFile, 'utf8').catch(() => undefined);
    this.http = new HttpClient(this.url, {
      timeoutMs: this.options.timeoutMs ?? 30_000,
      // One connection per watched resource, plus lists and gets.
      connections: 8,
      ...(secure ? { tls: { rejectUnauthorized: this.endpoint.tlsVerify, ...(ca !== undefined ? { ca } : {}) } } : {}),
    });
    return this.http;
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const token = await readFile(this.endpoint.tokenFile, 'utf8').then((t) => t.trim(), () => '');
    return token === '' ? { accept: 'application/json' } : { accept: 'application/json', authorization: `Bearer ${token}` };
  }
}

/** A list page's metadata and items (items are left raw for the informer's transform). */
export function decodeListPage(body: string, what: string): ListPage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (cause) {
    throw new DecodeError(`list from ${what}`, { cause });
  }
  if (value === null || typeof value !== 'object') throw new DecodeError(`list from ${what}`, { cause: new Error('not a JSON object') });
  const list = value as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown };
  const items = list.items === null || list.items === undefined ? [] : list.items;
  if (!Array.isArray(items)) throw new DecodeError(`list from ${what}`, { cause: new Error('"items" is not an array') });
  const rv = list.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw new DecodeError(`list from ${what}`, { cause: new Error('no metadata.resourceVersion') });
  return { resourceVersion: rv, continueToken: typeof list.metadata?.continue === 'string' ? list.metadata.continue : '', items };
}

/** A KubeApiError from a status and body (a Status object when the server sent one). */
export function statusError(status: number, url: string, body: string, retryAfterHeader: string | undefined): KubeApiError {
  let reason: string | undefined;
  let retryAfterMs: number | undefined;
  try {
    const parsed = JSON.parse(body) as { kind?: unknown; reason?: unknown; details?: { retryAfterSeconds?: unknown } };
    if (parsed.kind === 'Status') {
      if (typeof parsed.reason === 'string') reason = parsed.reason;
      if (typeof parsed.details?.retryAfterSeconds === 'number') retryAfterMs = parsed.details.retryAfterSeconds * 1000;
    }
  } catch {
    // Not a Status (a proxy's HTML page): the status code is all there is.
  }
  const seconds = retryAfterHeader === undefined ? Number.NaN : Number(retryAfterHeader);
  if (Number.isFinite(seconds) && seconds >= 0) retryAfterMs = seconds * 1000;
  return new KubeApiError(status, url, body, reason, retryAfterMs);
}
