/**
 * A Docker Engine API that replays recorded dockerd 20.10 payloads: `/_ping`, `/version`,
 * `/v<api>/containers/json`, `/v<api>/containers/{id}/json` and a `/v<api>/events` stream that
 * stays open and carries the recorded event lines the demo plays into it. The demo changes what
 * the engine "runs" (start, rename, die) together with the events, as a real daemon would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DemoData, DockerListEntry } from './data.js';
import { requestUrl, sendJson } from './serve.js';

interface ContainerState {
  readonly inspect: string;
  /** Listed by `/containers/json` (running); an exited container is only inspectable. */
  readonly running: boolean;
}

const VERSIONED = /^\/v\d+\.\d+(\/.*)$/;
const INSPECT = /^\/containers\/([^/]+)\/json$/;

export class FakeDockerEngine {
  private readonly containers = new Map<string, ContainerState>();
  private readonly listEntries: ReadonlyMap<string, DockerListEntry>;
  private readonly streams = new Set<ServerResponse>();
  private streamWaiters: Array<() => void> = [];
  /** Requests served, by path without the version prefix (for the report and tests). */
  readonly requests = new Map<string, number>();

  constructor(private readonly data: DemoData) {
    this.listEntries = new Map(data.dockerList.map((e) => [e.Id, e]));
  }

  /** Makes a container exist with this inspect body; `running` puts it in the list. */
  setContainer(id: string, inspect: string, running: boolean): void {
    this.containers.set(id, { inspect, running });
  }

  /** Resolves once a client follows `/events` (lines written before that would be lost). */
  whenStreaming(): Promise<void> {
    if (this.streams.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.streamWaiters.push(resolve));
  }

  /** Writes event lines to every open stream, `delayMs` apart, as a daemon sends them over time. */
  async emit(lines: readonly string[], delayMs: number): Promise<void> {
    for (const [i, line] of lines.entries()) {
      if (i > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      for (const res of this.streams) res.write(`${line}\n`);
    }
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = requestUrl(req);
    const path = VERSIONED.exec(url.pathname)?.[1] ?? url.pathname;
    const key = INSPECT.test(path) ? '/containers/{id}/json' : path;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { message: 'method not allowed' });
    if (path === '/_ping') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'api-version': '1.41' });
      res.end('OK');
      return;
    }
    if (path === '/version') return sendJson(res, 200, this.data.dockerVersion);
    if (path === '/containers/json') return sendJson(res, 200, this.list());
    if (path === '/events') return this.follow(res);
    const inspect = INSPECT.exec(path);
    if (inspect) {
      const id = decodeURIComponent(inspect[1] ?? '');
      const found = this.containers.get(id);
      if (!found) return sendJson(res, 404, { message: `No such container: ${id}` });
      return sendJson(res, 200, found.inspect);
    }
    sendJson(res, 404, { message: 'page not found' });
  };

  private list(): DockerListEntry[] {
    const out: DockerListEntry[] = [];
    for (const [id, state] of this.containers) {
      const entry = this.listEntries.get(id);
      if (state.running && entry) out.push(entry);
    }
    return out;
  }

  private follow(res: ServerResponse): void {
    // Headers go out at once, then one JSON object per line, as dockerd does.
    res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.41' });
    res.flushHeaders();
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    const waiters = this.streamWaiters;
    this.streamWaiters = [];
    for (const wake of waiters) wake();
  }
}
