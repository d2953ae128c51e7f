/**
 * A fake Docker Engine API on a temp unix socket (or on 127.0.0.1, plain or over TLS that requires
 * a client certificate, as dockerd's `--tlsverify` does), for unit tests: `/_ping`, `/version`,
 * `/v<x>/containers/json`, `/v<x>/containers/{id}/json`, `/v<x>/images/{id}/json` and a held-open
 * `/v<x>/events` to which tests write raw bytes (whole lines or arbitrary chunks). Its container
 * table is plain inspect JSON that tests set directly or through `applyEvent` (create, start, die,
 * destroy/remove, rename), as a daemon would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCert } from '../../../test-support/certs.js';

type Json = Record<string, unknown>;

/** Event attributes that are not labels. */
const NON_LABEL_ATTRIBUTES = new Set(['image', 'name', 'exitCode', 'signal', 'execDuration', 'containerExitCode', 'podId']);

export interface FakeDockerListen {
  /** Listen on 127.0.0.1 (an ephemeral port) instead of the unix socket. */
  readonly tcp?: boolean;
  /**
   * Serve TLS with this certificate (implies tcp) and accept only clients whose certificate `ca`
   * signed, as `dockerd --tlsverify --tlscacert` does.
   */
  readonly tls?: { readonly server: TestCert; readonly ca: string };
}

export interface RecordedRequest {
  readonly path: string;
  readonly at: number;
}

export class FakeDocker {
  readonly dir = mkdtempSync(join(tmpdir(), 'tagger-fake-docker-'));
  readonly socketPath = join(this.dir, 'docker.sock');
  /** DOCKER_HOST for this daemon: `unix://…`, or `tcp://127.0.0.1:<port>` once started on TCP. */
  host = `unix://${this.socketPath}`;
  readonly requests: RecordedRequest[] = [];
  version: Json = { ApiVersion: '1.41', MinAPIVersion: '1.12', Version: '20.10.24+dfsg1' };
  /** ID -> inspect JSON. */
  readonly containers = new Map<string, Json>();
  readonly images = new Map<string, string[]>();
  /** Milliseconds each inspect waits before answering. */
  inspectDelayMs = 0;
  /** While true, `/_ping` never answers (a hung daemon, for liveness checks). */
  hangPings = false;
  /** Called with the ID on each inspect, before it answers (to change state mid-flight). */
  onInspect: ((id: string) => void) | undefined;
  /** Called before the container list is answered (to write events while the client lists). */
  onList: (() => void) | undefined;
  /** Fault injection: an HTTP status to answer an inspect of this ID with, instead of the container. */
  inspectFault: ((id: string) => number | undefined) | undefined;
  /** Inspects being answered now, and the most seen at once. */
  inspectsInFlight = 0;
  maxInspectsInFlight = 0;
  private readonly streams = new Set<ServerResponse>();
  private readonly server: Server;
  private template: Json;

  constructor(
    template: Json,
    private readonly listen: FakeDockerListen = {},
  ) {
    this.template = template;
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const tls = listen.tls;
    this.server = tls ? createHttpsServer({ key: tls.server.key, cert: tls.server.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, handler) : createServer(handler);
  }

  async start(): Promise<this> {
    const tcp = this.listen.tcp === true || this.listen.tls !== undefined;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      if (tcp) this.server.listen(0, '127.0.0.1', () => resolve());
      else this.server.listen(this.socketPath, () => resolve());
    });
    if (tcp) this.host = `tcp://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Closes everything, open event streams first; removes the socket directory. */
  async close(): Promise<void> {
    this.endStreams();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Event requests seen so far (their full paths, with query). */
  eventRequests(): string[] {
    return this.requests.filter((r) => r.path.includes('/events')).map((r) => r.path);
  }

  /** Writes raw bytes to every open events stream. */
  write(bytes: string | Buffer): void {
    for (const res of this.streams) res.write(bytes);
  }

  /** Ends every open events stream (a daemon shutting down). */
  endStreams(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  async waitForStreams(n = 1, timeoutMs = 5_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.streams.size < n) {
      if (Date.now() > until) throw new Error(`no events stream after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Adds a container from an inspect JSON (Id taken from it). */
  put(inspect: Json): void {
    this.containers.set(String(inspect.Id), structuredClone(inspect));
  }

