/**
 * Origin detection against REAL engines: dockerd and Podman (TAGGER_TEST_DOCKER_HOST,
 * TAGGER_TEST_PODMAN_HOST) through the Docker collector, containerd (TAGGER_TEST_CONTAINERD_SOCKET)
 * through its collector, each in a LocalTagger serving `/v1/origin`. A container's PID, the cgroup
 * inode a DogStatsD client inside it reads (stat of its own cgroup directory, run in the
 * container), and its ID in every accepted spelling resolve to it; after it is removed and pruned
 * they resolve to nothing. Skipped when an engine's variable is unset, unless
 * TAGGER_REQUIRE_ENGINES=1 (then the missing engine fails). Containers carry this run's label and
 * are removed in afterAll.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerdClient } from '../collectors/containerd/client.js';
import { ContainerdCollector } from '../collectors/containerd/collector.js';
import { DockerClient } from '../collectors/docker/client.js';
import { DockerCollector } from '../collectors/docker/collector.js';
import { ENGINES, engineAvailable } from '../collectors/docker/test-support/engines.js';
import { cgroupPathOf } from '../ipc/origin.js';
import type { IpcClient } from '../ipc/client.js';
import { REQUIRE_ALL, START_ENGINES_HINT } from '../test-support/required.js';
import type { LocalTagger } from '../tagger/local-tagger.js';
import { serveTagger, type ServedTagger } from './test-support/serve.js';
import { until } from '../test-support/wait.js';

const run = promisify(execFile);
const RUN_ID = randomBytes(4).toString('hex');
const LABEL = `tagger.test.origin=${RUN_ID}`;
const GRACE_MS = 500;

/** The inode of the process's own cgroup directory as the host sees it (the daemon's view), to compare with the client's. */
async function hostInodeOf(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  const unified = statSync('/sys/fs/cgroup/cgroup.controllers', { throwIfNoEntry: false }) !== undefined;
  const path = cgroupPathOf(text, unified ? 'unified' : 'memory');
  return statSync(`/sys/fs/cgroup${unified ? '' : '/memory'}${path ?? '/'}`).ino;
}

