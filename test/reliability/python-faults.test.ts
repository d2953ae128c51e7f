/**
 * The Python module (python/tagger.py) against a daemon that is down, slow, or answers garbage:
 * each case runs `python3 -c` with PYTHONPATH=python and the TAGGER_* environment, makes two
 * lookups, and must print [] twice, each within TAGGER_TIMEOUT plus a margin. The fake daemons are
 * raw node:net servers on temp unix sockets (one case on a closed loopback port). A real IpcServer
 * is the control: the same script gets the tags from it. Figures: one `[reliability:python]` line.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { containerId, entityInfo } from './support/ipc-raw.js';

const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const TIMEOUT_S = 0.5;
/** Time a lookup may take past TAGGER_TIMEOUT on a loaded 2-core machine. */
const MARGIN_S = 0.35;
const TOKEN = 'c'.repeat(64);
const ENTITY = containerId();

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython && process.env.CI === 'true') throw new Error('python3 is required in CI');

const SCRIPT = `
import json, sys, time
import tagger
timings = []
for _ in range(2):
    t = time.monotonic()
    print(json.dumps(tagger.tag(sys.argv[1], tagger.HIGH)), flush=True)
    timings.append(time.monotonic() - t)
sys.stderr.write(json.dumps(timings))
`;

type Behaviour = (socket: Socket) => void;

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

