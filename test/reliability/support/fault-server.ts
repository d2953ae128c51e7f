/**
 * A fault-injecting fake HTTP(S) server for the reliability suite (kubelet, ECS agent, task
 * metadata). It listens on 127.0.0.1 on an ephemeral port, serves fixed routes, and misbehaves on
 * demand: a status, a hang after the headers, a TCP reset mid-body, a body cut short, any body with
 * any content type (streamed from Buffers, so a 50 MB body costs one Buffer), a wrong bearer token,
 * and, over TLS, a certificate swapped mid-run. It counts requests per path and the most sockets
 * it ever had open, so tests can check that retries do not pile up.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TestCert } from '../../../src/test-support/certs.js';

export type Fault =
  /** Any status with a short text body. */
  | { readonly kind: 'status'; readonly status: number; readonly body?: string }
  /** 200 and a few bytes of the route's body, then nothing until the client gives up. */
  | { readonly kind: 'hang' }
  /** 200 with the full Content-Length, half the body, then a TCP RST. */
  | { readonly kind: 'reset' }
  /** A complete response whose body is the first half of the route's body. */
  | { readonly kind: 'truncated' }
  /** A 200 with these bytes (written in order, with backpressure) and this content type. */
  | { readonly kind: 'body'; readonly parts: readonly Buffer[]; readonly contentType?: string };

export interface Route {
  readonly status?: number;
  readonly body: string | Buffer;
  readonly contentType?: string;
}

const CHUNK = 1 << 20;

export class FaultServer {
  /** Exact `path` or `path?query`; anything else is 404 (as the kubelet and ECS agent answer) unless a fault is set. */
  readonly routes = new Map<string, Route>();
  /** While set, every request gets this instead of its route. */
  fault: Fault | undefined;
  /** The accepted bearer token; undefined accepts any request. */
  token: string | undefined;
  /** Request start times (Date.now()) of `timedPath`, for poll durations. */
  readonly requestTimes: number[] = [];
  timedPath = '';
  private readonly hits = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  /** TCP sockets by remote port: under TLS, only the raw socket can send a reset. */
  private readonly byPort = new Map<number, Socket>();
  private maxSockets = 0;

  private constructor(
    private readonly server: Server | HttpsServer,
    readonly url: string,
  ) {}

  static async start(options: { tls?: TestCert; basePath?: string } = {}): Promise<FaultServer> {
    const holder: { fake?: FaultServer } = {};
    const handler = (req: IncomingMessage, res: ServerResponse): void => void holder.fake?.handle(req, res);
    const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const fake = new FaultServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${options.basePath ?? ''}`);
    server.on('connection', (socket: Socket) => fake.track(socket));
    holder.fake = fake;
    return fake;
  }

  route(path: string, body: string | Buffer, options: { status?: number; contentType?: string } = {}): this {
    this.routes.set(path, { body, status: options.status, contentType: options.contentType });
    return this;
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const v of this.hits.values()) n += v;
    return n;
  }

  resetCounts(): void {
    this.hits.clear();
    this.maxSockets = this.sockets.size;
  }

  /** The most sockets open at once since the last resetCounts(). */
  get peakSockets(): number {
    return this.maxSockets;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  /** Serves a new certificate to new connections and drops the current ones, so clients must handshake again. */
  setCertificate(cert: TestCert): void {
    (this.server as HttpsServer).setSecureContext({ key: cert.key, cert: cert.cert });
    this.dropConnections();
  }

  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    const port = socket.remotePort;
    if (port !== undefined) this.byPort.set(port, socket);
    this.maxSockets = Math.max(this.maxSockets, this.sockets.size);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (port !== undefined && this.byPort.get(port) === socket) this.byPort.delete(port);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    this.hits.set(url, (this.hits.get(url) ?? 0) + 1);
    if (url === this.timedPath) this.requestTimes.push(Date.now());
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    const route = this.routes.get(url);
    // A fault hits every path, known or not (a broken server does not route first).
    const fault = this.fault;
    if (fault === undefined && route === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    const body = route === undefined ? Buffer.from('{"message":"this path has no route in the fake"}') : typeof route.body === 'string' ? Buffer.from(route.body) : route.body;
    switch (fault?.kind) {
      case undefined:
        res.writeHead(route?.status ?? 200, { 'content-type': route?.contentType ?? 'application/json', 'content-length': body.length });
        return writeAll(res, [body]);
      case 'status':
        return void res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(fault.body ?? `HTTP ${fault.status}`);
      case 'hang':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, Math.min(10, body.length - 1)));
        return;
      case 'reset':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => {
          const port = req.socket.remotePort;
          (port === undefined ? undefined : this.byPort.get(port))?.resetAndDestroy();
        });
        return;
      case 'truncated': {
        const half = body.subarray(0, body.length >> 1);
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': half.length }).end(half);
      }
      case 'body': {
        let length = 0;
        for (const part of fault.parts) length += part.length;
        res.writeHead(200, { 'content-length': length, ...(fault.contentType ? { 'content-type': fault.contentType } : {}) });
        return writeAll(res, fault.parts);
      }
    }
  }
}

/** Writes the parts in 1 MiB slices, waiting for drain; stops when the client goes away. */
async function writeAll(res: ServerResponse, parts: readonly Buffer[]): Promise<void> {
  for (const part of parts) {
    for (let offset = 0; offset < part.length; offset += CHUNK) {
      if (res.destroyed) return;
      if (!res.write(part.subarray(offset, offset + CHUNK))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
  }
  if (!res.destroyed) res.end();
}