for (const engine of ENGINES) {
  if (!engineAvailable(engine)) continue;
  describe(`origin detection on real ${engine.name}`, () => {
    const host = engine.host as string;
    let served: ServedTagger;
    let tagger: LocalTagger;
    let client: IpcClient;
    const cli = async (...args: string[]): Promise<string> => (await run('docker', args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 60_000 })).stdout.trim();

    beforeAll(async () => {
      served = await serveTagger([new DockerCollector({ client: new DockerClient(host) })], GRACE_MS);
      ({ tagger, client } = served);
    });
    afterAll(async () => {
      await served?.close();
      const ids = await cli('ps', '-aq', '--filter', `label=${LABEL}`).catch(() => '');
      if (ids) await cli('rm', '-f', ...ids.split(/\s+/)).catch(() => '');
    });

    it('PID, the inode a client inside reads, and every spelling of the ID resolve to the container; nothing once it is gone', async () => {
      // Podman's default network gives the container an address of its own; dockerd here runs without a bridge.
      const network = engine.name === 'podman' ? [] : ['--network', 'none'];
      const id = await cli('run', '-d', ...network, '--label', LABEL, engine.image as string, 'sleep', '600');
      const entity = `container_id://${id}`;
      const pid = Number(await cli('inspect', '-f', '{{.State.Pid}}', id));
      await until(() => tagger.resolveOrigin({ pid }) !== undefined, 10_000, 'the container known by its PID');
      expect(tagger.resolveOrigin({ pid })).toEqual({ containerId: id, entity });

      // What a DogStatsD client in the container sends as in-<inode>: the stat of its own cgroup directory.
      const insideInode = Number(await cli('exec', id, 'stat', '-c', '%i', statSync('/sys/fs/cgroup/cgroup.controllers', { throwIfNoEntry: false }) ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'));
      expect(insideInode).toBe(await hostInodeOf(pid));
      await until(() => tagger.resolveOrigin({ cgroupInode: insideInode }) !== undefined, 5_000, 'the inode indexed');
      const byInode = await client.origin({ cgroupInode: insideInode }, 'high');
      expect(byInode).toMatchObject({ cgroup_inode: insideInode, container_id: id, entity });
      expect(byInode.tags).toContain(`container_id:${id}`);
      expect(await client.origin({ pid })).toMatchObject({ pid, container_id: id, entity });

      for (const spelling of [id, id.slice(0, 12), `docker://${id}`, `ci-${id}`, `container_id://${id}`]) {
        expect(await client.origin({ containerId: spelling }), spelling).toMatchObject({ container_id: id, entity });
      }
      if (engine.name === 'podman') {
        const ip = await cli('inspect', '-f', '{{.NetworkSettings.IPAddress}}', id);
        expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(await client.origin({ ip })).toMatchObject({ ip, container_id: id, entity });
      }

      // A restart makes a new cgroup directory (a new inode) for a new init PID: the new one resolves, the old one not.
      await cli('restart', '-t', '0', id);
      const restartedPid = Number(await cli('inspect', '-f', '{{.State.Pid}}', id));
      const restartedInode = Number(await cli('exec', id, 'stat', '-c', '%i', statSync('/sys/fs/cgroup/cgroup.controllers', { throwIfNoEntry: false }) ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'));
      expect(restartedPid).not.toBe(pid);
      await until(() => tagger.resolveOrigin({ cgroupInode: restartedInode })?.entity === entity, 10_000, 'the new inode indexed');
      if (restartedInode !== insideInode) expect(tagger.resolveOrigin({ cgroupInode: insideInode })).toBeUndefined();
      expect(await client.origin({ pid: restartedPid })).toMatchObject({ container_id: id, entity });

      await cli('rm', '-f', id);
      await until(() => tagger.resolveOrigin({ cgroupInode: restartedInode }) === undefined, 10_000, 'the inode forgotten with the container');
      expect(tagger.resolveOrigin({ containerId: id })).toBeUndefined();
      expect(await client.origin({ pid })).toEqual({ pid, container_id: null, entity: null, tags: [] });
      expect(tagger.origins.index.sizes.inodes).toBe(0);
    });
  });
}

const SOCKET = process.env.TAGGER_TEST_CONTAINERD_SOCKET;
const IMAGE = process.env.TAGGER_TEST_CONTAINERD_IMAGE ?? 'docker.io/local/busybox:latest';
if (REQUIRE_ALL && !SOCKET) {
  describe('containerd engine', () => {
    it('is required', () => {
      throw new Error(`TAGGER_TEST_CONTAINERD_SOCKET is unset: ${START_ENGINES_HINT}`);
    });
  });
}

describe.skipIf(!SOCKET)('origin detection on real containerd', () => {
  let served: ServedTagger;
  let tagger: LocalTagger;
  let client: IpcClient;
  const id = `origin-${RUN_ID}`;
  const ctr = async (...args: string[]): Promise<string> => (await run('ctr', ['-a', SOCKET as string, '-n', 'default', ...args], { timeout: 30_000 })).stdout;

  beforeAll(async () => {
    const collector = new ContainerdCollector({ api: new ContainerdClient({ socket: SOCKET as string }), socket: SOCKET as string, excludeNamespaces: ['moby'], backoff: { initialMs: 100, maxMs: 1_000 } });
    served = await serveTagger([collector], GRACE_MS);
    ({ tagger, client } = served);
  });
  afterAll(async () => {
    await served?.close();
    await ctr('task', 'kill', '-s', 'KILL', id).catch(() => '');
    await new Promise((r) => setTimeout(r, 200));
    await ctr('task', 'rm', '-f', id).catch(() => '');
    await ctr('container', 'rm', id).catch(() => '');
  });

  it('a ctr container (a name, not hex) by PID, cgroup inode and ID; nothing once it is gone', async () => {
    await ctr('run', '-d', '--label', LABEL, IMAGE, id, 'sleep', '600');
    const line = (await ctr('task', 'ls')).split('\n').find((l) => l.startsWith(`${id} `));
    const pid = Number(line?.trim().split(/\s+/)[1]);
    expect(pid).toBeGreaterThan(0);
    const entity = `container_id://${id}`;
    await until(() => tagger.resolveOrigin({ pid }) !== undefined, 10_000, 'the container known by its PID');
    expect(tagger.resolveOrigin({ pid })).toEqual({ containerId: id, entity });
    const inode = await hostInodeOf(pid);
    await until(() => tagger.resolveOrigin({ cgroupInode: inode }) !== undefined, 5_000, 'the inode indexed');
    expect(await client.origin({ cgroupInode: inode })).toMatchObject({ cgroup_inode: inode, container_id: id, entity });
    expect(await client.origin({ containerId: id })).toMatchObject({ container_id: id, entity });
    expect(await client.origin({ containerId: `containerd://${id}` })).toMatchObject({ container_id: id, entity });

    await ctr('task', 'kill', '-s', 'KILL', id);
    await until(() => tagger.resolveOrigin({ cgroupInode: inode }) === undefined, 10_000, 'the inode forgotten with the container');
    expect(await client.origin({ containerId: id })).toEqual({ container_id: null, entity: null, tags: [] });
  });
});
