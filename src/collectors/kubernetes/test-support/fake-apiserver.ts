/**
 * A fake Kubernetes API server for tests, faithful on everything the tagger (and kubectl, which
 * proves it: fake-apiserver.kubectl.test.ts) uses, for Pods, Services, Namespaces and
 * EndpointSlices (discovery.k8s.io/v1):
 * - discovery (`/api`, `/apis`, `/api/v1`, `/apis/discovery.k8s.io/v1`, `/version`);
 * - get, and list with `limit` / `continue` (a token of the same shape as the real one, read at
 *   the list's resourceVersion; 410 Expired once that version is compacted) and selectors
 *   (field selectors only on the fields the real server supports per resource: selectors.ts);
 * - watch (`watch=1`, `resourceVersion`, `allowWatchBookmarks`, `timeoutSeconds`, selectors:
 *   an object entering the selection is ADDED, one leaving it DELETED): the events
 *   after that version, BOOKMARK events, and a too-old version answered as the real server does:
 *   HTTP 200 with one ERROR event carrying a 410 Status (or an HTTP 410, `watchExpiry: 'status'`);
 * - bearer auth (401 Status), TLS, 429 with Retry-After, 5xx, garbage on a stream.
 * Objects are served as the real server does: list items without kind/apiVersion, watch objects
 * with them, one JSON event per line. Tests change objects through `store` and the helpers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestCert } from '../../../test-support/certs.js';
import { serveFake, type ServedFake } from '../../../test-support/serve-fake.js';
import { FakeStore, RESOURCES, type KubeObject, type ResourceName, type ResourceType, type StoredEvent } from './fake-store.js';
import { parseSelectors, selectorMatcher, type ObjectMatcher } from './selectors.js';

export interface FakeApiServerOptions {
  readonly tls?: TestCert;
  /** Accepted bearer token; undefined accepts any request. */
  readonly token?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
}

interface Fault {
  remaining: number;
  readonly status: number;
  readonly retryAfterSeconds?: number;
}

interface OpenWatch {
  readonly resource: ResourceName;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  readonly end: () => void;
}

const CORE_PREFIX = '/api/v1';
const DISCOVERY_PREFIX = '/apis/discovery.k8s.io/v1';

export class FakeApiServer {
  readonly store = new FakeStore();
  /** The token the server accepts (change it to simulate a rotation). */
  token: string | undefined;
  readonly requests: RecordedRequest[] = [];
  /** How a watch from a compacted resourceVersion is refused: an ERROR event (the real server), or HTTP 410. */
  watchExpiry: 'event' | 'status' = 'event';
  /** Watches without timeoutSeconds end after this (the real server's is 30 to 60 min). */
  defaultWatchTimeoutMs = 30 * 60_000;
  /** Period of BOOKMARK events on watches that allow them (the real server's is about a minute). */
  bookmarkIntervalMs = 60_000;
  private readonly faults: Fault[] = [];
  private readonly watches = new Set<OpenWatch>();

  readonly url: string;

  private constructor(private readonly served: ServedFake) {
    this.url = served.url;
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const holder: { fake?: FakeApiServer } = {};
    const fake = new FakeApiServer(await serveFake((req, res) => holder.fake?.handle(req, res), options));
    fake.token = options.token;
    holder.fake = fake;
    return fake;
  }

  async close(): Promise<void> {
    for (const watch of this.watches) watch.end();
    await this.served.close();
  }

