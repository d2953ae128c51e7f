/**
 * Shared helpers for the Docker reliability tests: the engine variables written by
 * scripts/engines/start.sh, a tiny Engine API client (node:http over the unix socket, so the
 * tests drive dockerd without the CLI's 100+ ms start-up per call), the store's view of this
 * run's containers, and a few measuring helpers.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { getHeapSpaceStatistics } from 'node:v8';
import type { LocalTagger } from '../../src/tagger/local-tagger.js';
import { REQUIRE_ALL, START_ENGINES_HINT } from '../../src/test-support/required.js';
import { until as waitUntil } from '../../src/test-support/wait.js';

export const REQUIRED = REQUIRE_ALL;
export const RUN_LABEL = 'tagger.reliability.run';
export const CONTAINER = 'container_id://';

export interface DockerEngineEnv {
  readonly host: string;
  readonly socketPath: string;
  readonly image: string;
  /** restart-dockerd.sh: `[kill|start]`. */
  readonly restartScript: string | undefined;
  readonly pidfile: string | undefined;
}

/**
 * Stands in for a missing engine while vitest collects a skipped suite (the describe body still
 * runs, and read `ENV as DockerEngineEnv`: a TypeError before any test said what was missing).
 */
export const NO_DOCKER: DockerEngineEnv = { host: '', socketPath: '', image: '', restartScript: undefined, pidfile: undefined };

/** The reliability suite is about real engines: without one, a test says so and how to start it. */
export const NO_DOCKER_MESSAGE = `no dockerd for the reliability suite: TAGGER_TEST_DOCKER_HOST is unset; ${START_ENGINES_HINT}`;

/** The engine under test, or undefined (the caller skips, or fails when REQUIRED). */
export function dockerEngineEnv(): DockerEngineEnv | undefined {
  const host = process.env.TAGGER_TEST_DOCKER_HOST;
  if (!host) return undefined;
  return {
    host,
    socketPath: host.replace(/^unix:\/\//, ''),
    image: process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest',
    restartScript: process.env.TAGGER_TEST_DOCKERD_RESTART,
    pidfile: process.env.TAGGER_TEST_DOCKERD_PIDFILE,
  };
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** Just enough of the Engine API to make, start, remove and list containers. */
export class EngineApi {
  constructor(
    private readonly socketPath: string,
    private readonly image: string,
    private readonly timeoutMs = 20_000,
  ) {}

  call(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        { socketPath: this.socketPath, path, method, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async ping(timeoutMs = 2_000): Promise<boolean> {
    try {
      const r = await this.call('GET', '/_ping', undefined, timeoutMs);
      return r.status === 200 && r.body === 'OK';
    } catch {
      return false;
    }
  }

  /** Creates and starts `sleep 600` with --network none; resolves to the ID once started. */
  async run(name: string, labels: Record<string, string>, env: string[] = []): Promise<string> {
    const created = await this.call('POST', `/containers/create?name=${encodeURIComponent(name)}`, {
      Image: this.image,
      Cmd: ['sleep', '600'],
      Labels: labels,
      Env: env,
      HostConfig: { NetworkMode: 'none' },
    });
    if (created.status !== 201) throw new Error(`create ${name}: HTTP ${created.status} ${created.body.slice(0, 200)}`);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const started = await this.call('POST', `/containers/${id}/start`);
    if (started.status !== 204 && started.status !== 304) throw new Error(`start ${name}: HTTP ${started.status} ${started.body.slice(0, 200)}`);
    return id;
  }

  /** `docker rm -f`: SIGKILL (sleep ignores SIGTERM as PID 1) and remove. 404 counts as done. */
  async remove(id: string): Promise<void> {
    const r = await this.call('DELETE', `/containers/${id}?force=1&v=1`);
    if (r.status !== 204 && r.status !== 404) throw new Error(`remove ${id.slice(0, 12)}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  }

  /** IDs of the running containers with this label (`key=value`), sorted: the engine's truth. */
  async running(label: string): Promise<string[]> {
    return this.ids(label, false);
  }

  /** Every container with this label, running or not (for cleanup). */
  async all(label: string): Promise<string[]> {
    return this.ids(label, true);
  }

  private async ids(label: string, all: boolean): Promise<string[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const r = await this.call('GET', `/containers/json?all=${all ? 1 : 0}&filters=${filters}`);
    if (r.status !== 200) throw new Error(`list: HTTP ${r.status}`);
    return (JSON.parse(r.body) as Array<{ Id: string }>).map((c) => c.Id).sort();
  }

  /** Removes every container of the run, bounded in time; errors ignored (best effort). */
  async cleanup(label: string): Promise<void> {
    const ids = await this.all(label).catch(() => [] as string[]);
    await forEachLimit(ids, 8, (id) => this.remove(id).catch(() => undefined));
  }
}

/** This run's containers as the store has them, without pending deletes, sorted. */
export function liveInStore(tagger: LocalTagger, runTag: string): string[] {
  return tagger
    .list()
    .filter((e) => e.id.startsWith(CONTAINER) && e.pendingDelete === undefined && e.tags.low.includes(runTag))
    .map((e) => e.id.slice(CONTAINER.length))
    .sort();
}

/** Every container of this run in the store, pending deletes included. */
export function allInStore(tagger: LocalTagger, runTag: string): string[] {
  return tagger
    .list()
    .filter((e) => e.id.startsWith(CONTAINER) && e.tags.low.includes(runTag))
    .map((e) => e.id.slice(CONTAINER.length))
    .sort();
}

/** Open sockets of this process (unix and TCP), from /proc/self/fd. */
export function openSockets(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export const until = (check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> => waitUntil(check, timeoutMs, what, 20);

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

/** heapUsed after full collections (needs --expose-gc; throws without it so a bad setup is loud). */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('global.gc is missing: run with --expose-gc (vitest.reliability.config.ts sets it)');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage().heapUsed;
}

/** Used bytes per V8 heap space (old_space, code_space, ...), to say where a heap change sits. */
export function heapSpaces(): Record<string, number> {
  return Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
}

/** `name:+kB` for every space that changed by more than 64 kB between two heapSpaces() readings. */
export function heapSpaceDelta(before: Record<string, number>, after: Record<string, number>): string {
  return Object.keys(after)
    .map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) / 1024] as const)
    .filter(([, kb]) => Math.abs(kb) > 64)
    .map(([k, kb]) => `${k}:${kb > 0 ? '+' : ''}${kb.toFixed(0)}kB`)
    .join(',');
}
