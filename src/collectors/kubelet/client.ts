/**
 * I/O for the kubelet collector: `GET /pods` on the kubelet's API, over HTTPS with a bearer
 * token (port 10250) or plain HTTP (the read-only port 10255). It knows nothing about tags.
 *
 * The token file is read at every request, so a rotated service-account token (projected
 * tokens expire within the hour) is picked up without a restart. The two failures users hit
 * when deploying — missing RBAC and an unverifiable kubelet certificate — get their own error
 * classes with messages that say what to change.
 */
import { readFile } from 'node:fs/promises';
import { DecodeError, HttpStatusError, SocketError, isTaggerError } from '../../errors.js';
import { HttpClient } from '../../net/http-client.js';
import type { KubePodList } from './types.js';

export interface KubeletClientOptions {
  /** `https://host:10250` or `http://host:10255`. */
  readonly url: string;
  /** Bearer token file; empty for none. Never sent over plain HTTP. */
  readonly tokenFile?: string;
  /** CA bundle that signed the kubelet's serving certificate; empty for the system store. */
  readonly caFile?: string;
  readonly tlsVerify: boolean;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
}

/** 401 or 403 from the kubelet: the token is missing or wrong, or lacks the RBAC it needs. */
export class KubeletAuthError extends HttpStatusError {
  constructor(status: number, url: string, body: string, tokenProblem: string | undefined) {
    super(status, url, body);
    this.message =
      status === 401
        ? `kubelet ${url} rejected the credentials (HTTP 401): ${tokenProblem ?? 'the bearer token from kubelet.token_file is not accepted'}; mount a service-account token or set kubelet.token_file`
        : `kubelet ${url} denied access (HTTP 403): the service account needs RBAC permission to "get" the "nodes/proxy" resource (ClusterRole rule: apiGroups [""], resources ["nodes/proxy"], verbs ["get"])`;
  }
}

/** The TLS handshake with the kubelet failed: unverifiable certificate, wrong name, not TLS... */
export class KubeletTlsError extends SocketError {
  constructor(url: string, cause: unknown, detail: string, caProblem: string | undefined) {
    super(url, { cause });
    this.message = `TLS with kubelet ${url} failed (${detail})${caProblem ? `; ${caProblem}` : ''}: set kubelet.ca_file to the CA that signed the kubelet's serving certificate, or kubelet.tls_verify: false`;
  }
}

/** `https://<NODE_IP, else HOST_IP, else localhost>:10250`, as a DaemonSet usually gets them. */
export function defaultKubeletUrl(env: NodeJS.ProcessEnv): string {
  const host = env.NODE_IP?.trim() || env.HOST_IP?.trim() || 'localhost';
  return `https://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:10250`;
}

export class KubeletClient {
  readonly url: string;
  private readonly secure: boolean;
  private http: HttpClient | undefined;
  private caProblem: string | undefined;
  private tokenProblem: string | undefined;

  constructor(private readonly options: KubeletClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.secure = /^https:/i.test(this.url);
  }

  /** The pods kubelet runs. DecodeError when the body is not a PodList. */
  async getPods(signal?: AbortSignal): Promise<KubePodList> {
    return parsePodList(await this.getPodsBody(signal), this.url);
  }

  /** The `/pods` body's bytes, undecoded: the collector parses only the pods it has not seen. */
  async getPodsBody(signal?: AbortSignal): Promise<Buffer> {
    const http = await this.client();
    const headers = await this.authHeaders();
    try {
      return await http.getBytes('/pods', { signal, headers });
    } catch (error) {
      throw this.translate(error, '/pods');
    }
  }

  /** GET /healthz: the status code of any HTTP answer (even 401/403 proves a kubelet is there). */
  async probe(signal?: AbortSignal): Promise<number> {
    const http = await this.client();
    const headers = await this.authHeaders();
    try {
      return (await http.request('/healthz', { signal, headers, timeoutMs: 2_000, maxBodyBytes: 64 * 1024 })).status;
    } catch (error) {
      throw this.translate(error, '/healthz');
    }
  }

  async close(): Promise<void> {
    await this.http?.close();
    this.http = undefined;
  }

  private async client(): Promise<HttpClient> {
    if (this.http) return this.http;
    let tls: { ca?: string; rejectUnauthorized: boolean } | undefined;
    if (this.secure) {
      tls = { rejectUnauthorized: this.options.tlsVerify };
      if (this.options.tlsVerify && this.options.caFile) {
        try {
          tls.ca = await readFile(this.options.caFile, 'utf8');
          this.caProblem = undefined;
        } catch (error) {
          // Outside a pod the default CA path does not exist: fall back to the system store.
          this.caProblem = `kubelet.ca_file ${this.options.caFile} is unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'}), so the system CAs were used`;
        }
      }
    }
    this.http = new HttpClient(this.url, { timeoutMs: this.options.timeoutMs ?? 10_000, connections: 2, ...(tls ? { tls } : {}) });
    return this.http;
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const file = this.options.tokenFile;
    if (!this.secure || !file) return {};
    try {
      const token = (await readFile(file, 'utf8')).trim();
      this.tokenProblem = token === '' ? `kubelet.token_file ${file} is empty` : undefined;
      return token === '' ? {} : { authorization: `Bearer ${token}` };
    } catch (error) {
      this.tokenProblem = `kubelet.token_file ${file} is unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
      return {};
    }
  }

  private translate(error: unknown, path: string): unknown {
    const where = `${this.url}${path}`;
    if (error instanceof HttpStatusError && (error.status === 401 || error.status === 403)) {
      return new KubeletAuthError(error.status, where, error.body, this.tokenProblem);
    }
    if (isTaggerError(error, 'TAGGER_SOCKET')) {
      const detail = tlsDetail(error);
      if (detail !== undefined) return new KubeletTlsError(where, error.cause, detail, this.caProblem);
    }
    return error;
  }
}

/** The whole body parsed and checked (decodePodList); DecodeError when it is not JSON. */
export function parsePodList(body: Uint8Array, url: string): KubePodList {
  return decodePodList(parseJsonBytes(body, `JSON from ${url}/pods`));
}

const utf8 = new TextDecoder();

/** UTF-8 JSON bytes parsed (a view is decoded in place, no copy); DecodeError naming `what`. */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch (cause) {
    throw new DecodeError(what, { cause });
  }
}

/** Checks the body is a PodList: an object whose `items` is an array (items are checked later). */
export function decodePodList(value: unknown): KubePodList {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DecodeError('kubelet /pods', { cause: new Error('body is not a JSON object') });
  const items = (value as { items?: unknown }).items;
  // kubelet serialises an empty list as `"items": null` in some versions.
  if (items === null) return { ...(value as object), items: [] };
  if (!Array.isArray(items)) throw new DecodeError('kubelet /pods', { cause: new Error('no "items" array') });
  return value as KubePodList;
}

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|EPROTO/;

/** The TLS failure's code (or message) when any cause in the chain is one, else undefined. */
function tlsDetail(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODE.test(code)) return `${code}: ${current.message}`;
    if (/certificate|ssl|tls/i.test(current.message) && !(current instanceof SocketError)) return current.message;
    current = current.cause;
  }
  return undefined;
}
