/**
 * The daemon's HTTP API (see docs/http-api.md) on the unix socket and the optional loopback TCP
 * address. Every route but GET /healthz needs the bearer token. Requests are small GETs, so
 * anything else is refused early: bodies, long URLs, many or large headers, slow senders
 * (header and request timeouts), too many connections. Errors are JSON, never a stack.
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import type { PodPlacement } from '../collectors/cluster-agent/ports.js';
import { ConfigError, causeMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TaggerPort } from '../tagger/tagger.js';
import { taggerMetricSources } from '../tagger/telemetry.js';
import type { MetricSource } from '../telemetry.js';
import { TokenChecker, ensureTokenFile } from './auth.js';
import { explainEntity } from './explain.js';
import { isLoopbackHost, listenTcp, listenUnix, parseTcpAddress, prepareSocketPath } from './listen.js';
import { createMetricsRegistry, newServerStats, type ServerStats } from './metrics.js';
import { statusBody, type StatusInfo } from './status.js';
import {
  entitiesBody,
  errorResponse,
  originEcho,
  parseCardinalityParam,
  parseNodeParam,
  parsePrefixParams,
  requiredParam,
  type OriginBody,
  type TagsBody,
} from './protocol.js';
import { Limiter } from '../net/limiter.js';
import { parseOriginQuery } from '../origin/parse.js';
import { serveStream, streamHeaders } from './stream.js';
import { StreamEncoder } from './stream-encoding.js';
import type { ServerTls } from './tls.js';

export interface IpcServerOptions {
  readonly tagger: TaggerPort;
  /** Unix socket path; empty or absent for none. */
  readonly socketPath?: string;
  /** Loopback `host:port` (port 0 picks one); empty or absent for none. */
  readonly tcpAddress?: string;
  /**
   * A cluster instance serves node daemons over the network: `tcpAddress` may then be any
   * address, and a non-loopback one must have `tls`. Otherwise it must be loopback.
   */
  readonly allowNetwork?: boolean;
  /** Serve `tcpAddress` over HTTPS with this certificate and key (the unix socket stays HTTP). */
  readonly tls?: ServerTls;
  /** Where pods run (a cluster instance): enables `/v1/stream?node=NAME`. */
  readonly placement?: PodPlacement;
  /**
   * /metrics of components beside the tagger's own (a cluster instance's API-server watches:
   * kubernetesTelemetry), registered before the tagger's.
   */
  readonly metricSources?: readonly MetricSource[];
  /** The token file (created 0600 when missing), or the token itself. */
  readonly authTokenFile?: string;
  readonly token?: string;
  readonly logger?: Logger;
  /** Ages the stream encoder's cache. */
  readonly clock?: Clock;
  readonly heartbeatMs?: number;
  /** Version and mode for GET /v1/status; default the server's own start, version "unknown". */
  readonly status?: StatusInfo;
  readonly maxConnections?: number;
  /** Initial syncs of /v1/stream served at once; others wait up to syncWaitMs, then get 503. */
  readonly maxConcurrentSyncs?: number;
  readonly syncWaitMs?: number;
  /** Live events a stream subscriber may have queued before it is dropped. */
  readonly maxPendingEvents?: number;
  /** A stream reader that takes no bytes for this long is dropped, and a large response not read in this long is cut (default 10 s). */
  readonly streamStallTimeoutMs?: number;
  readonly processMetrics?: boolean;
  readonly limits?: Partial<RequestLimits>;
}

export interface RequestLimits {
  readonly maxUrlBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxHeadersCount: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

const DEFAULT_LIMITS: RequestLimits = {
  maxUrlBytes: 4096,
  maxHeaderBytes: 16 * 1024,
  maxHeadersCount: 50,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
};

/** Bodies above this may not fit in the socket buffers at once: they get a write deadline. */
const LARGE_BODY = 64 * 1024;

const EMPTY_TAGS: readonly string[] = Object.freeze([]);

const ROUTES = new Set(['/v1/tags', '/v1/entities', '/v1/stream', '/v1/origin', '/v1/explain', '/v1/status', '/healthz', '/metrics']);

export class IpcServer {
  readonly stats: ServerStats = newServerStats();
  readonly registry: Registry;
  private readonly options: IpcServerOptions;
  private readonly logger: Logger;
  private readonly limits: RequestLimits;
  /** A stream reader, or the reader of a large response, that takes nothing for this long is cut. */
  private readonly stallTimeoutMs: number;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** Connections that have sent at least one request (see the idle timer in newServer). */
  private readonly requested = new WeakSet<Socket>();
  private readonly closing = new AbortController();
  private readonly limiter: Limiter;
  private readonly encoder: StreamEncoder;
  private checker: TokenChecker | undefined;
  private tcp: { host: string; port: number } | undefined;
  private readonly statusInfo: StatusInfo;

