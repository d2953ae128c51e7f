/**
 * Container churn for engine tests, straight through the Engine API (the docker CLI costs a
 * process per call, too slow to make hundreds of events a second): create, start, kill, restart,
 * remove, and a labelled `ps -a`. Works against dockerd and Podman's Docker-compatible service.
 */
import { HttpClient } from '../../../net/http-client.js';

export interface EngineContainer {
  readonly id: string;
  readonly running: boolean;
}

export class EngineApi {
  private readonly http: HttpClient;
  private readonly base: string;

  constructor(host: string, apiVersion = '1.41') {
    this.http = new HttpClient(host, { connections: 16, timeoutMs: 60_000 });
    this.base = `/v${apiVersion}`;
  }

  /** Creates a container (not started): `sleep 600`, no network (kill and force-remove send SIGKILL). */
  async create(image: string, name: string, labels: Record<string, string>, env: readonly string[] = []): Promise<string> {
    const body = JSON.stringify({ Image: image, Cmd: ['sleep', '600'], Labels: labels, Env: env, HostConfig: { NetworkMode: 'none' } });
    const res = await this.call('POST', `/containers/create?name=${encodeURIComponent(name)}`, body);
    return (JSON.parse(res) as { Id: string }).Id;
  }

  start(id: string): Promise<string> {
    return this.call('POST', `/containers/${id}/start`);
  }

  kill(id: string): Promise<string> {
    return this.call('POST', `/containers/${id}/kill`);
  }

  restart(id: string): Promise<string> {
    return this.call('POST', `/containers/${id}/restart?t=0`);
  }

  remove(id: string): Promise<string> {
    return this.call('DELETE', `/containers/${id}?force=1`);
  }

  /** Every container with this label (`key=value`), running or not: `docker ps -a --filter label=…`. */
  async list(label: string): Promise<EngineContainer[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const res = JSON.parse(await this.call('GET', `/containers/json?all=1&filters=${filters}`)) as Array<{ Id: string; State: string }>;
    return res.map((c) => ({ id: c.Id, running: c.State === 'running' }));
  }

  /** Removes every container with the label; errors (already gone) are ignored. */
  async removeAll(label: string): Promise<void> {
    const all = await this.list(label).catch(() => []);
    await forEachLimit(all, 8, (c) => this.remove(c.id).then(() => undefined, () => undefined));
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: string): Promise<string> {
    const res = await this.http.request(this.base + path, { method, ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) });
    if (res.status >= 300 && res.status !== 304) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.trim()}`);
    return res.body;
  }
}

/** Calls `fn` on every item with at most `limit` calls in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

