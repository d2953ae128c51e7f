import { getEventListeners } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTaggerError } from '../errors.js';
import { until } from '../test-support/wait.js';
import { collectWarnings } from '../test-support/warnings.js';
import { HttpClient, parseEndpoint } from './http-client.js';

const LINES = ['{"a":1,"timeNano":1700000000123456789}', '\u001e{"b":"é"}', '{"c":3}'];
let server: Server;
let socket: string;
const pending: ServerResponse[] = [];

beforeAll(async () => {
  socket = join(mkdtempSync(join(tmpdir(), 'tagger-http-')), 'test.sock');
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/json') return void res.end(JSON.stringify({ ok: true, auth: req.headers.authorization ?? null }));
    if (url.pathname === '/garbage') return void res.end('{"truncated":');
    if (url.pathname === '/missing') {
      res.statusCode = 404;
      return void res.end('{"message":"No such container: x"}');
    }
    if (url.pathname === '/big') return void res.end('x'.repeat(10_000));
    if (url.pathname === '/echo') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      return void req.on('end', () => res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body })));
    }
    if (url.pathname === '/slow') return void setTimeout(() => res.end('{"slow":true}'), Number(url.searchParams.get('ms') ?? '100'));
    if (url.pathname === '/hang') return void pending.push(res);
    if (url.pathname === '/stream') {
      // Split the payload at every byte: the reader must reassemble lines and UTF-8.
      res.writeHead(200, { 'content-type': 'application/json' });
      const bytes = Buffer.from(`${LINES.join('\n')}\n\r\n`, 'utf8');
      let i = 0;
      const tick = (): void => {
        if (i >= bytes.length) return void res.end();
        res.write(bytes.subarray(i, i + 1));
        i++;
        setImmediate(tick);
      };
      return tick();
    }
    if (url.pathname === '/open-stream') {
      res.writeHead(200);
      res.write('{"first":true}\n');
      return void pending.push(res);
    }
    res.statusCode = 500;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterAll(async () => {
  for (const res of pending) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('parseEndpoint', () => {
  it('understands the forms users write', () => {
    expect(parseEndpoint('unix:///var/run/docker.sock')).toMatchObject({ socketPath: '/var/run/docker.sock', origin: 'http://localhost' });
    expect(parseEndpoint('/run/x.sock')).toMatchObject({ socketPath: '/run/x.sock' });
    expect(parseEndpoint('tcp://10.0.0.1:2375')).toMatchObject({ origin: 'http://10.0.0.1:2375' });
    expect(parseEndpoint('127.0.0.1:5000')).toMatchObject({ origin: 'http://127.0.0.1:5000' });
    expect(parseEndpoint('https://node:10250/base/')).toMatchObject({ origin: 'https://node:10250', basePath: '/base' });
    expect(() => parseEndpoint('ftp://x')).toThrow(/endpoint/);
  });
});

describe('HttpClient over a unix socket', () => {
  it('decodes JSON and sends configured headers', async () => {
    const client = new HttpClient(`unix://${socket}`, { headers: { authorization: 'Bearer t' } });
    expect(await client.getJson('/json')).toEqual({ ok: true, auth: 'Bearer t' });
    await client.close();
  });

  it('gives typed errors: status, decode, size cap, timeout, unreachable', async () => {
    const client = new HttpClient(`unix://${socket}`, { timeoutMs: 100, maxBodyBytes: 1_000 });
    const codes = [];
    for (const path of ['/missing', '/garbage', '/big', '/hang']) codes.push(await client.getJson(path).catch((e: unknown) => (isTaggerError(e) ? e.code : 'untyped')));
    expect(codes).toEqual(['TAGGER_HTTP_STATUS', 'TAGGER_DECODE', 'TAGGER_DECODE', 'TAGGER_TIMEOUT']);
    const status = await client.getJson('/missing').catch((e: unknown) => e);
    expect(status).toMatchObject({ status: 404 });
    const nowhere = new HttpClient(`unix://${socket}.absent`, { timeoutMs: 500 });
    expect(await nowhere.getJson('/json').catch((e: unknown) => (isTaggerError(e) ? e.code : 'untyped'))).toBe('TAGGER_SOCKET');
    await Promise.all([client.close(), nowhere.close()]);
  });

  it('streams lines split at any byte, stripping RS and skipping blanks, and keeps raw text', async () => {
    const client = new HttpClient(`unix://${socket}`);
    const lines: string[] = [];
    await client.streamLines('/stream', (line) => lines.push(line));
    expect(lines).toEqual([LINES[0], '{"b":"é"}', LINES[2]]);
    expect(lines[0]).toContain('1700000000123456789');
    await client.close();
  });

  it('ends an open stream when the caller aborts', async () => {
    const client = new HttpClient(`unix://${socket}`, { timeoutMs: 100 });
    const controller = new AbortController();
    const lines: string[] = [];
    let opened = false;
    const done = client.streamLines('/open-stream', (line) => {
      lines.push(line);
      controller.abort();
    }, { signal: controller.signal, onOpen: () => (opened = true) });
    const error = await done.catch((e: unknown) => e);
    expect(opened).toBe(true);
    expect(lines).toEqual(['{"first":true}']);
    expect(isTaggerError(error, 'TAGGER_ABORTED')).toBe(true);
    await client.close();
  });
});

describe('HttpClient: methods and bodies', () => {
  it('sends a body with its method, and errors name the method', async () => {
    const client = new HttpClient(`unix://${socket}`, { timeoutMs: 50 });
    expect(await client.getJson('/echo', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).toEqual({ method: 'POST', type: 'application/json', body: '{"a":1}' });
    expect(await client.getJson('/echo', { method: 'DELETE' })).toMatchObject({ method: 'DELETE', body: '' });
    const timeout = await client.request('/hang', { method: 'PUT' }).catch((e: unknown) => e);
    expect(String((timeout as Error).message)).toMatch(/^PUT unix:\/\/.*\/hang timed out/);
    await client.close();
  });
});

describe('HttpClient: time queued for a connection', () => {
  it('the request timeout starts when a connection takes the request, not while it waits for one', async () => {
    // One connection, each answer 150 ms, a 300 ms timeout: the fourth request waits 450 ms.
    const client = new HttpClient(`unix://${socket}`, { connections: 1, timeoutMs: 300 });
    const started = Date.now();
    const answers = await Promise.all([1, 2, 3, 4].map(() => client.getJson('/slow?ms=150').catch((e: unknown) => (isTaggerError(e) ? e.code : 'untyped'))));
    expect(answers).toEqual([1, 2, 3, 4].map(() => ({ slow: true })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    await client.close();
  });

  it('queued work has its own bound, and an abort while queued ends the wait at once', async () => {
    const client = new HttpClient(`unix://${socket}`, { connections: 1, timeoutMs: 2_000, queueTimeoutMs: 100 });
    const holder = client.getJson('/slow?ms=400');
    const queued = await client.getJson('/json').catch((e: unknown) => e);
    expect(isTaggerError(queued, 'TAGGER_TIMEOUT')).toBe(true);
    expect(String((queued as Error).message)).toMatch(/waiting for a connection/);
    const controller = new AbortController();
    const aborted = client.getJson('/json', { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(isTaggerError(await aborted, 'TAGGER_ABORTED')).toBe(true);
    expect(await holder).toEqual({ slow: true });
    // A stream holds its connection for as long as it is open; the next request waits for it.
    const stream = new AbortController();
    const open = client.streamLines('/open-stream', () => undefined, { signal: stream.signal }).catch(() => undefined);
    expect(isTaggerError(await client.getJson('/json').catch((e: unknown) => e), 'TAGGER_TIMEOUT')).toBe(true);
    stream.abort();
    await open;
    expect(await client.getJson('/json')).toEqual({ ok: true, auth: null });
    await client.close();
  });
});

describe('HttpClient: a burst of requests sharing one caller signal (a collector’s, during a resync)', () => {
  it('hangs one abort listener on it, not one per request in flight or queued, and its abort ends them all', async () => {
    const warnings = collectWarnings();
    const client = new HttpClient(`unix://${socket}`, { timeoutMs: 60_000 });
    const controller = new AbortController();
    const seenBefore = pending.length;
    // An open stream too, as the Docker collector keeps one: its body listens for the abort as well.
    const stream = client.streamLines('/open-stream', () => undefined, { signal: controller.signal }).catch((e: unknown) => e);
    // Every connection busy (the default 8, one of them the stream), the rest queued for one.
    const requests = Array.from({ length: 30 }, () => client.getJson('/hang', { signal: controller.signal }).catch((e: unknown) => e));
    await until(() => pending.length - seenBefore >= 8, 5_000, 'every connection taken');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    const outcomes = await Promise.all([stream, ...requests]);
    expect(outcomes.filter((e) => isTaggerError(e, 'TAGGER_ABORTED'))).toHaveLength(31);
    expect(await warnings.stop()).not.toContain('MaxListenersExceededWarning');
    await client.close();
  });
});