  constructor(options: IpcServerOptions) {
    this.options = options;
    this.statusInfo = options.status ?? { version: 'unknown', mode: 'local', startedAt: Date.now() };
    this.logger = options.logger ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.stallTimeoutMs = options.streamStallTimeoutMs ?? 10_000;
    this.limiter = new Limiter(options.maxConcurrentSyncs ?? 4);
    this.encoder = new StreamEncoder({ clock: options.clock ?? systemClock });
    // Every open stream listens for the stop: more than 10 is normal, not a leak to warn about.
    setMaxListeners(0, this.closing.signal);
    const sources = [...(options.metricSources ?? []), ...taggerMetricSources(options.tagger)];
    this.registry = createMetricsRegistry(sources, this.stats, { processMetrics: options.processMetrics ?? true });
  }

  /** The bound TCP address (useful with port 0). */
  get tcpAddress(): { host: string; port: number } | undefined {
    return this.tcp;
  }

  async start(): Promise<void> {
    const token = this.options.token ?? (this.options.authTokenFile ? ensureTokenFile(this.options.authTokenFile) : undefined);
    if (!token) throw new Error('IpcServer needs token or authTokenFile');
    this.checker = new TokenChecker(token);
    const tcp = this.options.tcpAddress ? this.checkedTcpAddress(this.options.tcpAddress) : undefined;
    if (this.options.socketPath) {
      await prepareSocketPath(this.options.socketPath);
      await listenUnix(this.watchErrors(this.newServer()), this.options.socketPath, this.backlog);
      this.logger.info({ socket: this.options.socketPath }, 'IPC listening on unix socket');
    }
    if (tcp) {
      this.tcp = await listenTcp(this.watchErrors(this.newServer(this.options.tls)), tcp.host, tcp.port, this.backlog);
      this.logger.info({ address: `${this.tcp.host}:${this.tcp.port}`, tls: this.options.tls !== undefined }, 'IPC listening on TCP');
    }
  }

  /** Loopback only, unless a cluster instance serves the network, and then only over TLS. */
  private checkedTcpAddress(address: string): { host: string; port: number } {
    const tcp = parseTcpAddress(address);
    if (isLoopbackHost(tcp.host)) return tcp;
    if (!this.options.allowNetwork) throw new ConfigError('ipc.tcp_address', `must be a loopback address (127.0.0.1, ::1 or localhost), got ${JSON.stringify(tcp.host)}; only mode: cluster serves the network`);
    if (!this.options.tls) throw new ConfigError('ipc.tls_cert_file', `ipc.tcp_address ${address} is not a loopback address: serving it needs HTTPS (set ipc.tls_cert_file and ipc.tls_key_file)`);
    return tcp;
  }

  /** Forgets the cached stream encodings: the next snapshot encodes every entity (benchmarks measure it). */
  forgetEncodings(): void {
    this.encoder.clear();
  }

  /** Stops accepting, ends streams, waits up to `graceMs` for requests in flight, then cuts. */
  async stop(graceMs = 2_000): Promise<void> {
    this.closing.abort();
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    // Streams end asynchronously; once they have, their kept-alive connections are idle and go.
    const deadline = Date.now() + graceMs;
    while (this.stats.activeStreams > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const s of this.servers) s.closeIdleConnections();
    await Promise.all(closed);
    clearTimeout(timer);
    this.servers.length = 0;
  }

  /** Queue as many pending connects as may be served at once (the kernel caps it at somaxconn). */
  private get backlog(): number {
    return Math.max(511, this.options.maxConnections ?? 1024);
  }

  /**
   * Once listening, a server's 'error' (EMFILE when accept runs out of descriptors...) would be an
   * uncaught exception without a listener: the daemon stays up, logs and counts it instead.
   */
  private watchErrors(server: Server): Server {
    server.once('listening', () =>
      server.on('error', (error: Error & { code?: string }) => {
        this.stats.listenerErrors++;
        this.logger.error({ error: error.message, code: error.code }, 'IPC listener error; still serving');
      }),
    );
    return server;
  }

