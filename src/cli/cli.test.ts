/**
 * End to end: `node dist/cli/main.js` as a user runs it (built once here), against an in-process
 * server fed by hand (list, tag, explain) and as the daemon itself (run, SIGTERM).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collectors/collector.js';
import { C1, C2, TOKEN, info, startHarness, tempDir, type Harness } from '../ipc/test-support/harness.js';
import { LocalTagger } from '../tagger/local-tagger.js';
import { until } from '../test-support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let h: Harness;
let dir: string;
let cleanupDir: () => void;
let config: string;

beforeAll(async () => {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  ({ dir, cleanup: cleanupDir } = tempDir());
  h = await startHarness({ dir });
  h.tagger.store.processTagInfo([
    info(C1, 'docker', ['image_name:nginx'], [], ['container_name:web']),
    info(C1, 'kubelet', ['kube_namespace:default'], ['pod_name:web-0']),
    info(C2, 'docker', ['image_name:redis']),
  ]);
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  config = join(dir, 'tagger.yaml');
  writeFileSync(config, `ipc:\n  socket: ${h.socket}\n  auth_token_file: ${join(dir, 'token')}\n`);
}, 150_000);

afterAll(async () => {
  await h?.close();
  cleanupDir?.();
});

describe('client commands against a daemon', () => {
  it('tag prints one tag per line, --json the API body', async () => {
    const plain = await cli(['tag', C1, '--cardinality', 'orchestrator', '--config', config]);
    expect(plain).toEqual({ code: 0, stdout: 'image_name:nginx\nkube_namespace:default\npod_name:web-0\n', stderr: '' });
    const json = await cli(['tag', '111111111111', '--json', '--cardinality', 'high', '--config', config]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ entity: C1, cardinality: 'high', tags: ['image_name:nginx', 'kube_namespace:default', 'pod_name:web-0', 'container_name:web'] });
  });

  it('list prints a block per entity and source; --json the entities body', async () => {
    const table = await cli(['list', '--config', config]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`=== Entity ${C1} ===\n== Source docker ==\n  low:          image_name:nginx\n  orchestrator: -\n  high:         container_name:web\n  standard:     -\n== Source kubelet ==`);
    const json = await cli(['list', '--json', '--config', config]);
    const body = JSON.parse(json.stdout) as { entities: Array<{ id: string; sources: Record<string, unknown> }> };
    expect(body.entities.map((e) => e.id)).toEqual([C1, C2]);
    expect(Object.keys(body.entities[0]?.sources ?? {}).sort()).toEqual(['docker', 'kubelet']);
  });

  it('explain names each source and why a tag is absent', async () => {
    const res = await cli(['explain', 'ecs_task://nothing', '--config', config]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Entity ecs_task://nothing: not in the store');
    const known = await cli(['explain', C1, '--config', config]);
    expect(known.stdout).toContain('Source kubelet:\n  low:          kube_namespace:default\n  orchestrator: pod_name:web-0');
  });

  it('status prints the tagger section, --json the /v1/status body, exit 0 when healthy', async () => {
    const text = await cli(['status', '--config', config]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Tagger\n======\n\n {2}Version: unknown\n {2}Mode: local\n {2}PID: \d+\n {2}Started: .* \(uptime \d+s\)\n {2}Status: healthy\n/);
    expect(text.stdout).toContain('  Entities\n  --------\n    Total: 2\n');
    expect(text.stdout).toContain('      container_id: 2\n');
    expect(text.stdout).toContain('      docker: container_id 2\n      kubelet: container_id 1\n');
    const json = await cli(['status', '--json', '--config', config]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as { healthy: boolean; entities: { total: number; by_kind: Record<string, number> }; ipc: { requests: Record<string, number> } };
    expect(body.healthy).toBe(true);
    expect(body.entities).toMatchObject({ total: 2, by_kind: { container_id: 2 } });
    // The first status call was counted.
    expect(body.ipc.requests['/v1/status 200']).toBeGreaterThanOrEqual(1);
  });

  it('status exits 1 with one line naming the unhealthy collector', async () => {
    const refused: Collector = {
      name: 'docker',
      detect: async () => ({ available: false, reason: 'connect EACCES /var/run/docker.sock', denied: true }),
      health: () => ({ healthy: true, message: 'unused' }),
    };
    const sick = await startHarness({ dir, socketPath: join(dir, 'sick.sock'), tagger: new LocalTagger({ collectors: [refused] }) });
    try {
      await until(() => !sick.tagger.health().healthy, 5_000, 'the refusal seen');
      const res = await cli(['status'], { TAGGER_IPC_SOCKET: sick.socket, TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'token') });
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('  Status: UNHEALTHY\n');
      expect(res.stdout).toContain('    docker\n      State: detecting\n      Health: unhealthy: access denied: connect EACCES /var/run/docker.sock\n');
      expect(res.stderr).toBe('tagger: unhealthy: docker: access denied: connect EACCES /var/run/docker.sock\n');
      expect(res.stdout).toContain('      Last sync: never\n      Last update: never\n');
      expect(res.stdout).toMatch(/ {6}Recent errors:\n {8}\d{4}-\d\d-\d\dT\S+Z access denied: connect EACCES \/var\/run\/docker\.sock( \(x\d+\))?\n/);
      const json = JSON.parse((await cli(['status', '--json'], { TAGGER_IPC_SOCKET: sick.socket, TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'token') })).stdout) as { collectors: Record<string, { last_sync: string | null; recent_errors: Array<{ message: string }> }> };
      expect(json.collectors['docker']?.last_sync).toBeNull();
      expect(json.collectors['docker']?.recent_errors[0]?.message).toBe('access denied: connect EACCES /var/run/docker.sock');
    } finally {
      await sick.server.stop(100);
      await sick.tagger.stop();
    }
  });

  it('finds the daemon through TAGGER_IPC_SOCKET and TAGGER_IPC_AUTH_TOKEN_FILE', async () => {
    const res = await cli(['tag', C2], { TAGGER_IPC_SOCKET: h.socket, TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'token') });
    expect(res).toEqual({ code: 0, stdout: 'image_name:redis\n', stderr: '' });
  });
});

describe('exit codes and errors', () => {
  it('2 for bad usage, bad input and bad config, naming the problem in one line', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    const badEntity = await cli(['tag', 'not-an-id', '--config', config]);
    expect(badEntity.code).toBe(2);
    expect(badEntity.stderr).toMatch(/^tagger: invalid entity ID "not-an-id": .*\n$/);
    const badCard = await cli(['tag', C1, '--cardinality', 'medium', '--config', config]);
    expect(badCard.code).toBe(2);
    expect(badCard.stderr).toMatch(/invalid cardinality "medium"/);
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'ipc:\n  heartbeat_interval: soon\n');
    const badConfig = await cli(['list', '--config', badYaml]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^tagger: invalid config ipc\.heartbeat_interval: must be a duration.*\n$/);
    // A duration outside its range, from the file and from the environment: the key and the range.
    writeFileSync(badYaml, 'store:\n  prune_interval: 0\n');
    const zeroPrune = await cli(['run', '--config', badYaml]);
    expect(zeroPrune.code).toBe(2);
    expect(zeroPrune.stderr).toBe('tagger: invalid config store.prune_interval: must be between 100ms and 1h, got 0ms\n');
    const fastPoll = await cli(['run'], { TAGGER_KUBELET_POLL_INTERVAL: '0ms' });
    expect(fastPoll.code).toBe(2);
    expect(fastPoll.stderr).toBe('tagger: invalid config TAGGER_KUBELET_POLL_INTERVAL: must be between 500ms and 10m, got 0ms\n');
    // A sidecar told to follow its own socket is refused before it touches the node daemon's.
    const self = await cli(['run'], { TAGGER_MODE: 'remote', TAGGER_REMOTE_SOCKET: join(dir, 'same.sock'), TAGGER_IPC_SOCKET: join(dir, 'same.sock') });
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/^tagger: invalid config remote\.socket: must differ from ipc\.socket .*\n$/);
    const badEnv = await cli(['run'], { TAGGER_MODE: 'sideways' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/TAGGER_MODE: must be local, remote or cluster/);
    // The Datadog Agent's configuration: a datadog.yaml that is not there, and bad JSON in a DD_* variable.
    const noAgentFile = await cli(['run'], { TAGGER_DATADOG_CONFIG_FILE: join(dir, 'no-datadog.yaml') });
    expect(noAgentFile.code).toBe(2);
    expect(noAgentFile.stderr).toMatch(/^tagger: invalid config datadog\.config_file: cannot read .*no-datadog\.yaml.*\n$/);
    const badAgentEnv = await cli(['run'], { DD_DOCKER_LABELS_AS_TAGS: '{team' });
    expect(badAgentEnv.code).toBe(2);
    expect(badAgentEnv.stderr).toMatch(/^tagger: invalid config DD_DOCKER_LABELS_AS_TAGS: must be JSON.*\n$/);
  });

  it('1 when the daemon is not there, with a hint', async () => {
    for (const command of ['list', 'status']) {
      const res = await cli([command], { TAGGER_IPC_SOCKET: join(dir, 'nobody.sock'), TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'token') });
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/cannot reach .*nobody\.sock.*is `tagger run` running\?/);
    }
  });

  it('0 for --help everywhere and version', async () => {
    for (const args of [['--help'], ['tag', '--help'], ['list', '--help'], ['run', '--help'], ['explain', '--help']]) {
      const res = await cli(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toMatch(/Usage: tagger/);
      expect(res.stdout).toContain('--config');
    }
    const v = await cli(['version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^tagger \d+\.\d+\.\d+ \(node v\d+/);
  });
});

describe('tagger run', () => {
  it('serves on its socket, refuses a second daemon on it, and stops on SIGTERM with 0', async () => {
    const socket = join(dir, 'run.sock');
    const env = {
      TAGGER_IPC_SOCKET: socket,
      TAGGER_IPC_AUTH_TOKEN_FILE: join(dir, 'run-token'),
      TAGGER_DOCKER_ENABLED: 'false',
      TAGGER_CONTAINERD_ENABLED: 'false',
      TAGGER_KUBELET_ENABLED: 'false',
      TAGGER_ECS_ENABLED: 'false',
    };
    const child = spawn(process.execPath, [MAIN, 'run'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('tagger daemon started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(socket)).toBe(true);
    const list = await cli(['list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ entities: [] });
    const second = await cli(['run'], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already serving on .*run\.sock/);
    const started = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(existsSync(socket)).toBe(false);
    // Logs are JSON lines with levels, and never hold the token.
    const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.map((l) => l.msg)).toContain('tagger daemon stopped');
    expect(stderr).not.toContain(TOKEN);
  });
});
