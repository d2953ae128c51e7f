/**
 * Against a REAL containerd (scripts/engines/start.sh; source /tmp/tagger-engines/env.sh first).
 * Skipped when TAGGER_TEST_CONTAINERD_SOCKET is unset, unless TAGGER_REQUIRE_ENGINES=1.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../logger.js';
import { compileRules } from '../../rules.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { ContainerdClient } from './client.js';
import { ContainerdCollector } from './collector.js';
import { LazyContainerdApi } from './lazy-client.js';
import { waitForValue } from '../../test-support/wait.js';

const run = promisify(execFile);
const SOCKET = process.env.TAGGER_TEST_CONTAINERD_SOCKET;
const IMAGE = process.env.TAGGER_TEST_CONTAINERD_IMAGE ?? 'docker.io/local/busybox:latest';
const RESTART = process.env.TAGGER_TEST_CONTAINERD_RESTART;
const REQUIRED = process.env.TAGGER_REQUIRE_ENGINES === '1';
if (REQUIRED && !SOCKET) throw new Error('TAGGER_REQUIRE_ENGINES=1 but TAGGER_TEST_CONTAINERD_SOCKET is unset: run scripts/engines/start.sh and source /tmp/tagger-engines/env.sh');

const GRACE = 1_500;
const prefix = `t7-${process.pid}`;
const made: string[] = [];

async function ctr(...args: string[]): Promise<string> {
  const { stdout } = await run('ctr', ['-a', SOCKET as string, '-n', 'default', ...args], { timeout: 20_000 });
  return stdout;
}
async function ctrRun(id: string, args: string[], cmd: string[]): Promise<void> {
  made.push(id);
  await ctr('run', '-d', ...args, IMAGE, id, ...cmd);
}
async function remove(id: string): Promise<void> {
  await ctr('task', 'kill', '-s', 'KILL', id).catch(() => undefined);
  for (let i = 0; i < 50; i++) {
    const done = await ctr('task', 'rm', id).then(() => true, (e: { stderr?: string }) => /not found/.test(e.stderr ?? ''));
    if (done) break;
    await sleep(50);
  }
  await ctr('container', 'rm', id).catch(() => undefined);
}
/** Container IDs of ours whose task containerd reports RUNNING. */
async function runningTasks(): Promise<string[]> {
  const out = await ctr('task', 'ls');
  return out
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0]?.startsWith(`${prefix}-r`) && f[2] === 'RUNNING')
    .map((f) => f[0] as string)
    .sort();
}
/** The image's config digest as ctr shows it: its target blob, through the index's amd64/arm64 entry if it is one. */
async function configDigestByCtr(image: string): Promise<string> {
  const row = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${image} `));
  let digest = row?.trim().split(/\s+/)[2] ?? '';
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  for (let i = 0; i < 3; i++) {
    const doc = JSON.parse(await ctr('content', 'get', digest)) as { config?: { digest: string }; manifests?: Array<{ digest: string; platform?: { os: string; architecture: string } }> };
    if (doc.config) return doc.config.digest;
    digest = doc.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch)?.digest ?? '';
  }
  throw new Error(`no config digest for ${image}`);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const waitFor = <T,>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> => waitForValue(check, what, timeoutMs, 20);

describe.skipIf(!SOCKET)('containerd collector against real containerd', () => {
  let tagger: LocalTagger;
  let collector: ContainerdCollector;

  beforeAll(async () => {
    collector = new ContainerdCollector({
      // As the factory makes it: the gRPC client made at the first call (lazy-client.ts).
      api: new LazyContainerdApi(`unix://${SOCKET as string}`, async () => new ContainerdClient({ socket: SOCKET as string })),
      socket: SOCKET as string,
      excludeNamespaces: ['moby'],
      labelRules: compileRules({ k: 'k' }, 'label', 'containerd.labels_as_tags'),
      backoff: { initialMs: 100, maxMs: 1_000 },
    });
    tagger = new LocalTagger({ collectors: [collector], deletionGraceMs: GRACE, pruneIntervalMs: 100, logger: silentLogger });
    await tagger.start();
    await tagger.ready();
    await waitFor(() => collector.health().healthy, 'connected');
  });

  afterAll(async () => {
    await tagger?.stop();
    for (const id of made) await remove(id);
  });

  it('tags a `ctr run` container from its labels, env and image at task start', async () => {
    const id = `${prefix}-tags`;
    await ctrRun(id, ['--label', 'k=v', '--label', 'com.datadoghq.tags.version=3', '--env', 'DD_ENV=x', '--env', 'DD_SERVICE=api'], ['sleep', '1000']);
    const entity = `container_id://${id}`;
    const tags = await waitFor(() => {
      const t = tagger.tagSync(entity, 'high');
      return t.length > 0 ? t : undefined;
    }, 'tags of the new container');
    expect([...tags].sort()).toEqual(
      [
        `image_id:${await configDigestByCtr(IMAGE)}`,
        `image_name:${IMAGE.replace(/:[^:/]+$/, '')}`,
        'image_tag:latest',
        'short_image:busybox',
        'env:x',
        'service:api',
        'version:3',
        'k:v',
        `container_id:${id}`,
        `container_name:${id}`,
      ].sort(),
    );
    expect(tagger.standard(entity)).toEqual(['env:x', 'service:api', 'version:3']);
  });

  it('after exit the tags stay through the grace, then go; the exit code is kept', async () => {
    const id = `${prefix}-exit`;
    const entity = `container_id://${id}`;
    await ctrRun(id, ['--env', 'DD_ENV=exit'], ['sh', '-c', 'sleep 0.5; exit 3']);
    await waitFor(() => tagger.tagSync(entity, 'low').includes('env:exit'), 'tags');
    const pending = await waitFor(() => tagger.getEntity(entity)?.pendingDelete, 'pending delete');
    expect(collector.exitOf(entity)?.exitCode).toBe(3);
    expect(tagger.tagSync(entity, 'low')).toContain('env:exit');
    await waitFor(() => tagger.tagSync(entity, 'low').length === 0, 'gone after the grace', GRACE + 3_000);
    expect(Date.now()).toBeGreaterThanOrEqual(pending.removeAfter - 50);
  });

  it.skipIf(!RESTART && !REQUIRED)('converges to containerd\'s truth after containerd is killed and restarted while containers come and go', async () => {
    if (!RESTART) throw new Error('TAGGER_REQUIRE_ENGINES=1 but TAGGER_TEST_CONTAINERD_RESTART is unset');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => `${prefix}-r${s}`) as [string, string, string, string];
    await ctrRun(a, [], ['sleep', '1000']);
    await ctrRun(b, [], ['sleep', '1000']);
    await ctrRun(d, [], ['sleep', '1000']);
    await waitFor(() => [a, b, d].every((id) => tagger.tagSync(`container_id://${id}`, 'high').length > 0), 'a, b and d tagged');
    const pidOfB = Number((await ctr('task', 'ls')).split('\n').find((l) => l.startsWith(`${b} `))?.trim().split(/\s+/)[1]);

    await run(RESTART as string, ['kill'], { timeout: 30_000 });
    await waitFor(() => !collector.health().healthy, 'collector notices');
    process.kill(pidOfB, 'SIGKILL'); // b dies while containerd is down: no event will tell
    await run(RESTART as string, ['start'], { timeout: 30_000 });
    await ctrRun(c, ['--env', 'DD_ENV=late'], ['sleep', '1000']); // comes while the collector reconnects
    await remove(a); // goes meanwhile

    const truth = await runningTasks();
    expect(truth).toEqual([c, d].sort());
    const liveInStore = (): string[] =>
      tagger
        .list()
        .filter((e) => e.id.startsWith(`container_id://${prefix}-r`) && !e.pendingDelete)
        .map((e) => e.id.slice('container_id://'.length))
        .sort();
    await waitFor(() => JSON.stringify(liveInStore()) === JSON.stringify(truth), `store == containerd (${truth.join(',')})`, 15_000);
    expect(tagger.tagSync(`container_id://${c}`, 'low')).toContain('env:late');
    await waitFor(() => collector.health().healthy, 'healthy again');
  }, 60_000);
});
