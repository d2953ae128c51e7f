import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTagger } from '../create-tagger.js';
import { explainEntity } from '../ipc/explain.js';
import { LocalTagger } from './local-tagger.js';
import { RemoteTagger } from './remote-tagger.js';
import { C1, C2, POD, TOKEN, info, startHarness, tempDir, waitFor, type Harness } from '../ipc/test-support/harness.js';

const FAST = { initialMs: 20, maxMs: 100 };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  cleanups.push(() => h.close());
  return h;
}

function remote(socket: string, extra: Partial<ConstructorParameters<typeof RemoteTagger>[0]> = {}): RemoteTagger {
  const r = new RemoteTagger({ socket, token: TOKEN, backoff: FAST, readyWaitMs: 200, ...extra });
  cleanups.push(() => r.stop());
  return r;
}

describe('RemoteTagger', () => {
  it('is ready after the first synced and answers like the daemon, at every cardinality', async () => {
    const h = await harness();
    h.tagger.store.processTagInfo([
      info(C1, 'docker', ['image_name:nginx'], [], ['container_name:web']),
      info(C1, 'kubelet', ['kube_namespace:default'], ['pod_name:web-0']),
      info(POD, 'kubelet', ['kube_namespace:default'], ['pod_name:web-0']),
    ]);
    const r = remote(h.socket);
    await r.start();
    await r.ready();
    for (const card of ['low', 'orchestrator', 'high'] as const) expect([...r.tagSync(C1, card)].sort()).toEqual([...h.tagger.tagSync(C1, card)].sort());
    expect(await r.tag('111111111111', 'orchestrator')).toEqual(['image_name:nginx', 'kube_namespace:default', 'pod_name:web-0']);
    expect(r.list().map((e) => e.id).sort()).toEqual([C1, POD]);
    expect(r.health().healthy).toBe(true);
    // Queries are counted as on the daemon: hits in plain fields, folded in at a scrape.
    expect(r.tagSync(`container_id://${'9'.repeat(64)}`, 'low')).toEqual([]);
    const queries = r.flushCounters().queries;
    expect(queries.get('low:hit')).toBe(1);
    expect(queries.get('orchestrator:hit')).toBe(2);
    expect(queries.get('high:hit')).toBe(1);
    expect(queries.get('low:miss')).toBe(1);
  });

  it('serves the IPC port as the daemon does: short IDs resolved, snapshot batches, explain with the daemon as its one source', async () => {
    const h = await harness();
    h.tagger.store.processTagInfo([info(C1, 'docker', ['image_name:nginx']), info(POD, 'kubelet', ['kube_namespace:default'])]);
    const r = remote(h.socket);
    await r.start();
    await r.ready();
    expect(r.resolve('111111111111')).toBe(C1);
    expect(r.resolve('222222222222')).toBe('container_id://222222222222');
    const sub = r.subscribe({ cardinality: 'low', prefixes: ['container_id://'], snapshot: false });
    cleanups.push(() => sub.close());
    expect([...r.snapshotBatches(sub)].flat().map((e) => `${e.type} ${e.entity.id}`)).toEqual([`added ${C1}`]);
    expect(r.storeStats().size).toBe(2);
    const report = explainEntity(r, '111111111111');
    expect(report).toMatchObject({ id: C1, known: true, tags: { low: ['image_name:nginx'] } });
    expect(report.collectors).toEqual([expect.objectContaining({ name: 'remote', reported: true, canFetch: false, healthy: true })]);
    expect(explainEntity(r, '222222222222').notes).toContain('short container ID matches no known container');
  });

  it('follows live adds, changes and deletes', async () => {
    const h = await harness();
    const r = remote(h.socket);
    await r.start();
    await r.ready();
    expect(r.tagSync(C2)).toEqual([]);
    h.tagger.store.processTagInfo([info(C2, 'docker', ['image_name:redis'])]);
    await waitFor(() => r.tagSync(C2).length === 1, 5_000, 'add');
    h.tagger.store.processTagInfo([info(C2, 'docker', ['image_name:redis', 'image_tag:7'])]);
    await waitFor(() => r.tagSync(C2).length === 2, 5_000, 'modify');
    expect(r.tagSync(C2)).toEqual(['image_name:redis', 'image_tag:7']);
    h.tagger.store.remove(C2);
    await waitFor(() => r.tagSync(C2).length === 0, 5_000, 'delete');
  });

  it('before the first sync, tag() waits a bounded time and returns []', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const r = remote(join(dir, 'nobody.sock'), { readyWaitMs: 150 });
    await r.start();
    const started = Date.now();
    expect(await r.tag(C1)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(r.tagSync(C1)).toEqual([]);
    expect(r.health().healthy).toBe(false);
    expect(r.health().collectors.remote?.message).toMatch(/not connected/);
  });

  it('keeps serving through a daemon restart and converges on the new state with no empty window', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const socket = join(dir, 'daemon.sock');
    const stable = info(C1, 'docker', ['image_name:nginx']);
    const first = await startHarness({ dir, socketPath: socket });
    first.tagger.store.processTagInfo([stable, info(C2, 'docker', ['image_name:redis'])]);
    const r = remote(socket);
    await r.start();
    await r.ready();

    // Sample continuously (a timer, and every poll of the waits below, so a loaded host still
    // samples the window while the daemon is away): the stable entity must never read empty.
    let emptyReads = 0;
    let readsWhileDown = 0;
    const sample = (): void => {
      if (!r.isConnected) readsWhileDown++;
      if (r.tagSync(C1).length === 0) emptyReads++;
    };
    const sampler = setInterval(sample, 1);
    cleanups.push(() => clearInterval(sampler));

    await first.close();
    await waitFor(
      () => {
        sample();
        return !r.isConnected;
      },
      5_000,
      'disconnect',
    );
    expect(r.tagSync(C2)).toEqual(['image_name:redis']); // the last replica still answers

    const second = await startHarness({ dir, socketPath: socket, tagger: new LocalTagger() });
    cleanups.push(() => second.close());
    second.tagger.store.processTagInfo([
      info(C1, 'docker', ['image_name:nginx', 'image_tag:1.27']),
      info(POD, 'kubelet', ['kube_namespace:default']),
    ]);
    await waitFor(
      () => {
        sample();
        return r.isConnected && r.tagSync(POD).length === 1;
      },
      5_000,
      'resync',
    );
    clearInterval(sampler);
    expect(r.tagSync(C2)).toEqual([]); // gone in the new state
    expect(r.tagSync(C1)).toEqual(['image_name:nginx', 'image_tag:1.27']);
    expect(r.list().map((e) => e.id).sort()).toEqual([C1, POD]);
    expect(readsWhileDown).toBeGreaterThan(0);
    expect(emptyReads).toBe(0);
    // `tagger status` of the replica: two syncs, the loss among its recent errors.
    const status = r.health().collectors.remote;
    expect(status?.message).toMatch(/\(2 syncs\)/);
    expect(status?.lastSyncAt).toBeGreaterThan(0);
    expect(status?.recentErrors.map((e) => e.message).join('\n')).toMatch(/^remote stream lost: /);
  });

  it('its own subscribers see a resync as ordinary events', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const socket = join(dir, 'daemon.sock');
    const first = await startHarness({ dir, socketPath: socket });
    first.tagger.store.processTagInfo([info(C1, 'docker', ['a:1']), info(C2, 'docker', ['b:1'])]);
    const r = remote(socket);
    await r.start();
    await r.ready();
    const sub = r.subscribe({ cardinality: 'low' });
    cleanups.push(() => sub.close());
    expect(sub.drain().flat().map((e) => e.entity.id).sort()).toEqual([C1, C2]);
    await first.close();
    const second = await startHarness({ dir, socketPath: socket, tagger: new LocalTagger() });
    cleanups.push(() => second.close());
    second.tagger.store.processTagInfo([info(C1, 'docker', ['a:2'])]);
    await waitFor(() => r.isConnected && r.tagSync(C2).length === 0, 5_000, 'resync');
    const events = sub.drain().flat();
    expect(events).toContainEqual({ type: 'deleted', entity: { id: C2 } });
    expect(events).toContainEqual({ type: 'modified', entity: { id: C1, tags: { low: ['a:2'], orchestrator: [], high: [], standard: [] } }, version: expect.any(Object) });
  });

  it('keeps entities encoded until first use, through a resync, and drops a malformed one alone', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const socket = join(dir, 'fake.sock');
    const line = (id: string, tags: string): string => `{"type":"added","entity":{"id":${JSON.stringify(id)},"tags":${tags}}}\n`;
    const tags = (low: string[]): string => JSON.stringify({ low, orchestrator: [], high: [], standard: [] });
    // Each connection gets the next snapshot, then the stream stays open (or is cut by the test).
    const snapshots = [
      line(C1, tags(['a:1'])) + line(C2, tags(['b:1'])) + line(POD, '{"low":[1]}') + '{"type":"synced"}\n',
      line(C1, tags(['a:2'])) + '{"type":"synced"}\n',
    ];
    const open: ServerResponse[] = [];
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(snapshots.shift() ?? '{"type":"synced"}\n');
      open.push(res);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => open.forEach((res) => res.destroy()));
    const r = remote(socket);
    await r.start();
    await r.ready();
    expect(r.store.size).toBe(3);
    expect(r.store.deferredCount).toBe(3);
    expect(r.tagSync(C1)).toEqual(['a:1']);
    expect(r.store.deferredCount).toBe(2);
    // The malformed entity is counted and dropped when it is first used; the others are untouched.
    expect(r.tagSync(POD)).toEqual([]);
    expect(r.store.counters.malformed).toBe(1);
    expect(r.store.size).toBe(2);
    // A resync: C1 (decoded) changes, C2 (still encoded) goes.
    open.shift()?.destroy();
    await waitFor(() => r.store.size === 1 && r.isConnected, 5_000, 'resync');
    expect(r.tagSync(C1)).toEqual(['a:2']);
    expect(r.tagSync(C2)).toEqual([]);
  });

  it('can be stopped and started again, twice, against a real daemon server', async () => {
    const h = await harness();
    h.tagger.store.processTagInfo([info(C1, 'docker', ['image_name:nginx'])]);
    const r = remote(h.socket);
    for (let round = 1; round <= 2; round++) {
      await r.start();
      await r.ready();
      await waitFor(() => r.isConnected, 5_000, `connected in round ${round}`);
      const entity = round === 1 ? C1 : C2;
      // A change made while started must reach the replica: the stream is really open.
      h.tagger.store.processTagInfo([info(entity, 'docker', [`round:${round}`])]);
      await waitFor(() => r.tagSync(entity).includes(`round:${round}`), 5_000, `live event in round ${round}`);
      await r.stop();
      expect(r.isConnected).toBe(false);
      expect(r.health().collectors.remote?.state).toBe('stopped');
    }
  });

  it('derives its read timeout from the daemon\'s x-tagger-heartbeat-ms header', async () => {
    // A daemon that heartbeats every 300 ms: a replica with a 150 ms default timeout would drop the
    // stream between heartbeats, over and over; following the header, it stays on one connection.
    const h = await harness({ heartbeatMs: 300 });
    const r = remote(h.socket, { readTimeoutMs: 150 });
    await r.start();
    await r.ready();
    const started = Date.now();
    await waitFor(() => Date.now() - started > 1_200, 5_000, 'time to pass');
    expect(r.isConnected).toBe(true);
    expect(r.health().collectors.remote?.message).toMatch(/\(1 syncs\)/);
  });

  it('createTagger builds it from mode: remote and the config keys', async () => {
    const h = await harness();
    h.tagger.store.processTagInfo([info(C2, 'docker', ['image_name:redis'])]);
    const tokenFile = join(h.dir, 'token');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const t = createTagger({ config: { mode: 'remote', remote: { socket: h.socket, auth_token_file: tokenFile } } });
    cleanups.push(() => t.stop());
    await t.start();
    await t.ready();
    expect(await t.tag(C2)).toEqual(['image_name:redis']);
    expect(() => createTagger({ config: { mode: 'remote' } })).toThrow(/remote.socket/);
  });
});
