import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TagStore } from '../store/tag-store.js';
import type { OriginFacts } from './types.js';
import type { TagInfo } from '../types.js';
import { OriginResolver } from './resolver.js';

const A = '9d0da9652d1f5ffeaeef5af6859c711d7961480cdb79c7f82a2076c638b476bb';
const B = '84cf3472a20d1bfb4b50e48b6ff50d96dfcd812652d76dd907951e6f98997bce';
const info = (entity: string, origin?: OriginFacts, source = 'docker'): TagInfo => ({ source, entity, low: ['a:b'], orchestrator: [], high: [], standard: [], ...(origin ? { origin } : {}) });

/** A fake /proc and a fake cgroup v1 memory tree (what this project's hybrid machines have). */
let dir: string;
let proc: string;
let cgroup: string;
function processIn(pid: number, path: string): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'cgroup'), `9:name=systemd:${path}\n4:memory:${path}\n1:cpu:${path}\n0::${path}\n`);
  mkdirSync(join(cgroup, 'memory', path), { recursive: true });
}
const inodeOf = (path: string) => statSync(join(cgroup, 'memory', path)).ino;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'origin-resolver-'));
  proc = join(dir, 'proc');
  cgroup = join(dir, 'cgroup');
  mkdirSync(join(cgroup, 'memory'), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const store = new TagStore();
  const resolver = new OriginResolver(store, { procRoot: proc, cgroupRoot: cgroup });
  const push = (infos: TagInfo[]) => {
    store.processTagInfo(infos);
    resolver.ingest(infos);
  };
  return { store, resolver, push };
}

