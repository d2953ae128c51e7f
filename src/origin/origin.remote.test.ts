/**
 * resolveOrigin on a remote replica, and /v1/origin on a sidecar serving one: PIDs from the
 * replica's own /proc, container IDs from its replicated store, the other forms through the
 * daemon (asked in the background by the synchronous call, awaited by the sidecar's route), and
 * no answer naming an entity the replica has dropped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcClient } from '../ipc/client.js';
import { IpcServer } from '../ipc/server.js';
import { tempDir, TOKEN } from '../ipc/test-support/harness.js';
import { RemoteTagger } from '../tagger/remote-tagger.js';
import type { TagInfo } from '../types.js';
import { until } from '../test-support/wait.js';
import { manualCollector, serveTagger } from './test-support/serve.js';

const ID = '5d8fb4b3db861f571c6a1a9de6bf86cbe14cbcfc95f01566608c8e4e791eaf41';
const CONTAINER = `container_id://${ID}`;
const UID = '4aa017de-86c6-41cd-b4ad-21b66575685c';
const POD = `kubernetes_pod_uid://${UID}`;
const tags = (source: string, entity: string, low: string[], origin?: TagInfo['origin']): TagInfo => ({ source, entity, low, orchestrator: [], high: [], standard: [], ...(origin ? { origin } : {}) });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('origin detection on a remote replica', () => {
  it('answers PIDs and container IDs itself, the rest through the daemon, never naming what it dropped', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const manual = manualCollector('kubelet');
    const daemon = await serveTagger([manual.collector], 100);
    cleanups.push(() => daemon.close());
    manual.push([
      tags('kubelet', POD, ['kube_namespace:default'], { ips: ['10.244.0.9'], podContainers: [{ name: 'nginx', kind: 'regular', entity: CONTAINER }] }),
      tags('kubelet', CONTAINER, ['kube_container_name:nginx']),
    ]);
    // The replica's process sees the sender's PID in its own /proc.
    const proc = join(dir, 'proc');
    mkdirSync(join(proc, '321'), { recursive: true });
    writeFileSync(join(proc, '321', 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope\n`);
    const replica = new RemoteTagger({ socket: daemon.harness.socket, token: TOKEN, procRoot: proc, backoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => replica.stop());
    await replica.start();
    await replica.ready();
    await until(() => replica.tagSync(CONTAINER).length > 0, 5_000, 'the container replicated');

    expect(replica.resolveOrigin({ containerId: ID.slice(0, 12) })).toEqual({ containerId: ID, entity: CONTAINER });
    expect(replica.resolveOrigin({ pid: 321 })).toEqual({ containerId: ID, entity: CONTAINER });
    // Forms the daemon indexes: a first call asks it and answers undefined, as a tagSync miss does.
    expect(replica.resolveOrigin({ ip: '10.244.0.9' })).toBeUndefined();
    await until(() => replica.resolveOrigin({ ip: '10.244.0.9' }) !== undefined, 5_000, 'the daemon\'s answer');
    expect(replica.resolveOrigin({ ip: '10.244.0.9' })).toEqual({ containerId: null, entity: POD });
    expect(replica.resolveOrigin({ ip: '10.244.0.10' })).toBeUndefined();

    // A sidecar serving the replica waits for the daemon's answer.
    const sidecarSocket = join(dir, 'sidecar.sock');
    const sidecar = new IpcServer({ tagger: replica, token: TOKEN, socketPath: sidecarSocket, processMetrics: false });
    await sidecar.start();
    cleanups.push(() => sidecar.stop(100));
    const client = new IpcClient({ socket: sidecarSocket, token: TOKEN });
    cleanups.push(() => client.close());
    expect(await client.origin({ externalData: `it-false,cn-nginx,pu-${UID}` })).toEqual({
      external_data: `it-false,cn-nginx,pu-${UID}`,
      container_id: ID,
      entity: CONTAINER,
      tags: ['kube_container_name:nginx'],
    });
    expect(await client.origin({ pid: 321 })).toMatchObject({ pid: 321, container_id: ID });

    // The daemon deletes the pod and its container; once the replica has dropped them, so have its answers.
    manual.push([{ ...tags('kubelet', POD, []), deleteEntity: true }, { ...tags('kubelet', CONTAINER, []), deleteEntity: true }]);
    await until(() => replica.tagSync(POD).length === 0 && replica.tagSync(CONTAINER).length === 0, 5_000, 'the pod gone from the replica');
    expect(replica.resolveOrigin({ ip: '10.244.0.9' })).toBeUndefined();
    expect(replica.resolveOrigin({ containerId: ID })).toBeUndefined();
    expect(replica.resolveOrigin({ pid: 321 })).toBeUndefined();
    expect(await client.origin({ podUid: UID, containerName: 'nginx' })).toEqual({ pod_uid: UID, container_name: 'nginx', container_id: null, entity: null, tags: [] });
  });
});