  /** The next `count` list, get and watch requests answer `status` (429 carries Retry-After). */
  failNext(count: number, status: number, retryAfterSeconds?: number): void {
    this.faults.push({ remaining: count, status, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
  }

  /** Open watches, of one resource or all. */
  openWatches(resource?: ResourceName): number {
    let n = 0;
    for (const watch of this.watches) if (resource === undefined || watch.resource === resource) n++;
    return n;
  }

  /** Sends a BOOKMARK at the current resourceVersion to the open watches that allow them. */
  bookmark(resource?: ResourceName): void {
    for (const watch of this.matching(resource)) if (watch.bookmarks) writeEvent(watch.res, bookmarkEvent(RESOURCES[watch.resource], this.store.resourceVersion));
  }

  /** Ends open watches cleanly, as their timeout does. */
  endWatches(resource?: ResourceName): void {
    for (const watch of this.matching(resource)) watch.end();
  }

  /** Compacts, then sends each open watch the ERROR 410 event and ends it (the watch cache fell behind). */
  expireWatches(resource?: ResourceName): void {
    this.store.compact();
    for (const watch of this.matching(resource)) {
      writeEvent(watch.res, { type: 'ERROR', object: expiredStatus(`too old resource version: ${this.store.resourceVersion - 1} (${this.store.resourceVersion})`) });
      watch.end();
    }
  }

  /** Writes a line that is not JSON into the open watches. */
  injectGarbage(resource?: ResourceName, line = '<html>502 Bad Gateway</html>'): void {
    for (const watch of this.matching(resource)) watch.res.write(`${line}\n`);
  }

  /** Requests seen for a resource's list (`watch: false`) or watch (`watch: true`). */
  requestsFor(resource: ResourceName, watch: boolean): RecordedRequest[] {
    return this.requests.filter((r) => lastResourceSegment(r.path) === resource && isWatch(r.query) === watch);
  }

  private *matching(resource: ResourceName | undefined): Iterable<OpenWatch> {
    for (const watch of [...this.watches]) if (resource === undefined || watch.resource === resource) yield watch;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const discovery = discoveryDocument(url.pathname);
    if (discovery !== undefined) return sendJson(res, 200, discovery);
    const route = parseRoute(url.pathname);
    if (route === undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const fault = this.faults[0];
    if (fault) {
      if (--fault.remaining <= 0) this.faults.shift();
      if (fault.status === 429) res.setHeader('retry-after', String(fault.retryAfterSeconds ?? 1));
      return fault.status === 429
        ? sendStatus(res, 429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: fault.retryAfterSeconds ?? 1 })
        : sendStatus(res, fault.status, fault.status === 503 ? 'ServiceUnavailable' : 'InternalError', `fake fault ${fault.status}`);
    }
    const type = RESOURCES[route.resource];
    if (route.name !== undefined) {
      const object = this.store.get(route.resource, route.namespace, route.name);
      if (!object) return sendStatus(res, 404, 'NotFound', `${type.name} "${route.name}" not found`, { name: route.name, kind: type.name });
      return sendJson(res, 200, object);
    }
    let matcher: ObjectMatcher;
    try {
      matcher = selectorMatcher(route.namespace, parseSelectors(route.resource, url.searchParams.get('fieldSelector'), url.searchParams.get('labelSelector')));
    } catch (error) {
      return sendStatus(res, 400, 'BadRequest', (error as Error).message);
    }
    if (isWatch(url.searchParams)) return this.watch(type, url.searchParams, matcher, res);
    return this.list(type, url.searchParams, matcher, res);
  }

  private list(type: ResourceType, query: URLSearchParams, matcher: ObjectMatcher, res: ServerResponse): void {
    const limit = Number(query.get('limit') ?? 0);
    let rv = this.store.resourceVersion;
    let start = '';
    const token = query.get('continue');
    if (token) {
      const decoded = decodeContinue(token);
      if (decoded === undefined) return sendStatus(res, 400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      if (decoded.rv < this.store.compactedResourceVersion) {
        return sendJson(res, 410, { ...expiredStatus('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'), metadata: { continue: encodeContinue(this.store.resourceVersion, decoded.start) } });
      }
      rv = decoded.rv;
      start = decoded.start;
    } else {
      const asked = query.get('resourceVersion');
      if (asked && asked !== '0' && query.get('resourceVersionMatch') === 'Exact' && Number(asked) < this.store.compactedResourceVersion) {
        return sendJson(res, 410, expiredStatus(`too old resource version: ${asked} (${this.store.compactedResourceVersion})`));
      }
    }
    const all = this.store.snapshot(type.name, rv).filter((entry) => entry.key >= start && matcher(entry.object));
    const page = limit > 0 ? all.slice(0, limit) : all;
    const rest = all.length - page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (rest > 0) {
      metadata.continue = encodeContinue(rv, `${(page[page.length - 1] as { key: string }).key}\u0000`);
      if (!query.has('fieldSelector') && !query.has('labelSelector')) metadata.remainingItemCount = rest;
    }
    sendJson(res, 200, { kind: type.listKind, apiVersion: type.apiVersion, metadata, items: page.map((entry) => listItem(entry.object)) });
  }

  private watch(type: ResourceType, query: URLSearchParams, matcher: ObjectMatcher, res: ServerResponse): void {
    const asked = query.get('resourceVersion') ?? '';
    const from = asked === '' || asked === '0' ? undefined : Number(asked);
    if (from !== undefined && !Number.isFinite(from)) return sendStatus(res, 400, 'BadRequest', `invalid resource version: ${asked}`);
    const backlog = from === undefined ? undefined : this.store.eventsSince(type.name, from);
    if (from !== undefined && backlog === undefined) {
      const message = `too old resource version: ${from} (${this.store.compactedResourceVersion})`;
      if (this.watchExpiry === 'status') return sendJson(res, 410, expiredStatus(message));
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      writeEvent(res, { type: 'ERROR', object: expiredStatus(message) });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const bookmarks = query.get('allowWatchBookmarks') === 'true' || query.get('allowWatchBookmarks') === '1';
    const send = (event: StoredEvent): void => {
      const type = filteredType(event, matcher);
      if (type !== undefined) writeEvent(res, { type, object: event.object });
    };
    if (from === undefined) {
      // No resourceVersion: the current state as ADDED events, then the changes.
      for (const { object } of this.store.snapshot(type.name)) if (matcher(object)) writeEvent(res, { type: 'ADDED', object });
    } else {
      for (const event of backlog ?? []) send(event);
    }
    const unsubscribe = this.store.subscribe((event) => {
      if (event.resource === type.name) send(event);
    });
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.defaultWatchTimeoutMs;
    const timers = [
      setTimeout(() => {
        // As the real server does since 1.27: a last bookmark so the client resumes from there.
        if (bookmarks) writeEvent(res, bookmarkEvent(type, this.store.resourceVersion));
        end();
      }, timeoutMs),
      ...(bookmarks ? [setInterval(() => writeEvent(res, bookmarkEvent(type, this.store.resourceVersion)), this.bookmarkIntervalMs)] : []),
    ];
    const watch: OpenWatch = { resource: type.name, res, bookmarks, end: () => end() };
    this.watches.add(watch);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      for (const timer of timers) clearTimeout(timer);
      unsubscribe();
      this.watches.delete(watch);
      res.end();
    };
    res.on('close', end);
  }
}

/** What a watch with a selector sees of a write: objects entering or leaving it are ADDED or DELETED. */
function filteredType(event: StoredEvent, matcher: ObjectMatcher): 'ADDED' | 'MODIFIED' | 'DELETED' | undefined {
  const now = event.type !== 'DELETED' && matcher(event.object);
  const before = event.previous !== undefined && matcher(event.previous);
  if (event.type === 'DELETED') return before ? 'DELETED' : undefined;
  if (now && before) return 'MODIFIED';
  if (now) return 'ADDED';
  return before ? 'DELETED' : undefined;
}

interface Route {
  readonly resource: ResourceName;
  readonly namespace?: string;
  readonly name?: string;
}

function parseRoute(pathname: string): Route | undefined {
  let rest: string[];
  let group: 'core' | 'discovery';
  if (pathname.startsWith(`${CORE_PREFIX}/`)) [group, rest] = ['core', pathname.slice(CORE_PREFIX.length + 1).split('/')];
  else if (pathname.startsWith(`${DISCOVERY_PREFIX}/`)) [group, rest] = ['discovery', pathname.slice(DISCOVERY_PREFIX.length + 1).split('/')];
  else return undefined;
  const [a, b, c, d, ...extra] = rest.map(decodeURIComponent);
  if (extra.length > 0 || a === undefined || a === '') return undefined;
  const inGroup = (name: string | undefined): ResourceName | undefined => {
    const type = name === undefined ? undefined : RESOURCES[name as ResourceName];
    if (type === undefined) return undefined;
    return (type.apiVersion === 'v1') === (group === 'core') ? type.name : undefined;
  };
  if (a === 'namespaces' && b !== undefined && c === undefined) return group === 'core' ? { resource: 'namespaces', name: b } : undefined;
  if (a === 'namespaces' && b !== undefined && c !== undefined) {
    const resource = inGroup(c);
    if (resource === undefined || resource === 'namespaces') return undefined;
    return { resource, namespace: b, ...(d !== undefined ? { name: d } : {}) };
  }
  const resource = inGroup(a);
  return resource === undefined || b !== undefined ? undefined : { resource };
}

function discoveryDocument(pathname: string): unknown {
  const resources = (apiVersion: string): unknown[] =>
    Object.values(RESOURCES)
      .filter((t) => t.apiVersion === apiVersion)
      .map((t) => ({ name: t.name, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'list', 'watch'], ...(t.shortNames.length ? { shortNames: t.shortNames } : {}) }));
  switch (pathname.replace(/\/+$/, '')) {
    case '/version':
      return { major: '1', minor: '35', gitVersion: 'v1.35.0', gitCommit: 'fake', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.25.0', compiler: 'gc', platform: 'linux/amd64' };
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'discovery.k8s.io', versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' } }] };
    case CORE_PREFIX:
      return { kind: 'APIResourceList', groupVersion: 'v1', resources: resources('v1') };
    case DISCOVERY_PREFIX:
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'discovery.k8s.io/v1', resources: resources('discovery.k8s.io/v1') };
    default:
      return undefined;
  }
}

/** The real token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`. */
function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64');
}

function decodeContinue(token: string): { rv: number; start: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (value.v !== 'meta.k8s.io/v1' || typeof value.rv !== 'number' || typeof value.start !== 'string') return undefined;
    return { rv: value.rv, start: value.start };
  } catch {
    return undefined;
  }
}

function isWatch(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch === '1' || watch === 'true';
}

function lastResourceSegment(path: string): string | undefined {
  const route = parseRoute(path);
  return route?.name === undefined ? route?.resource : undefined;
}

/** List items carry no kind or apiVersion on the real server. */
function listItem(object: KubeObject): Record<string, unknown> {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}

function bookmarkEvent(type: ResourceType, rv: number): { type: 'BOOKMARK'; object: unknown } {
  return { type: 'BOOKMARK', object: { kind: type.kind, apiVersion: type.apiVersion, metadata: { resourceVersion: String(rv), creationTimestamp: null } } };
}

function expiredStatus(message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 };
}

function writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}
