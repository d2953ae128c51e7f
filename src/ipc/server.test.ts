import type { Server } from 'node:http';
import { getEventListeners } from 'node:events';
import { connect } from 'node:net';
import { mkdirSync, statSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcClient } from './client.js';
import type { StreamMessage } from './protocol.js';
import { IpcServer } from './server.js';
import { LocalTagger } from '../tagger/local-tagger.js';
import { C1, C2, POD, TOKEN, info, rawRequest, startHarness, tempDir, waitFor, type Harness } from './test-support/harness.js';

let h: Harness | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

function seed(harness: Harness): void {
  harness.tagger.store.processTagInfo([
    info(C1, 'docker', ['env:prod', 'image_name:nginx'], [], [`container_id:${'1'.repeat(64)}`, 'container_name:web'], ['env:prod']),
    info(C1, 'kubelet', ['kube_namespace:default'], ['pod_name:web-0']),
    info(C2, 'docker', ['image_name:redis']),
    info(POD, 'kubelet', ['kube_namespace:default'], ['pod_name:web-0']),
  ]);
}

function client(harness: Harness, token: string | undefined = TOKEN): IpcClient {
  const c = new IpcClient({ socket: harness.socket, ...(token ? { token } : {}) });
  cleanups.push(() => c.close());
  return c;
}

describe('auth', () => {
  it('refuses every route but /healthz without the right token, with a JSON 401', async () => {
    h = await startHarness();
    for (const path of ['/v1/tags?entity=' + encodeURIComponent(C1), '/v1/entities', '/v1/stream', '/v1/origin?pid=1', '/metrics', '/v1/explain?entity=x', '/nope']) {
      for (const token of [null, 'wrong', TOKEN.slice(0, -1) + 'e', TOKEN + 'f']) {
        const res = await rawRequest(h.socket, path, { token });
        expect(res.status, `${path} ${token}`).toBe(401);
        expect(JSON.parse(res.body)).toEqual({ error: 'missing or wrong bearer token' });
      }
    }
    expect((await rawRequest(h.socket, '/healthz', { token: null })).status).toBe(200);
    expect(h.server.stats.authFailures).toBe(28);
  });

  it('creates the token file 0600 with 32 random bytes as hex, and reuses it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const tokenFile = join(dir, 'sub', 'auth_token');
    h = await startHarness({ dir, token: undefined, authTokenFile: tokenFile });
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect((await rawRequest(h.socket, '/v1/entities', { token })).status).toBe(200);
    await h.close();
    h = await startHarness({ dir, token: undefined, authTokenFile: tokenFile });
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
  });
});

