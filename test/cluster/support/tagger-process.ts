/**
 * `tagger run` as its own process, from the built `dist/` (as a user runs it): a YAML config in a
 * folder of its own, readiness from its unix socket's /healthz, its HTTP API through the shared
 * client, and the two ways a process ends in the end-to-end tests: SIGTERM and SIGKILL. The same
 * folder and config serve a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../../../src/net/http-client.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/cli/main.js');

export interface TaggerProcessOptions {
  /** Its own folder: the config, the unix socket and the token go there. */
  readonly dir: string;
  /** YAML for everything but `ipc.socket`, `ipc.auth_token_file` and `log`, which are added. */
  readonly config: string;
  readonly env?: Readonly<Record<string, string>>;
}

export class TaggerProcess {
  readonly socket: string;
  readonly tokenFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private http: HttpClient | undefined;
  /** The last lines it wrote to stderr (JSON logs), for failure messages. */
  readonly log: string[] = [];

  constructor(private readonly options: TaggerProcessOptions) {
    this.socket = join(options.dir, 'tagger.sock');
    this.tokenFile = join(options.dir, 'token');
    const file = join(options.dir, 'tagger.yaml');
    writeFileSync(file, `${options.config.trimEnd()}\nlog:\n  level: info\n`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it and waits until its socket answers /healthz (any status: it is serving). */
  async start(timeoutMs = 20_000): Promise<void> {
    const file = join(this.options.dir, 'tagger.yaml');
    const child = spawn(process.execPath, [MAIN, 'run', '--config', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', TAGGER_IPC_SOCKET: this.socket, TAGGER_IPC_AUTH_TOKEN_FILE: this.tokenFile, ...this.options.env },
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      this.log.push(...lines);
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    });
    this.http = new HttpClient(`unix://${this.socket}`, { timeoutMs: 2_000, connections: 2 });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`tagger run exited ${child.exitCode}: ${this.log.slice(-5).join('\n')}`);
      if (await this.http.request('/healthz').then(() => true, () => false)) return;
      if (Date.now() > deadline) throw new Error(`tagger run not serving after ${timeoutMs} ms: ${this.log.slice(-5).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** GET with the token; the status is returned, not checked. */
  async get(path: string): Promise<{ status: number; body: string }> {
    if (!this.http) throw new Error('not started');
    const token = readFileSync(this.tokenFile, 'utf8').trim();
    const res = await this.http.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: res.body };
  }

  /** The entity's merged tags at `cardinality` ([] when the process does not answer). */
  async tags(entity: string, cardinality = 'low'): Promise<string[]> {
    const res = await this.get(`/v1/tags?${new URLSearchParams({ entity, cardinality }).toString()}`).catch(() => undefined);
    return res?.status === 200 ? ((JSON.parse(res.body) as { tags: string[] }).tags ?? []) : [];
  }

  async health(): Promise<{ status: number; body: { status?: string; reasons?: string[] } }> {
    if (!this.http) throw new Error('not started');
    const res = await this.http.request('/healthz');
    return { status: res.status, body: JSON.parse(res.body) as { status?: string; reasons?: string[] } };
  }

  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null> {
    return this.end('SIGTERM');
  }

  /** SIGKILL and wait: a crash, nothing cleaned up. */
  kill(): Promise<number | null> {
    return this.end('SIGKILL');
  }

  private async end(signal: NodeJS.Signals): Promise<number | null> {
    await this.http?.close();
    this.http = undefined;
    const child = this.child;
    if (!child || !this.exited) return null;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const code = await this.exited;
    this.child = undefined;
    return code;
  }
}
