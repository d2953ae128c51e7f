/**
 * The one HTTP client every collector and the IPC client share: HTTP/1.1 over a unix socket, TCP
 * or TLS (undici underneath, where `socketPath` is only a connect option). It does I/O only:
 * status checks, timeouts, abort, size caps and JSON decode, with typed errors. It knows nothing
 * about tags.
 */
import { StringDecoder } from 'node:string_decoder';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { AbortedError, DecodeError, HttpStatusError, SocketError, TaggerError, TimeoutError } from '../errors.js';
import { subscribeAbort } from './abort-fanout.js';
import { Limiter } from './limiter.js';

export interface Endpoint {
  /** `http://host:port` or `https://host:port`; for a unix socket, `http://localhost`. */
  readonly origin: string;
  readonly socketPath?: string;
  /** For logs and errors: the address the user configured. */
  readonly display: string;
}

/**
 * Parses what users write for an endpoint: `unix:///path`, `/path`, `tcp://host:port`,
 * `host:port`, `http://...` or `https://...` (a path after the origin is kept as a base path).
 */
export function parseEndpoint(address: string): Endpoint & { readonly basePath: string } {
  const trimmed = address.trim();
  if (trimmed.startsWith('unix://')) return { origin: 'http://localhost', socketPath: trimmed.slice('unix://'.length), display: trimmed, basePath: '' };
  if (trimmed.startsWith('/')) return { origin: 'http://localhost', socketPath: trimmed, display: `unix://${trimmed}`, basePath: '' };
  let url: URL;
  try {
    url = new URL(trimmed.startsWith('tcp://') ? `http://${trimmed.slice(6)}` : /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch (cause) {
    throw new DecodeError(`endpoint ${JSON.stringify(address)}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DecodeError(`endpoint ${JSON.stringify(address)}`, { cause: new Error(`unsupported scheme ${url.protocol}`) });
  return { origin: url.origin, display: trimmed, basePath: url.pathname.replace(/\/+$/, '') };
}

/** TLS for an `https:` origin. */
export interface TlsOptions {
  /** CAs to verify the server against, instead of Node's bundled ones. */
  readonly ca?: string | Buffer;
  /** Client certificate and its key (PEM), for servers that authenticate clients (mutual TLS). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Default true. */
  readonly rejectUnauthorized?: boolean;
}

export interface HttpClientOptions {
  /**
   * Default timeout for a whole request, headers and body, counted from the moment one of the
   * client's connections takes it (time queued for a connection does not count).
   */
  readonly timeoutMs?: number;
  /** Longest wait for a free connection before a request fails with a timeout. Default 60 s. */
  readonly queueTimeoutMs?: number;
  /** Largest body read into memory. Default 64 MiB. */
  readonly maxBodyBytes?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: TlsOptions;
  /** Connections kept per origin. Default 8. */
  readonly connections?: number;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBodyBytes?: number;
  readonly method?: 'GET' | 'POST' | 'HEAD' | 'PUT' | 'DELETE';
  /** A request body (JSON text, say); set its content-type in `headers`. */
  readonly body?: string;
}

export interface StreamOptions extends RequestOptions {
  /** Time allowed for the response headers; the body itself may stay open forever. */
  readonly headersTimeoutMs?: number;
  /** Longest line accepted; a longer one ends the stream with a DecodeError. Default 4 MiB. */
  readonly maxLineBytes?: number;
  /** Called once the headers arrive (the stream is established), with them. */
  readonly onOpen?: (headers: Readonly<Record<string, string | string[] | undefined>>) => void;
}

export interface TextResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export type BytesResponse = Omit<TextResponse, 'body'> & { readonly body: Buffer };

export class HttpClient {
  private readonly pool: Pool;
  /**
   * One slot per pool connection, taken before a request reaches undici: undici's own queue would
   * otherwise hold it while its timeout runs, so a burst behind slow requests timed out unsent.
   */
  private readonly slots: Limiter;
  private readonly basePath: string;
  readonly endpoint: Endpoint;

  constructor(
    address: string | (Endpoint & { basePath?: string }),
    private readonly options: HttpClientOptions = {},
  ) {
    const parsed = typeof address === 'string' ? parseEndpoint(address) : { basePath: '', ...address };
    this.endpoint = parsed;
    this.basePath = parsed.basePath;
    this.slots = new Limiter(options.connections ?? 8);
    this.pool = new Pool(parsed.origin, {
      connections: options.connections ?? 8,
      // Our own timeouts govern requests; undici's would cut long-lived streams.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        ...(parsed.socketPath ? { socketPath: parsed.socketPath } : {}),
        ...(options.tls ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, rejectUnauthorized: options.tls.rejectUnauthorized ?? true } : {}),
      },
    });
  }

  /** GET `path` and decode its JSON body; throws HttpStatusError for any non-2xx status. */
  async getJson<T = unknown>(path: string, options: RequestOptions & { decode?: (value: unknown) => T } = {}): Promise<T> {
    const body = await this.getBytes(path, options);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new DecodeError(`JSON from ${this.describe(path)}`, { cause });
    }
    return options.decode ? options.decode(parsed) : (parsed as T);
  }

  /** GET `path` and return its body's bytes undecoded; throws HttpStatusError for any non-2xx status. */
  async getBytes(path: string, options: RequestOptions = {}): Promise<Buffer> {
    const response = await this.requestBytes(path, options);
    if (response.status < 200 || response.status >= 300) throw new HttpStatusError(response.status, this.describe(path), response.body.toString('utf8', 0, 64 * 1024));
    return response.body;
  }

  /** Any request; the status is returned, not checked. */
  async request(path: string, options: RequestOptions = {}): Promise<TextResponse> {
    const response = await this.requestBytes(path, options);
    return { status: response.status, headers: response.headers, body: response.body.toString('utf8') };
  }

  /** As request(), with the body as bytes (large bodies skip a UTF-16 copy their reader may not need). */
  async requestBytes(path: string, options: RequestOptions = {}): Promise<BytesResponse> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    const release = await this.connection(path, options);
    const { signal, cleanup, timedOut } = withTimeout(options.signal, timeoutMs);
    try {
      const res = await this.pool.request({
        path: this.basePath + path,
        method: options.method ?? 'GET',
        headers: { ...this.options.headers, ...options.headers },
        ...(options.body !== undefined ? { body: options.body } : {}),
        signal,
      });
      const body = await readCapped(res.body, options.maxBodyBytes ?? this.options.maxBodyBytes ?? 64 * 1024 * 1024, this.describe(path));
      return { status: res.statusCode, headers: res.headers, body };
    } catch (error) {
      throw this.translate(error, this.name(path, options.method), timedOut(), timeoutMs, options.signal);
    } finally {
      cleanup();
      release();
    }
  }

  /**
   * Opens a long-lived response and calls `onLine` for each newline-delimited line (an optional
   * leading RS \x1e, as in json-seq, is stripped; empty lines are skipped). Resolves when the
   * server ends the stream; rejects on errors, non-2xx status, or abort.
   */
  async streamLines(path: string, onLine: (line: string) => void, options: StreamOptions = {}): Promise<void> {
    const headersTimeoutMs = options.headersTimeoutMs ?? options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    // The stream keeps its connection (and so its slot) until it ends.
    const release = await this.connection(path, options);
    try {
      await this.follow(path, onLine, options, headersTimeoutMs);
    } finally {
      release();
    }
  }

  private async follow(path: string, onLine: (line: string) => void, options: StreamOptions, headersTimeoutMs: number): Promise<void> {
    const { signal, cleanup, timedOut } = withTimeout(options.signal, headersTimeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        path: this.basePath + path,
        method: 'GET',
        headers: { ...this.options.headers, ...options.headers },
        signal,
      });
    } catch (error) {
      cleanup();
      throw this.translate(error, this.name(path), timedOut(), headersTimeoutMs, options.signal);
    }
    // Headers are in: from now on only the caller's signal may end the stream.
    cleanup(true);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const body = await readCapped(res.body, 64 * 1024, this.describe(path)).then((b) => b.toString('utf8'), () => '');
      cleanup();
      throw new HttpStatusError(res.statusCode, this.describe(path), body);
    }
    const maxLine = options.maxLineBytes ?? 4 * 1024 * 1024;
    const decoder = new StringDecoder('utf8');
    let pending = '';
    const unsubscribeBody = options.signal ? subscribeAbort(options.signal, () => res.body.destroy(new AbortedError(`stream ${this.describe(path)}`))) : undefined;
    try {
      options.onOpen?.(res.headers);
      for await (const chunk of res.body) {
        pending += decoder.write(chunk as Buffer);
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          emit(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
        if (pending.length > maxLine) throw new DecodeError(`stream ${this.describe(path)}`, { cause: new Error(`line longer than ${maxLine} bytes`) });
      }
      pending += decoder.end();
      if (pending.length > 0) emit(pending);
    } catch (error) {
      throw this.translate(error, this.name(path), false, 0, options.signal);
    } finally {
      unsubscribeBody?.();
      cleanup();
    }

    function emit(raw: string): void {
      let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.charCodeAt(0) === 0x1e) line = line.slice(1);
      if (line.trim() !== '') onLine(line);
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }

  /** Waits for a free connection (bounded by `queueTimeoutMs`, ended by the caller's abort). */
  private async connection(path: string, options: RequestOptions): Promise<() => void> {
    const queueMs = this.options.queueTimeoutMs ?? 60_000;
    const release = await this.slots.acquire(queueMs, options.signal);
    if (release) return release;
    if (options.signal?.aborted) throw new AbortedError(this.name(path, options.method));
    throw new TimeoutError(`${this.name(path, options.method)} waiting for a connection`, queueMs);
  }

  /** The request as errors name it: `POST unix:///…/path`. */
  private name(path: string, method: RequestOptions['method'] = 'GET'): string {
    return `${method} ${this.describe(path)}`;
  }

  private describe(path: string): string {
    return `${this.endpoint.display.replace(/\/+$/, '')}${this.basePath}${path.split('?')[0] ?? ''}`;
  }

  /** `what` is the request's name(). */
  private translate(error: unknown, what: string, timedOut: boolean, timeoutMs: number, callerSignal: AbortSignal | undefined): Error {
    // First: undici rejects with the timer's own abort reason, which does not name the request.
    if (timedOut) return new TimeoutError(what, timeoutMs);
    if (error instanceof TaggerError) return error;
    if (callerSignal?.aborted) return new AbortedError(what);
    if (error instanceof undiciErrors.RequestAbortedError) return new AbortedError(what);
    return new SocketError(this.endpoint.display, { cause: error });
  }
}

/**
 * A signal that fires on the caller's abort or after `ms`; `cleanup(keepCaller)` clears the timer.
 * The caller's signal is linked through subscribeAbort: it is usually a collector's, shared by all
 * of its requests at once.
 */
function withTimeout(caller: AbortSignal | undefined, ms: number): { signal: AbortSignal; cleanup: (keepCaller?: boolean) => void; timedOut: () => boolean } {
  const controller = new AbortController();
  let fired = false;
  const timer = ms > 0 ? setTimeout(() => {
    fired = true;
    controller.abort(new TimeoutError('request', ms));
  }, ms) : undefined;
  if (caller?.aborted) controller.abort(caller.reason);
  const unlinkCaller = caller ? subscribeAbort(caller, () => controller.abort(caller.reason)) : undefined;
  return {
    signal: controller.signal,
    timedOut: () => fired,
    cleanup: (keepCaller = false) => {
      if (timer) clearTimeout(timer);
      if (!keepCaller) unlinkCaller?.();
    },
  };
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw new DecodeError(`body of ${what}`, { cause: new Error(`larger than ${maxBytes} bytes`) });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}