describe('routes', () => {
  it('/v1/tags answers each cardinality with that level and those below', async () => {
    h = await startHarness();
    seed(h);
    const c = client(h);
    expect((await c.getTags(C1, 'low')).tags).toEqual(['env:prod', 'image_name:nginx', 'kube_namespace:default']);
    const orch = await c.getTags(C1, 'orchestrator');
    expect(orch).toEqual({ entity: C1, cardinality: 'orchestrator', tags: ['env:prod', 'image_name:nginx', 'kube_namespace:default', 'pod_name:web-0'] });
    expect([...(await c.getTags(C1, 'high')).tags].sort()).toEqual(
      ['container_id:' + '1'.repeat(64), 'container_name:web', 'env:prod', 'image_name:nginx', 'kube_namespace:default', 'pod_name:web-0'].sort(),
    );
    // A short ID and a runtime prefix resolve to the canonical entity.
    expect((await c.getTags('111111111111')).entity).toBe(C1);
    expect((await c.getTags('docker://' + '2'.repeat(64))).tags).toEqual(['image_name:redis']);
    expect(await c.getTags('ecs_task://unknown')).toEqual({ entity: 'ecs_task://unknown', cardinality: 'low', tags: [] });
  });

  it('bad input is a 400 with a JSON error naming the problem', async () => {
    h = await startHarness();
    const cases: Array<[string, RegExp]> = [
      ['/v1/tags', /missing parameter entity/],
      ['/v1/tags?entity=hello', /invalid entity ID/],
      ['/v1/tags?entity=container_id://' + encodeURIComponent('a b'), /invalid entity ID/],
      [`/v1/tags?entity=${encodeURIComponent(C1)}&cardinality=huge`, /invalid cardinality/],
      ['/v1/stream?cardinality=x', /invalid cardinality/],
      ['/v1/stream?prefix=bogus', /matches no entity kind/],
      ['/v1/origin?pid=abc', /invalid pid: must be/],
      ['/v1/origin', /^invalid origin: missing: give one of pid, cgroup_inode, container_id, external_data, pod_uid, ip$/],
      ['/v1/origin?pid=1&ip=10.0.0.1', /^invalid ip: only one origin/],
      ['/v1/origin?cgroup_inode=abc', /^invalid cgroup_inode/],
      ['/v1/origin?external_data=it-maybe,pu-u', /^invalid external_data/],
      [`/v1/origin?ip=${'1'.repeat(100)}`, /^invalid ip: longer than/],
      ['/v1/explain?entity=x', /invalid entity ID/],
    ];
    for (const [path, message] of cases) {
      const res = await rawRequest(h.socket, path);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect((JSON.parse(res.body) as { error: string }).error, path).toMatch(message);
      expect(res.body).not.toMatch(/at .*\.ts/);
    }
    expect((await rawRequest(h.socket, '/v2/nothing')).status).toBe(404);
  });

  it('refuses bodies, other methods, long URLs and too many headers', async () => {
    h = await startHarness({ limits: { maxUrlBytes: 200, maxHeadersCount: 10 } });
    expect((await rawRequest(h.socket, '/v1/entities', { method: 'POST' })).status).toBe(405);
    expect((await rawRequest(h.socket, '/v1/entities', { body: 'x'.repeat(10), headers: { 'content-length': '10' } })).status).toBe(413);
    expect((await rawRequest(h.socket, '/v1/tags?entity=' + 'a'.repeat(300))).status).toBe(414);
    const many: Record<string, string> = {};
    for (let i = 0; i < 12; i++) many[`x-h${i}`] = 'v';
    const res = await rawRequest(h.socket, '/v1/entities', { headers: many });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toEqual({ error: 'more than 10 headers' });
    const huge = await rawRequest(h.socket, '/v1/entities', { headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(huge.status).toBe(431);
    expect(huge.body).toBe('{"error":"request header fields too large"}');
  });

  it('answers HEAD /v1/stream with the stream\'s headers alone, opening no subscription', async () => {
    h = await startHarness({ heartbeatMs: 1_234 });
    const head = await Promise.race([
      rawRequest(h.socket, '/v1/stream?cardinality=low', { method: 'HEAD' }),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('HEAD /v1/stream never ended')), 3_000)),
    ]);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/x-ndjson');
    expect(head.headers['x-tagger-heartbeat-ms']).toBe('1234');
    expect(head.body).toBe('');
    expect(h.server.stats.activeStreams).toBe(0);
    // Parameters are checked as for GET, and the token is needed.
    expect((await rawRequest(h.socket, '/v1/stream?cardinality=medium', { method: 'HEAD' })).status).toBe(400);
    expect((await rawRequest(h.socket, '/v1/stream?cardinality=low', { method: 'HEAD', token: null })).status).toBe(401);
  });

  it('logs and counts an error of a listening server instead of dying of it (EMFILE on accept)', async () => {
    h = await startHarness();
    const listening = (h.server as unknown as { servers: Server[] }).servers;
    expect(listening.length).toBe(1);
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    // With no 'error' listener, emit throws (in the daemon: an uncaught exception, exit).
    expect(() => listening[0]?.emit('error', emfile)).not.toThrow();
    expect(h.server.stats.listenerErrors).toBe(1);
    expect(await h.server.registry.metrics()).toMatch(/^tagger_ipc_listener_errors_total 1$/m);
    expect((await rawRequest(h.socket, '/v1/entities')).status).toBe(200);
  });

  it('a stream follows its caller\'s signal, and leaves no listener on it once it ends', async () => {
    const harness = (h = await startHarness({ heartbeatMs: 100 }));
    const c = client(harness);
    const caller = new AbortController();
    for (let i = 0; i < 3; i++) {
      const inner = new AbortController();
      const onAbort = (): void => inner.abort();
      caller.signal.addEventListener('abort', onAbort, { once: true });
      // Each stream is ended by the test once synced: a reconnect loop in miniature.
      await c.stream({ cardinality: 'low' }, (m) => void (m.type === 'synced' && inner.abort()), { signal: inner.signal }).catch(() => undefined);
      caller.signal.removeEventListener('abort', onAbort);
      expect(getEventListeners(inner.signal, 'abort'), `round ${i}`).toHaveLength(0);
    }
    // Aborting the caller ends a live stream.
    const live = c.stream({ cardinality: 'low' }, () => undefined, { signal: caller.signal });
    await waitFor(() => harness.server.stats.activeStreams === 1, 5_000, 'stream open');
    caller.abort();
    await expect(live).rejects.toThrow();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('takes the Bearer scheme in any case', async () => {
    h = await startHarness();
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await rawRequest(h.socket, '/v1/entities', { token: null, headers: { authorization: `${scheme} ${TOKEN}` } });
      expect(res.status, scheme).toBe(200);
    }
  });

  it('closes a connection that sends its headers too slowly', async () => {
    h = await startHarness({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 300 } });
    const socket = connect({ path: h.socket });
    cleanups.push(() => void socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1.1 408/);
  });

  it('/v1/entities lists every entity with its sources', async () => {
    h = await startHarness();
    seed(h);
    const body = await client(h).entities();
    expect(body.entities.map((e) => e.id)).toEqual([C1, C2, POD]);
    const c1 = body.entities[0];
    expect(Object.keys(c1?.sources ?? {}).sort()).toEqual(['docker', 'kubelet']);
    expect(c1?.sources.docker).toEqual({ low: ['env:prod', 'image_name:nginx'], orchestrator: [], high: ['container_id:' + '1'.repeat(64), 'container_name:web'], standard: ['env:prod'] });
    expect(c1?.tags.orchestrator).toEqual(['pod_name:web-0']);
  });

  it('/v1/origin?pid reads /proc/<pid>/cgroup (v1, v2) and falls back to mountinfo', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const proc = join(dir, 'proc');
    const put = (pid: number, file: string, text: string): void => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), file), text);
    };
    put(100, 'cgroup', `0::/system.slice/docker-${'1'.repeat(64)}.scope\n`);
    put(200, 'cgroup', `4:cpu,cpuacct:/docker/${'2'.repeat(64)}\n3:memory:/docker/${'2'.repeat(64)}\n`);
    put(300, 'cgroup', '0::/\n');
    put(300, 'mountinfo', `528 519 254:1 /docker/containers/${'3'.repeat(64)}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n`);
    put(400, 'cgroup', '0::/user.slice/user-0.slice/session-4.scope\n');
    h = await startHarness({ dir, tagger: new LocalTagger({ origin: { procRoot: proc } }) });
    seed(h);
    h.tagger.store.processTagInfo([info('container_id://' + '4'.repeat(64), 'docker', ['image_name:busybox'])]);
    put(500, 'cgroup', '0::/\n');
    put(500, 'mountinfo', `528 519 254:1 /docker/containers/${'4'.repeat(64)}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n`);
    const c = client(h);
    expect(await c.origin({ pid: 100 }, 'high')).toMatchObject({ pid: 100, container_id: '1'.repeat(64), entity: C1 });
    expect((await c.origin({ pid: 100 }, 'high')).tags).toContain('container_name:web');
    expect(await c.origin({ pid: 200 })).toEqual({ pid: 200, container_id: '2'.repeat(64), entity: C2, tags: ['image_name:redis'] });
    expect(await c.origin({ pid: 500 })).toEqual({ pid: 500, container_id: '4'.repeat(64), entity: 'container_id://' + '4'.repeat(64), tags: ['image_name:busybox'] });
    // A container the store does not know (and no collector can fetch) is an unknown origin, as are a host process and a gone PID.
    expect(await c.origin({ pid: 300 })).toEqual({ pid: 300, container_id: null, entity: null, tags: [] });
    expect(await c.origin({ pid: 400 })).toEqual({ pid: 400, container_id: null, entity: null, tags: [] });
    const missing = await rawRequest(h.socket, '/v1/origin?pid=999');
    expect(missing.status).toBe(200);
    expect(JSON.parse(missing.body)).toEqual({ pid: 999, container_id: null, entity: null, tags: [] });
  });

  it('/v1/explain reports sources, a pending delete and a tombstone', async () => {
    h = await startHarness();
    seed(h);
    h.tagger.store.processTagInfo([{ ...info(C2, 'docker', []), deleteEntity: true }]);
    const c = client(h);
    const pending = await c.explain(C2);
    expect(pending.known).toBe(true);
    expect(pending.sources.docker?.low).toEqual(['image_name:redis']);
    expect(pending.pendingDelete?.sources).toEqual(['docker']);
    expect(pending.pendingDelete?.removeAfter).toBe(new Date(1_700_000_001_000).toISOString());
    h.clock.advance(2_000);
    h.tagger.store.prune();
    const gone = await c.explain(C2);
    expect(gone.known).toBe(false);
    expect(gone.tombstone?.sources).toEqual(['docker']);
    expect(gone.notes.join('\n')).toMatch(/tombstone/);
  });

  it('/healthz is 200 when healthy and /metrics exposes the store', async () => {
    h = await startHarness();
    seed(h);
    const health = await rawRequest(h.socket, '/healthz', { token: null });
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', reasons: [] });
    await client(h).getTags(C1);
    const metrics = await rawRequest(h.socket, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('tagger_entities{source="docker",kind="container_id"} 2');
    expect(metrics.body).toContain('tagger_entities{source="kubelet",kind="kubernetes_pod_uid"} 1');
    expect(metrics.body).toContain('tagger_store_size{what="entities"} 3');
    expect(metrics.body).toContain('tagger_queries_total{cardinality="low",result="hit"} 1');
    expect(metrics.body).toMatch(/tagger_ipc_requests_total\{route="\/v1\/tags",status="200"\} 1/);
  });
});

