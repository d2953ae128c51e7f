/**
 * GET /v1/tags against our IpcServer in its own process, beside a bare node:http server in its
 * own process answering the same bytes (tags-server-child.ts), over the same kind of unix socket
 * and through the same client, in alternating rounds:
 * - ipc.tags_round_trip: one request at a time (goal <= 1.5x the bare server's time);
 * - ipc.tags_concurrent: 64 keep-alive connections, each with one request in flight (goal >= 0.8x
 *   the bare server's rate; p99 latency reported). The load runs in this process: it costs the
 *   same for both servers, and on a 2-core machine it shares the cores with them.
 * Timed: the client's whole request, from send to decoded body. Not timed: setup, warm-up.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../../src/net/http-client.js';
import { percentile, requestTimeFigure, round, type BenchFigure, type BenchSuite } from '../harness.js';
import { SYNC_TOKEN, syncBenchEntity } from './sync-shared.js';

const CHILD = fileURLToPath(new URL('./tags-server-child.js', import.meta.url));
const ENTITY = syncBenchEntity(1).entity;
const PATH = `/v1/tags?entity=${encodeURIComponent(ENTITY)}&cardinality=high`;
const HEADERS = { authorization: `Bearer ${SYNC_TOKEN}` };
const CONCURRENCY = 64;

async function startServer(args: string[]): Promise<ChildProcess> {
  const child = fork(CHILD, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`tags server exited ${code}`)));
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.send('stop');
  await exited;
}

/** Mean ms per request, one at a time. */
async function sequential(client: HttpClient, n: number): Promise<number> {
  for (let i = 0; i < 300; i++) await client.getBytes(PATH, { headers: HEADERS });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await client.getBytes(PATH, { headers: HEADERS });
  return Number(process.hrtime.bigint() - start) / 1e6 / n;
}

/** Requests per second and latency percentiles with CONCURRENCY requests always in flight. */
async function concurrent(client: HttpClient, ms: number): Promise<{ rate: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const until = Date.now() + ms;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const t = process.hrtime.bigint();
        await client.getBytes(PATH, { headers: HEADERS });
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  latencies.sort((a, b) => a - b);
  return { rate: (latencies.length / elapsed) * 1000, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const tagsSuite: BenchSuite = {
  name: 'ipc.tags',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'tagger-bench-tags-'));
    const oursSocket = join(dir, 'ours.sock');
    const bareSocket = join(dir, 'bare.sock');
    const ours = await startServer(['ours', oursSocket]);
    const oursClient = new HttpClient(`unix://${oursSocket}`, { connections: CONCURRENCY });
    const bodyFile = join(dir, 'body.json');
    const body = await oursClient.getBytes(PATH, { headers: HEADERS });
    if (!body.toString('utf8').includes('container_name:web-1')) throw new Error(`unexpected /v1/tags answer: ${body.toString('utf8')}`);
    writeFileSync(bodyFile, body);
    const bare = await startServer(['bare', bareSocket, bodyFile]);
    const bareClient = new HttpClient(`unix://${bareSocket}`, { connections: CONCURRENCY });
    try {
      let seqOurs = Infinity;
      let seqBare = Infinity;
      const conOurs: Array<{ rate: number; p50: number; p99: number }> = [];
      const conBare: Array<{ rate: number; p50: number; p99: number }> = [];
      for (let r = 0; r < 3; r++) {
        seqBare = Math.min(seqBare, await sequential(bareClient, 3_000));
        seqOurs = Math.min(seqOurs, await sequential(oursClient, 3_000));
        conBare.push(await concurrent(bareClient, 2_000));
        conOurs.push(await concurrent(oursClient, 2_000));
      }
      const best = (xs: Array<{ rate: number; p50: number; p99: number }>): { rate: number; p50: number; p99: number } => xs.reduce((a, b) => (b.rate > a.rate ? b : a));
      const o = best(conOurs);
      const b = best(conBare);
      const figures: BenchFigure[] = [
        requestTimeFigure('ipc.tags_round_trip', seqOurs, seqBare, 'bare node:http in its own process, same bytes, same socket kind and client', { text: '<= 1.5x the bare server', limit: 1.5 }, {
          requests_per_round: 3_000,
          rounds: 3,
          entities: 10_000,
        }),
        {
          name: 'ipc.tags_concurrent',
          value: round(o.rate),
          unit: 'requests/s',
          baseline: { name: `bare node:http in its own process, same bytes, ${CONCURRENCY} keep-alive connections`, value: round(b.rate) },
          ratio: round(o.rate / b.rate, 2),
          goal: '>= 0.8x the bare server',
          met: o.rate / b.rate >= 0.8,
          details: { connections: CONCURRENCY, ours_p50_ms: round(o.p50, 2), ours_p99_ms: round(o.p99, 2), bare_p50_ms: round(b.p50, 2), bare_p99_ms: round(b.p99, 2), rounds: 3, seconds_per_round: 2 },
        },
      ];
      return { figures };
    } finally {
      await oursClient.close();
      await bareClient.close();
      await stopServer(ours);
      await stopServer(bare);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const tagsSuites: readonly BenchSuite[] = [tagsSuite];
