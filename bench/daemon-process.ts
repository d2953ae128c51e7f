/**
 * A `tagger run` daemon in its own process, for benchmarks: started from a YAML config in a
 * temporary folder (its own socket and token), read through its HTTP API, and measured by its
 * own process CPU (prom-client's process_cpu_seconds_total, from process.cpuUsage: every
 * thread, GC included) and RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../src/net/http-client.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, 'tagger-run.js');
// The CLI reads its version from package.json two levels above src/cli, as in dist/.
const PACKAGE_JSON = join(HERE, '..', 'package.json');

export interface DaemonProcess {
  readonly pid: number;
  /** Its unix socket and token file (for clients of its own, such as a stream reader). */
  readonly socket: string;
  readonly tokenFile: string;
  /** Seconds of CPU the daemon has used since it started (its /metrics, from process.cpuUsage). */
  cpuSeconds(): Promise<number>;
  /** The same from /proc/<pid>/stat (utime + stime), as top reads it: 10 ms steps. */
  procCpuSeconds(): number;
  rssBytes(): Promise<number>;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/**
 * Starts `tagger run` with `config` (YAML text; ipc.socket and the token file are added) and
 * `env` on top of this process's environment (TAGGER_* keys the YAML cannot repeat, NODE_NAME).
 */
export async function startDaemon(config: string, readyTimeoutMs = 30_000, env: Readonly<Record<string, string>> = {}): Promise<DaemonProcess> {
  if (!existsSync(PACKAGE_JSON)) copyFileSync(join(HERE, '..', '..', '..', 'package.json'), PACKAGE_JSON);
  const dir = mkdtempSync(join(tmpdir(), 'tagger-bench-daemon-'));
  const socket = join(dir, 'tagger.sock');
  const tokenFile = join(dir, 'token');
  const file = join(dir, 'tagger.yaml');
  writeFileSync(file, `${config}\nipc:\n  socket: ${socket}\n  auth_token_file: ${tokenFile}\nlog:\n  level: warn\n`);
  const child: ChildProcess = spawn(process.execPath, [ENTRY, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TAGGER_CONFIG: '', ...env } });
  const http = new HttpClient(`unix://${socket}`, { timeoutMs: 5_000, connections: 1 });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tagger run exited ${child.exitCode}`);
    const ok = await http.request('/healthz').then((r) => r.status < 500, () => false);
    if (ok) break;
    if (Date.now() - started > readyTimeoutMs) throw new Error('tagger run did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await http.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: r.body };
  };
  const metric = async (name: string): Promise<number> => {
    const { body } = await get('/metrics');
    const line = body.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no ${name} in /metrics`);
    return Number(line.split(' ')[1]);
  };
  return {
    pid: child.pid as number,
    socket,
    tokenFile,
    cpuSeconds: () => metric('tagger_process_cpu_seconds_total'),
    procCpuSeconds: () => procCpuSeconds(child.pid as number),
    rssBytes: () => metric('tagger_process_resident_memory_bytes'),
    get,
    stop: async () => {
      await http.close();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** utime + stime of a process, in seconds (Linux: fields 14 and 15, in clock ticks of 1/100 s). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