describe('OriginResolver', () => {
  it('a cgroup inode of a container no source gives a PID for, from the first candidate path that is a directory', async () => {
    const { resolver, push } = setup();
    const path = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b.slice/crio-${A}.scope`;
    mkdirSync(join(cgroup, 'memory', path), { recursive: true });
    writeFileSync(join(cgroup, 'memory', 'not-a-dir'), '');
    push([info(`container_id://${A}`, { cgroupPaths: ['/missing', '/not-a-dir', '/../escape', path] }, 'kubelet')]);
    await resolver.settled();
    const inode = inodeOf(path);
    expect(resolver.resolve({ kind: 'cgroup_inode', inode })).toEqual({ containerId: A, entity: `container_id://${A}` });
    // Once a runtime reports its PID, the PID's cgroup is the one that counts.
    processIn(300, '/machine.slice/other');
    push([info(`container_id://${A}`, { pid: 300 })]);
    await resolver.settled();
    expect(resolver.resolve({ kind: 'cgroup_inode', inode: inodeOf('/machine.slice/other') })?.entity).toBe(`container_id://${A}`);
    expect(resolver.resolve({ kind: 'cgroup_inode', inode })).toBeUndefined();
  });

  it('no candidate path exists: no inode, and nothing else is named', async () => {
    const { resolver, push, store } = setup();
    push([info(`container_id://${B}`, { cgroupPaths: ['/kubepods/besteffort/podx/none'] }, 'kubelet')]);
    await resolver.settled();
    expect(store.has(`container_id://${B}`)).toBe(true);
    expect(resolver.index.sizes.inodes).toBe(0);
  });

  it('a PID through the container ID its cgroup names', () => {
    const { resolver, push } = setup();
    processIn(100, `/docker/${A}`);
    push([info(`container_id://${A}`)]);
    expect(resolver.resolve({ kind: 'pid', pid: 100 })).toEqual({ containerId: A, entity: `container_id://${A}` });
  });

  it('a cgroup inode, and a PID whose cgroup names no ID, through the inode stat when the runtime reported the container', async () => {
    const { resolver, push } = setup();
    processIn(200, '/machine.slice/custom-name');
    push([info(`container_id://${B}`, { pid: 200 })]);
    await resolver.settled();
    const inode = inodeOf('/machine.slice/custom-name');
    expect(resolver.resolve({ kind: 'cgroup_inode', inode })).toEqual({ containerId: B, entity: `container_id://${B}` });
    expect(resolver.resolve({ kind: 'pid', pid: 200 })).toEqual({ containerId: B, entity: `container_id://${B}` });
    expect(resolver.resolve({ kind: 'cgroup_inode', inode: inode + 1000 })).toBeUndefined();
  });

  it('a restarted container: the new PID\'s directory replaces the old inode', async () => {
    const { resolver, push } = setup();
    processIn(300, `/docker/${A}`);
    push([info(`container_id://${A}`, { pid: 300 })]);
    await resolver.settled();
    const before = inodeOf(`/docker/${A}`);
    // (A real restart recreates the same path; another one here keeps the file system from reusing the inode.)
    processIn(301, `/docker-restarted/${A}`);
    push([info(`container_id://${A}`, { pid: 301 })]);
    await resolver.settled();
    const after = inodeOf(`/docker-restarted/${A}`);
    expect(after).not.toBe(before);
    expect(resolver.resolve({ kind: 'cgroup_inode', inode: after })?.entity).toBe(`container_id://${A}`);
    expect(resolver.resolve({ kind: 'cgroup_inode', inode: before })).toBeUndefined();
  });

  it('unknown PIDs and host processes resolve to nothing; a container the store lacks is a candidate to fetch', () => {
    const { resolver } = setup();
    processIn(400, '/user.slice/session-1.scope');
    processIn(401, `/docker/${A}`);
    expect(resolver.lookup({ kind: 'pid', pid: 999 })).toEqual({ found: undefined, candidate: undefined });
    expect(resolver.lookup({ kind: 'pid', pid: 400 })).toEqual({ found: undefined, candidate: undefined });
    expect(resolver.lookup({ kind: 'pid', pid: 401 })).toEqual({ found: undefined, candidate: `container_id://${A}` });
  });

  it('container IDs: full, and a short one the store resolves', () => {
    const { resolver, push } = setup();
    push([info(`container_id://${A}`)]);
    expect(resolver.resolve({ kind: 'container_id', containerId: A.slice(0, 12) })?.containerId).toBe(A);
    expect(resolver.resolve({ kind: 'container_id', containerId: A })?.entity).toBe(`container_id://${A}`);
    expect(resolver.lookup({ kind: 'container_id', containerId: B })).toEqual({ found: undefined, candidate: `container_id://${B}` });
  });

  it('pods: a container by name, the pod when the name is unknown, an IP to the pod', () => {
    const { resolver, push } = setup();
    push([
      info('kubernetes_pod_uid://u1', { ips: ['10.244.0.6'], podContainers: [{ name: 'web', kind: 'regular', entity: `container_id://${A}` }, { name: 'migrate', kind: 'init', entity: `container_id://${B}` }] }, 'kubelet'),
      info(`container_id://${A}`, undefined, 'kubelet'),
      info(`container_id://${B}`, undefined, 'kubelet'),
    ]);
    expect(resolver.resolve({ kind: 'pod_container', podUid: 'u1', containerName: 'migrate', init: true })).toEqual({ containerId: B, entity: `container_id://${B}` });
    expect(resolver.resolve({ kind: 'pod_container', podUid: 'u1', containerName: 'migrate', init: false })).toEqual({ containerId: null, entity: 'kubernetes_pod_uid://u1' });
    expect(resolver.resolve({ kind: 'pod_container', podUid: 'u1', containerName: 'web', init: undefined })?.containerId).toBe(A);
    expect(resolver.resolve({ kind: 'ip', ip: '10.244.0.6' })).toEqual({ containerId: null, entity: 'kubernetes_pod_uid://u1' });
    expect(resolver.resolve({ kind: 'pod_container', podUid: 'nope', containerName: 'web', init: undefined })).toBeUndefined();
  });
});