describe('unix socket', () => {
  it('is mode 0660, replaces a stale socket file, refuses a live one and a non-socket', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'stale.sock');
    // A socket file with nobody behind it, as a crashed run leaves: a child listens, then is killed.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    expect(existsSync(path)).toBe(true);
    h = await startHarness({ dir, socketPath: path });
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect((await rawRequest(path, '/healthz')).status).toBe(200);

    const second = new IpcServer({ tagger: h.tagger, token: TOKEN, socketPath: path, processMetrics: false });
    await expect(second.start()).rejects.toThrow(/already serving/);

    const plain = join(dir, 'plain');
    writeFileSync(plain, 'x');
    const third = new IpcServer({ tagger: h.tagger, token: TOKEN, socketPath: plain, processMetrics: false });
    await expect(third.start()).rejects.toThrow(/not a socket/);
  });

  it('serves TCP on loopback only', async () => {
    h = await startHarness({ tcpAddress: '127.0.0.1:0' });
    const addr = h.server.tcpAddress;
    expect(addr?.host).toBe('127.0.0.1');
    const c = new IpcClient({ address: `127.0.0.1:${addr?.port}`, token: TOKEN });
    cleanups.push(() => c.close());
    expect((await c.entities()).entities).toEqual([]);
    const bad = new IpcServer({ tagger: h.tagger, token: TOKEN, tcpAddress: '0.0.0.0:0', processMetrics: false });
    await expect(bad.start()).rejects.toThrow(/loopback/);
  });
});