  setRunning(id: string, running: boolean): void {
    const c = this.containers.get(id);
    if (!c) return;
    const state = { ...(c.State as Json), Running: running, Status: running ? 'running' : 'exited' };
    c.State = state;
  }

  /** Updates the table as the daemon would have before sending this event line. */
  applyEvent(line: string): void {
    const e = JSON.parse(line.charCodeAt(0) === 0x1e ? line.slice(1) : line) as Json;
    if (e.Type !== 'container') return;
    const actor = (e.Actor ?? {}) as Json;
    const id = String(actor.ID);
    const attrs = (actor.Attributes ?? {}) as Record<string, string>;
    const action = String(e.Action).split(':')[0];
    switch (action) {
      case 'create':
        if (!this.containers.has(id)) this.put(this.synthesize(id, attrs));
        this.setRunning(id, false);
        break;
      case 'start':
      case 'restart':
        if (!this.containers.has(id)) this.put(this.synthesize(id, attrs));
        this.setRunning(id, true);
        break;
      case 'die':
        this.setRunning(id, false);
        break;
      case 'destroy':
      case 'remove':
        this.containers.delete(id);
        break;
      case 'rename': {
        const c = this.containers.get(id);
        if (c && attrs.name) c.Name = `/${attrs.name}`;
        break;
      }
    }
  }

  /** An inspect for a container only known from its events: the template with its ID, name, image, labels. */
  private synthesize(id: string, attrs: Record<string, string>): Json {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrs)) if (!NON_LABEL_ATTRIBUTES.has(k)) labels[k] = v;
    const t = structuredClone(this.template);
    return { ...t, Id: id, Name: `/${attrs.name ?? id.slice(0, 12)}`, Config: { ...(t.Config as Json), Image: attrs.image ?? '', Labels: labels, Env: [] } };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.requests.push({ path, at: Date.now() });
    const url = new URL(path, 'http://d');
    const p = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (p === '/_ping') {
      if (this.hangPings) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
      return;
    }
    if (p === '/version') return json(200, this.version);
    if (p === '/containers/json') {
      this.onList?.();
      const running = [...this.containers.values()].filter((c) => (c.State as Json | undefined)?.Running === true);
      return json(
        200,
        running.map((c) => ({ Id: c.Id, Names: [c.Name], Image: (c.Config as Json).Image, ImageID: c.Image, Labels: (c.Config as Json).Labels, State: 'running' })),
      );
    }
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(p);
    if (inspect) {
      const id = decodeURIComponent(inspect[1] as string);
      this.maxInspectsInFlight = Math.max(this.maxInspectsInFlight, ++this.inspectsInFlight);
      const answer = (): void => {
        this.inspectsInFlight--;
        this.onInspect?.(id);
        const fault = this.inspectFault?.(id);
        if (fault !== undefined) return json(fault, { message: `injected fault for ${id}` });
        const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => String(x.Id).startsWith(id) || x.Name === `/${id}`);
        if (c) json(200, c);
        else json(404, { message: `No such container: ${id}` });
      };
      if (this.inspectDelayMs > 0) setTimeout(answer, this.inspectDelayMs);
      else answer();
      return;
    }
    const image = /^\/images\/([^/]+)\/json$/.exec(p);
    if (image) {
      const tags = this.images.get(decodeURIComponent(image[1] as string));
      return tags ? json(200, { Id: image[1], RepoTags: tags }) : json(404, { message: 'No such image' });
    }
    if (p === '/events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    json(404, { message: 'page not found' });
  }
}