  private newServer(tls?: ServerTls): Server {
    const options: ServerOptions = {
      maxHeaderSize: this.limits.maxHeaderBytes,
      headersTimeout: this.limits.headersTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, this.limits.headersTimeoutMs),
      // Host means nothing on a unix socket, and Node would answer 400 when maxHeadersCount
      // truncation drops it; the header count check below gives the real reason instead.
      requireHostHeader: false,
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    // A handshake gets the time a request's headers get (TLS's own default is 120 s).
    const server: Server = tls ? (createHttpsServer({ ...options, cert: tls.cert, key: tls.key, handshakeTimeout: this.limits.headersTimeoutMs }, handler) as unknown as Server) : createServer(options, handler);
    // Node's own answer to an Expect other than 100-continue is an empty 417: make it JSON too.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      this.requested.add(req.socket);
      res.setHeader('connection', 'close');
      this.send(res, 'other', 417, { error: 'only "Expect: 100-continue" is understood' });
    });
    // Node silently drops headers past maxHeadersCount; one more lets handle() see and refuse them.
    server.maxHeadersCount = this.limits.maxHeadersCount + 1;
    server.maxConnections = this.options.maxConnections ?? 1024;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Over TLS the requests come on the TLS socket, once the handshake is done (a handshake that
    // never ends is cut by handshakeTimeout above).
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      // Node's headersTimeout starts at a request's first byte: a connection that never sends
      // one would hold one of maxConnections for ever. It gets the same time to start.
      const idle = setTimeout(() => {
        if (!this.requested.has(socket)) refuse(socket, 408, 'Request Timeout');
      }, this.limits.headersTimeoutMs);
      idle.unref();
      socket.once('close', () => clearTimeout(idle));
    });
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
      const [status, text] =
        error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
      refuse(socket, status, text);
    });
    this.servers.push(server);
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requested.add(req.socket);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = ROUTES.has(path) ? path : 'other';
    try {
      if (this.closing.signal.aborted) {
        // A kept-alive connection may still send a request after stop(): turn it away for good.
        res.setHeader('connection', 'close');
        return this.send(res, route, 503, { error: 'shutting down' });
      }
      if (url.length > this.limits.maxUrlBytes) return this.send(res, route, 414, { error: `URL longer than ${this.limits.maxUrlBytes} bytes` });
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET');
        return this.send(res, route, 405, { error: 'only GET is supported' });
      }
      if (req.rawHeaders.length / 2 > this.limits.maxHeadersCount) {
        res.setHeader('connection', 'close');
        return this.send(res, route, 431, { error: `more than ${this.limits.maxHeadersCount} headers` });
      }
      if (hasBody(req)) {
        res.setHeader('connection', 'close');
        return this.send(res, route, 413, { error: 'request bodies are not accepted' });
      }
      if (path === '/healthz') return this.health(res);
      if (!this.checker?.matches(req.headers.authorization)) {
        this.stats.authFailures++;
        res.setHeader('www-authenticate', 'Bearer');
        return this.send(res, route, 401, { error: 'missing or wrong bearer token' });
      }
      const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      switch (path) {
        case '/v1/tags':
          return await this.tags(res, params);
        case '/v1/entities':
          return this.send(res, route, 200, entitiesBody(this.options.tagger.list()));
        case '/v1/stream': {
          const node = parseNodeParam(params);
          if (node !== undefined && !this.options.placement) return this.send(res, route, 400, { error: 'node= filters a cluster instance’s stream (mode: cluster); this daemon does not know where pods run' });
          const query = { cardinality: parseCardinalityParam(params), prefixes: parsePrefixParams(params), ...(node !== undefined ? { node } : {}) };
          this.count(route, 200);
          // HEAD gets the headers alone: Node drops a HEAD body, so a stream behind it would never
          // fill its buffer, never stall, and encode every event for nobody.
          if (req.method === 'HEAD') return void res.writeHead(200, streamHeaders(this.options.heartbeatMs ?? 30_000)).end();
          return await serveStream(res, query, {
            tagger: this.options.tagger,
            encoder: this.encoder,
            logger: this.logger,
            stats: this.stats,
            limiter: this.limiter,
            heartbeatMs: this.options.heartbeatMs ?? 30_000,
            maxPendingEvents: this.options.maxPendingEvents ?? 10_000,
            syncWaitMs: this.options.syncWaitMs ?? 30_000,
            stallTimeoutMs: this.stallTimeoutMs,
            closing: this.closing.signal,
            ...(this.options.placement ? { placement: this.options.placement } : {}),
          });
        }
        case '/v1/origin':
          return await this.origin(res, params);
        case '/v1/explain':
          return this.send(res, route, 200, explainEntity(this.options.tagger, requiredParam(params, 'entity')));
        case '/v1/status':
          return this.send(res, route, 200, statusBody(this.options.tagger, this.stats, this.statusInfo, Date.now()));
        case '/metrics': {
          const text = await this.registry.metrics();
          res.setHeader('content-type', this.registry.contentType);
          return this.sendText(res, route, 200, text);
        }
        default:
          return this.send(res, route, 404, { error: `no route ${path.slice(0, 100)}` });
      }
    } catch (error) {
      const { status, body } = errorResponse(error);
      if (status >= 500) this.logger.error({ route, error: causeMessage(error) }, 'IPC request failed');
      if (!res.headersSent) this.send(res, route, status, body);
      else res.destroy();
    }
  }

  private async tags(res: ServerResponse, params: URLSearchParams): Promise<void> {
    const tagger = this.options.tagger;
    const id = tagger.resolve(requiredParam(params, 'entity'));
    const cardinality = parseCardinalityParam(params);
    const tags = await tagger.tag(id, cardinality);
    const body: TagsBody = { entity: id, cardinality, tags };
    this.send(res, '/v1/tags', 200, body);
  }

  /** One origin of any form -> its entity and tags (docs/origin-detection.md); an unknown one is nulls and []. */
  private async origin(res: ServerResponse, params: URLSearchParams): Promise<void> {
    const origin = parseOriginQuery(params);
    const cardinality = parseCardinalityParam(params);
    const tagger = this.options.tagger;
    const found = await tagger.lookupOrigin(origin);
    const tags = found === undefined ? EMPTY_TAGS : await tagger.tag(found.entity, cardinality);
    const body: OriginBody = { ...originEcho(origin, params), container_id: found?.containerId ?? null, entity: found?.entity ?? null, tags };
    this.send(res, '/v1/origin', 200, body);
  }

  private health(res: ServerResponse): void {
    const health = this.options.tagger.health();
    const reasons = Object.entries(health.collectors)
      .filter(([, h]) => !h.healthy)
      .map(([name, h]) => `${name}: ${h.message}`);
    // Each collector's health and state only: its activity (last sync, errors) is /v1/status's.
    const collectors = Object.fromEntries(Object.entries(health.collectors).map(([name, h]) => [name, { healthy: h.healthy, message: h.message, state: h.state }]));
    this.send(res, '/healthz', health.healthy ? 200 : 503, { status: health.healthy ? 'ok' : 'unhealthy', reasons, collectors });
  }

  private send(res: ServerResponse, route: string, status: number, body: unknown): void {
    res.setHeader('content-type', 'application/json');
    this.sendText(res, route, status, JSON.stringify(body));
  }

  private sendText(res: ServerResponse, route: string, status: number, text: string): void {
    this.count(route, status);
    res.statusCode = status;
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
    // A body larger than the socket buffers waits in our memory until the client reads it (a
    // dump of a big store is megabytes): a client that stops reading gets the stream stall
    // timeout to take it, then the connection is cut.
    if (text.length > LARGE_BODY && !res.writableFinished) {
      const stallMs = this.stallTimeoutMs;
      const timer = setTimeout(() => {
        this.stats.stalledResponses++;
        this.logger.warn({ route, bytes: text.length, stalledMs: stallMs }, 'client did not read its response in time; closing the connection');
        res.destroy();
      }, stallMs);
      timer.unref();
      res.once('finish', () => clearTimeout(timer));
      res.once('close', () => clearTimeout(timer));
    }
  }

  private count(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.stats.requests.set(key, (this.stats.requests.get(key) ?? 0) + 1);
  }
}

/** Answers a connection that never made a parseable request, and closes it. */
function refuse(socket: Socket, status: number, text: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: text.toLowerCase() });
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  // A peer that does not read would keep a half-closed socket: it has had its answer.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}