describe('/v1/stream', () => {
  function follow(harness: Harness, query: { cardinality: 'low' | 'orchestrator' | 'high'; prefixes?: string[] }): { messages: StreamMessage[]; done: Promise<unknown>; stop: () => void } {
    const messages: StreamMessage[] = [];
    const controller = new AbortController();
    const c = client(harness);
    const done = c.stream(query, (m) => messages.push(m), { signal: controller.signal }).catch((e: unknown) => e);
    cleanups.push(async () => {
      controller.abort();
      await done;
    });
    return { messages, done, stop: () => controller.abort() };
  }

  it('sends the snapshot, synced, live added/modified/deleted, and heartbeats', async () => {
    h = await startHarness({ heartbeatMs: 50 });
    seed(h);
    const s = follow(h, { cardinality: 'orchestrator', prefixes: ['container_id://'] });
    await waitFor(() => s.messages.some((m) => m.type === 'synced'), 5_000, 'synced');
    const syncedAt = s.messages.findIndex((m) => m.type === 'synced');
    const snapshot = s.messages.slice(0, syncedAt);
    expect(snapshot.map((m) => m.type)).toEqual(['added', 'added']);
    const c1 = snapshot.find((m) => m.type === 'added' && m.entity.id === C1);
    // High tags are not sent to an orchestrator-level subscriber.
    expect(c1).toEqual({ type: 'added', entity: { id: C1, tags: { low: ['env:prod', 'image_name:nginx', 'kube_namespace:default'], orchestrator: ['pod_name:web-0'], high: [], standard: ['env:prod'] } } });

    const C3 = 'container_id://' + '3'.repeat(64);
    h.tagger.store.processTagInfo([info(C3, 'docker', ['image_name:busybox'])]);
    h.tagger.store.processTagInfo([info(C2, 'docker', ['image_name:redis', 'image_tag:7'])]);
    h.tagger.store.processTagInfo([info(POD, 'kubelet', ['kube_namespace:other'])]); // filtered out by prefix
    h.tagger.store.remove(C3);
    await waitFor(() => s.messages.some((m) => m.type === 'deleted'), 5_000, 'deleted');
    const live = s.messages.slice(syncedAt + 1).filter((m) => m.type !== 'heartbeat');
    expect(live).toEqual([
      { type: 'added', entity: { id: C3, tags: { low: ['image_name:busybox'], orchestrator: [], high: [], standard: [] } } },
      { type: 'modified', entity: { id: C2, tags: { low: ['image_name:redis', 'image_tag:7'], orchestrator: [], high: [], standard: [] } } },
      { type: 'deleted', entity: { id: C3 } },
    ]);
    await waitFor(() => s.messages.filter((m) => m.type === 'heartbeat').length >= 2, 2_000, 'heartbeats');
  });

  it('sends synced at once for an empty store, and ends streams when the server stops', async () => {
    h = await startHarness();
    const s = follow(h, { cardinality: 'low' });
    await waitFor(() => s.messages.length > 0);
    expect(s.messages[0]).toEqual({ type: 'synced' });
    expect(h.server.stats.activeStreams).toBe(1);
    await h.server.stop(100);
    expect(await s.done).toBeUndefined();
  });

  it('cuts a large response the client does not read within the stall timeout, and counts it', async () => {
    h = await startHarness({ streamStallTimeoutMs: 300 });
    const big = Array.from({ length: 20 }, (_, i) => `label_${i}:${'v'.repeat(200)}`);
    h.tagger.store.processTagInfo(Array.from({ length: 2_000 }, (_, i) => info(`ecs_task://t${i}`, 'ecs', big)));
    const socket = connect({ path: h.socket });
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`GET /v1/entities HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    socket.pause(); // never read: ~9 MB wait in the daemon
    await waitFor(() => h?.server.stats.stalledResponses === 1, 5_000, 'stalled response cut');
    // A client that reads gets the whole body.
    const res = await rawRequest(h.socket, '/v1/entities');
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { entities: unknown[] }).entities).toHaveLength(2_000);
    expect(h.server.stats.stalledResponses).toBe(1);
  });

  it('disconnects a subscriber that does not read, counts it, and never blocks the store', async () => {
    h = await startHarness({ maxPendingEvents: 20 });
    const socket = connect({ path: h.socket });
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`GET /v1/stream?cardinality=high HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    socket.pause(); // never read
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await waitFor(() => h?.server.stats.activeStreams === 1, 5_000, 'stream open');
    const big = Array.from({ length: 50 }, (_, i) => `label_${i}:${'v'.repeat(200)}`);
    const started = Date.now();
    for (let i = 0; i < 5_000 && h.server.stats.streamDrops === 0; i++) {
      h.tagger.store.processTagInfo([info(`ecs_task://t${i}`, 'ecs', big)]);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(() => h?.server.stats.streamDrops === 1, 5_000, 'drop');
    socket.resume();
    await closed;
    expect(h.tagger.store.counters.subscriberDrops).toBe(1);
    await waitFor(() => h?.server.stats.activeStreams === 0, 2_000, 'stream closed');
  });
});