/** Each fake daemon: what it does with a connection once the request has arrived (or at once). */
const BEHAVIOURS: Record<string, Behaviour> = {
  'accepts, never answers': () => undefined,
  'closes at once': (s) => s.destroy(),
  'closes after the request': (s) => s.once('data', () => s.destroy()),
  'random bytes, then close': (s) => s.once('data', () => s.end(Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)))),
  'random bytes, kept open': (s) => s.once('data', () => s.write(Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 104729) % 256)))),
  'HTTP/0.9 style text': (s) => s.once('data', () => s.end('["image_name:nginx"]')),
  'status 500 with JSON': (s) => s.once('data', () => s.end('HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{"error":"boom!"}')),
  'redirect': (s) => s.once('data', () => s.end('HTTP/1.1 302 Found\r\nlocation: /v1/tags\r\ncontent-length: 0\r\n\r\n')),
  '200, not JSON': (s) => s.on('data', () => s.write(ok('<html>hello</html>'))),
  '200, tags not a list': (s) => s.on('data', () => s.write(ok('{"tags":"image_name:nginx"}'))),
  '200, tags not strings': (s) => s.on('data', () => s.write(ok('{"tags":["a",1,null]}'))),
  '200, a JSON list': (s) => s.on('data', () => s.write(ok('["image_name:nginx"]'))),
  '200, invalid UTF-8': (s) => s.once('data', () => s.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 14\r\n\r\n{"tags":["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}')]))),
  'truncated body, then close': (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{"tags":["image_na')),
  'truncated body, then silence': (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{"tags":["image_na')),
  'truncated headers, then silence': (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-len')),
  'a 1 MB header line': (s) => s.once('data', () => s.write(`HTTP/1.1 200 OK\r\nx-big: ${'h'.repeat(1 << 20)}\r\ncontent-length: 2\r\n\r\n{}`)),
  '1000 headers': (s) => s.once('data', () => s.write(`HTTP/1.1 200 OK\r\n${Array.from({ length: 1000 }, (_, i) => `x-${i}: v`).join('\r\n')}\r\ncontent-length: 11\r\n\r\n{"tags":[]}`)),
  'a 100 MB body': (s) => s.once('data', () => streamForever(s, 'HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n{"tags":["', 100 << 20)),
  'an endless chunked body': (s) => s.once('data', () => streamForever(s, 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', Infinity, true)),
  'headers trickled, a byte per 50 ms': (s) => s.once('data', () => trickle(s, `HTTP/1.1 200 OK\r\nx-slow: ${'s'.repeat(1000)}\r\ncontent-length: 2\r\n\r\n{}`)),
  'body trickled, a byte per 50 ms': (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n') && trickle(s, `{"tags":[${'"x",'.repeat(400)}"y"]}`)),
};

const timers = new Set<NodeJS.Timeout>();

function trickle(s: Socket, text: string): void {
  let i = 0;
  const t = setInterval(() => {
    if (s.destroyed || i >= text.length) return clearInterval(t);
    s.write(text[i++] as string);
  }, 50);
  timers.add(t);
  s.once('close', () => clearInterval(t));
}

/** Writes `head`, then filler as fast as the reader takes it, up to `total` bytes. */
function streamForever(s: Socket, head: string, total: number, chunked = false): void {
  const piece = Buffer.alloc(64 * 1024, 'a');
  const frame = chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
  let sent = 0;
  s.write(head);
  const pump = (): void => {
    while (!s.destroyed && sent < total) {
      sent += piece.length;
      if (!s.write(frame)) return void s.once('drain', pump);
    }
  };
  pump();
}

let dir: string;
let tokenFile: string;
const servers: Server[] = [];
const sockets = new Set<Socket>();
const figures: Record<string, unknown> = {};

async function fakeDaemon(name: string, behaviour: Behaviour): Promise<string> {
  const path = join(dir, `fake-${servers.length}.sock`);
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    behaviour(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  void name;
  return path;
}

interface Run {
  readonly lines: string[];
  readonly timings: number[];
  readonly wallMs: number;
  readonly stderr: string;
}

function runPython(env: Record<string, string>): Promise<Run> {
  const clean: NodeJS.ProcessEnv = { PYTHONDONTWRITEBYTECODE: '1' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGGER_') && k !== 'PYTHONPATH') clean[k] = v;
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile('python3', ['-c', SCRIPT, ENTITY], { env: { ...clean, PYTHONPATH: PYTHON_DIR, TAGGER_AUTH_TOKEN_FILE: tokenFile, TAGGER_TIMEOUT: String(TIMEOUT_S), ...env }, timeout: 15_000 }, (_error, stdout, stderr) => {
      let timings: number[] = [];
      try {
        timings = JSON.parse(stderr.slice(stderr.lastIndexOf('['))) as number[];
      } catch {
        // left empty: the assertions below say what is missing
      }
      resolve({ lines: stdout.trim().split('\n'), timings, wallMs: performance.now() - t0, stderr });
    });
  });
}

/** Runs `tasks` with at most `n` at once (python startups on 2 cores). */
async function pool<T>(tasks: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tagger-rel-py-'));
  tokenFile = join(dir, 'auth_token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`[reliability:python] ${JSON.stringify(figures)}\n`);
});

describe.skipIf(!hasPython)('python/tagger.py against a faulty daemon', () => {
  it('gets the tags from the real daemon (control)', async () => {
    const tagger = new LocalTagger();
    await tagger.start();
    tagger.store.processTagInfo([entityInfo(ENTITY, 'docker', 42)]);
    const socketPath = join(dir, 'real.sock');
    const server = new IpcServer({ tagger, socketPath, token: TOKEN, processMetrics: false });
    await server.start();
    try {
      const run = await runPython({ TAGGER_SOCKET: socketPath });
      expect(run.lines, run.stderr).toHaveLength(2);
      for (const line of run.lines) expect(JSON.parse(line)).toEqual(expect.arrayContaining(['leakcheck:42', 'pod_name:pod-42', 'container_name:c-42-0']));
    } finally {
      await server.stop(100);
      await tagger.stop();
    }
  });

  it('prints [] within its timeout whatever the daemon does', async () => {
    const cases: Array<[string, Record<string, string>]> = [];
    cases.push(['no socket file', { TAGGER_SOCKET: join(dir, 'missing.sock') }]);
    // A socket file nobody listens on (a crashed daemon's): connect is refused.
    const stale = join(dir, 'stale.sock');
    spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    cases.push(['stale socket file', { TAGGER_SOCKET: stale }]);
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    cases.push(['nothing on the TCP port', { TAGGER_ADDRESS: `127.0.0.1:${closedPort}` }]);
    for (const [name, behaviour] of Object.entries(BEHAVIOURS)) cases.push([name, { TAGGER_SOCKET: await fakeDaemon(name, behaviour) }]);

    const runs = await pool(
      cases.map(([, env]) => () => runPython(env)),
      3,
    );
    const table: Record<string, string> = {};
    const failures: string[] = [];
    runs.forEach((run, i) => {
      const name = (cases[i] as [string, unknown])[0];
      table[name] = `${run.timings.map((t) => t.toFixed(3)).join(' / ')} s`;
      const slow = run.timings.some((t) => t > TIMEOUT_S + MARGIN_S);
      if (run.lines.join('|') !== '[]|[]' || run.timings.length !== 2 || slow) failures.push(`${name}: printed ${JSON.stringify(run.lines)} in ${table[name]} (${run.stderr.slice(0, 300)})`);
    });
    figures.timeoutS = TIMEOUT_S;
    figures.lookupSeconds = table;
    expect(failures).toEqual([]);
    expect(runs).toHaveLength(3 + Object.keys(BEHAVIOURS).length);
  });
});
