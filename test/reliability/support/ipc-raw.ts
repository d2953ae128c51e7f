/**
 * Raw HTTP for the IPC reliability tests: bytes written on a node:net socket (so requests the real
 * clients never send can be sent), a strict parser of what comes back, a latency probe, a store
 * seeded by hand, a logger whose output is kept, and heap figures.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/logger.js';
import type { TagStore } from '../../../src/store/tag-store.js';
import type { TagInfo } from '../../../src/types.js';

/** A unix socket path or a loopback host:port. */
export type Target = { readonly path: string } | { readonly host: string; readonly port: number };

export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
  /** A 200 ndjson stream: only its head is read. */
  readonly streaming: boolean;
}

export interface Exchange {
  /** Everything the server sent. */
  readonly raw: Buffer;
  readonly responses: RawResponse[];
  /** Bytes after the last complete response (must be empty for a well-formed reply). */
  readonly leftover: string;
  /** Set when the parser found something that is not HTTP/1.1. */
  readonly malformed?: string;
  readonly closedByServer: boolean;
  readonly error?: string;
  readonly ms: number;
}

/**
 * Parses consecutive HTTP/1.x responses. `head` is whether the request was HEAD (no body then).
 * Returns what it could parse and the unparsed rest; `malformed` when the bytes cannot be HTTP.
 */
export function parseResponses(buf: Buffer, head: boolean | ((headers: ReadonlyMap<string, string>) => boolean) = false): { responses: RawResponse[]; rest: Buffer; malformed?: string } {
  const responses: RawResponse[] = [];
  let rest = buf;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      const start = rest.subarray(0, 7).toString('latin1');
      // Incomplete is fine (the caller may wait for more); bytes that cannot start a response are not.
      return 'HTTP/1.'.startsWith(start) ? { responses, rest } : { responses, rest, malformed: `not a status line: ${JSON.stringify(start)}` };
    }
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(lines[0] as string);
    if (!m) return { responses, rest, malformed: `bad status line ${JSON.stringify((lines[0] as string).slice(0, 80))}` };
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { responses, rest, malformed: `bad header line ${JSON.stringify(line.slice(0, 80))}` };
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const status = Number(m[1]);
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue to `Expect:`): no body, the real one follows.
      rest = rest.subarray(bodyStart);
      continue;
    }
    if (headers.get('transfer-encoding') === 'chunked') {
      // Only /v1/stream answers chunked: its body never ends, so its head is enough.
      responses.push({ status, headers, body: '', streaming: true });
      return { responses, rest: Buffer.alloc(0) };
    }
    const noBody = typeof head === 'function' ? head(headers) : head;
    const length = noBody || status === 304 || status === 204 ? 0 : Number(headers.get('content-length') ?? 'NaN');
    if (!Number.isInteger(length) || length < 0) return { responses, rest, malformed: `no usable content-length for status ${status}` };
    if (rest.length < bodyStart + length) return { responses, rest };
    responses.push({ status, headers, body: rest.subarray(bodyStart, bodyStart + length).toString('utf8'), streaming: false });
    rest = rest.subarray(bodyStart + length);
  }
  return { responses, rest };
}

export function openSocket(target: Target): Socket {
  return 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
}

/**
 * Writes `data`, optionally half-closes, and collects the reply until `expect` responses are in,
 * the server closes, or `timeoutMs` passes.
 */
export function exchange(target: Target, data: Buffer | string, options: { halfClose?: boolean; timeoutMs?: number; head?: boolean; expect?: number } = {}): Promise<Exchange> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = openSocket(target);
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let error: string | undefined;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const parsed = parseResponses(raw, options.head);
      resolve({
        raw,
        responses: parsed.responses,
        leftover: parsed.rest.toString('latin1'),
        closedByServer,
        ms: performance.now() - started,
        ...(parsed.malformed ? { malformed: parsed.malformed } : {}),
        ...(error ? { error } : {}),
      });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 5_000);
    socket.on('connect', () => {
      socket.write(data);
      if (options.halfClose) socket.end();
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const parsed = parseResponses(Buffer.concat(chunks), options.head);
      if (parsed.malformed || parsed.responses.length >= (options.expect ?? 1) || parsed.responses.some((r) => r.streaming)) finish();
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
  });
}

// ---- store, logs, figures ----

export const MARKER = 'leakcheck';

export function containerId(): string {
  return `container_id://${randomBytes(32).toString('hex')}`;
}

/** `count` containers, each with a tag carrying MARKER so that a leak of entity data is visible. */
export function seedEntities(store: TagStore, count: number, source = 'docker'): string[] {
  const ids: string[] = [];
  const infos: TagInfo[] = [];
  for (let i = 0; i < count; i++) {
    const id = containerId();
    ids.push(id);
    infos.push(entityInfo(id, source, i));
  }
  store.processTagInfo(infos);
  return ids;
}

export function entityInfo(id: string, source: string, i: number, generation = 0): TagInfo {
  return {
    source,
    entity: id,
    low: [`image_name:img-${i % 50}`, `${MARKER}:${i}`, `gen:${generation}`],
    orchestrator: [`pod_name:pod-${i}`],
    high: [`container_name:c-${i}-${generation}`],
    standard: [],
  };
}

/** A real pino logger (redaction included) whose lines are kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: sink }), lines };
}

export interface LatencyStats {
  readonly count: number;
  readonly failures: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(samples: readonly number[], failures = 0): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
  return { count: sorted.length, failures, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1] ?? NaN) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * A well-behaved client: GET /v1/tags for a known entity over one kept-alive connection, one
 * request after another, until stopped. Every answer must be a 200 holding `expectTag`.
 */
export function startProbe(target: Target, token: string, entity: string, expectTag: string): { stop: () => Promise<LatencyStats>; errors: string[] } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  const errors: string[] = [];
  let running = true;
  const path = `/v1/tags?entity=${encodeURIComponent(entity)}&cardinality=high`;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const where = 'path' in target ? { socketPath: target.path } : { host: target.host, port: target.port };
      const req = request({ ...where, path, agent, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200 && body.includes(expectTag)) samples.push(performance.now() - t0);
          else errors.push(`status ${res.statusCode}: ${body.slice(0, 100)}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('probe timeout')));
      req.on('error', (e) => {
        errors.push(e.message);
        resolve();
      });
      req.end();
    });
  const loop = (async () => {
    while (running) {
      await one();
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    errors,
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return summarize(samples, errors.length);
    },
  };
}

/** Heap used after a full GC, in MB (NaN without --expose-gc). */
export function settledHeapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  gc();
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
  return performance.now() - started;
}
