/** Test helpers: a LocalTagger fed by hand, an IpcServer on a temp unix socket, raw HTTP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../clock.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import type { TagInfo } from '../../types.js';
import { IpcServer, type IpcServerOptions } from '../server.js';
import { until } from '../../test-support/wait.js';

export const TOKEN = 'f'.repeat(64);
export const C1 = 'container_id://' + '1'.repeat(64);
export const C2 = 'container_id://' + '2'.repeat(64);
export const POD = 'kubernetes_pod_uid://0e2b4a1c-6b6f-4c4a-9d1e-1f2a3b4c5d6e';

export function info(entity: string, source: string, low: string[], orchestrator: string[] = [], high: string[] = [], standard: string[] = []): TagInfo {
  return { source, entity, low, orchestrator, high, standard };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tagger-ipc-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Harness {
  readonly dir: string;
  readonly socket: string;
  readonly tagger: LocalTagger;
  readonly clock: ManualClock;
  readonly server: IpcServer;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<IpcServerOptions> & { dir?: string } = {}): Promise<Harness> {
  const temp = options.dir ? undefined : tempDir();
  const dir = options.dir ?? (temp as { dir: string }).dir;
  const clock = new ManualClock(1_700_000_000_000);
  const tagger = (options.tagger as LocalTagger | undefined) ?? new LocalTagger({ clock, deletionGraceMs: 1_000, tombstoneTtlMs: 60_000 });
  await tagger.start();
  const socket = options.socketPath ?? join(dir, 'tagger.sock');
  const server = new IpcServer({ token: TOKEN, processMetrics: false, ...options, tagger, socketPath: socket });
  await server.start();
  return {
    dir,
    socket,
    tagger,
    clock,
    server,
    async close() {
      await server.stop(100);
      await tagger.stop();
      temp?.cleanup();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, to send what the real client never would. */
export function rawRequest(socketPath: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; token?: string | null } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const req = request({ socketPath, path, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export const waitFor = (check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> => until(check, timeoutMs, what);
