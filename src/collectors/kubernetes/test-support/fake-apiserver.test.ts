import { afterEach, describe, expect, it } from 'vitest';
import { FakeApiServer } from './fake-apiserver.js';
import { loadRecordedCluster, recorded } from './fixtures.js';

type Json = Record<string, unknown>;

let fake: FakeApiServer;
afterEach(async () => fake?.close());

async function get(path: string, token?: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${fake.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

/** Reads watch events until `count` arrive or the stream ends. */
async function watchEvents(path: string, count: number): Promise<Json[]> {
  const controller = new AbortController();
  const res = await fetch(`${fake.url}${path}`, { signal: controller.signal });
  const events: Json[] = [];
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        events.push(JSON.parse(pending.slice(0, nl)) as Json);
        pending = pending.slice(nl + 1);
      }
      if (events.length >= count) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe('FakeApiServer', () => {
  it('lists the recorded cluster in pages with continue tokens at one resourceVersion, items without kind', async () => {
    fake = await FakeApiServer.start();
    loadRecordedCluster(fake);
    const first = await get('/api/v1/pods?limit=10');
    const meta = first.body.metadata as Json;
    expect((first.body.items as Json[]).length).toBe(10);
    expect(first.body.kind).toBe('PodList');
    expect((first.body.items as Json[])[0]?.kind).toBeUndefined();
    expect(meta.remainingItemCount).toBe(recorded.pods().length - 10);
    // A write between pages is not seen by the rest of the list (a consistent snapshot).
    fake.store.apply('pods', { metadata: { name: 'zzz-late', namespace: 'scraper' }, spec: {} });
    let names = (first.body.items as Json[]).map((p) => (p.metadata as Json).name);
    let token = meta.continue as string;
    while (token) {
      const page = await get(`/api/v1/pods?limit=10&continue=${encodeURIComponent(token)}`);
      expect((page.body.metadata as Json).resourceVersion).toBe(meta.resourceVersion);
      names = names.concat((page.body.items as Json[]).map((p) => (p.metadata as Json).name));
      token = (page.body.metadata as Json).continue as string;
    }
    expect(names.length).toBe(recorded.pods().length);
    expect(names).not.toContain('zzz-late');
  });

  it('answers an expired continue token with 410 Expired', async () => {
    fake = await FakeApiServer.start();
    loadRecordedCluster(fake);
    const first = await get('/apis/discovery.k8s.io/v1/endpointslices?limit=2');
    fake.store.apply('namespaces', { metadata: { name: 'new' } });
    fake.store.compact();
    const next = await get(`/apis/discovery.k8s.io/v1/endpointslices?limit=2&continue=${encodeURIComponent((first.body.metadata as Json).continue as string)}`);
    expect(next.status).toBe(410);
    expect(next.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  it('lists with fieldSelector spec.nodeName only that node’s pods, in pages; refuses the field on other resources', async () => {
    fake = await FakeApiServer.start();
    loadRecordedCluster(fake);
    const node = (p: Json): unknown => (p.spec as Json).nodeName;
    fake.store.apply('pods', { metadata: { name: 'elsewhere', namespace: 'default' }, spec: { nodeName: 'n2' } });
    const all = await get('/api/v1/pods');
    expect((all.body.items as Json[]).length).toBe(recorded.pods().length + 1);
    const first = await get('/api/v1/pods?limit=5&fieldSelector=spec.nodeName%3Ddatagen-1-35');
    let items = first.body.items as Json[];
    let token = (first.body.metadata as Json).continue as string;
    // A filtered list does not know how many remain (the real server leaves it out too).
    expect((first.body.metadata as Json).remainingItemCount).toBeUndefined();
    while (token) {
      const page = await get(`/api/v1/pods?limit=5&fieldSelector=spec.nodeName%3Ddatagen-1-35&continue=${encodeURIComponent(token)}`);
      items = items.concat(page.body.items as Json[]);
      token = (page.body.metadata as Json).continue as string;
    }
    expect(items.length).toBe(recorded.pods().length);
    expect(items.every((p) => node(p) === 'datagen-1-35')).toBe(true);
    expect(((await get('/api/v1/pods?fieldSelector=spec.nodeName%3Dn2')).body.items as Json[]).map((p) => (p.metadata as Json).name)).toEqual(['elsewhere']);
    const refused = await get('/api/v1/services?fieldSelector=spec.nodeName%3Dn2');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'field label not supported: spec.nodeName' });
    expect((await get('/apis/discovery.k8s.io/v1/endpointslices?watch=1&fieldSelector=spec.nodeName%3Dn2')).status).toBe(400);
  });

  it('watches with fieldSelector spec.nodeName from no resourceVersion: that node’s pods as ADDED, then its changes only', async () => {
    fake = await FakeApiServer.start();
    fake.store.apply('pods', { metadata: { name: 'mine', namespace: 'default' }, spec: { nodeName: 'n1' } });
    fake.store.apply('pods', { metadata: { name: 'theirs', namespace: 'default' }, spec: { nodeName: 'n2' } });
    const events = watchEvents('/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1', 2);
    await new Promise((r) => setTimeout(r, 50));
    fake.store.apply('pods', { metadata: { name: 'theirs', namespace: 'default' }, spec: { nodeName: 'n2' }, status: { phase: 'Running' } });
    fake.store.apply('pods', { metadata: { name: 'bound-later', namespace: 'default' }, spec: {} });
    fake.store.apply('pods', { metadata: { name: 'bound-later', namespace: 'default' }, spec: { nodeName: 'n1' } });
    const got = await events;
    expect(got.map((e) => `${e.type as string} ${((e.object as Json).metadata as Json).name as string}`)).toEqual(['ADDED mine', 'ADDED bound-later']);
  });

  it('watches from a resourceVersion: backlog, live events, selectors turn leaving objects into DELETED', async () => {
    fake = await FakeApiServer.start();
    loadRecordedCluster(fake);
    const rv = fake.store.resourceVersion;
    fake.store.apply('pods', { metadata: { name: 'a', namespace: 'default' }, spec: { nodeName: 'n1' } });
    const events = watchEvents(`/api/v1/pods?watch=1&resourceVersion=${rv}&fieldSelector=spec.nodeName%3Dn1`, 3);
    await new Promise((r) => setTimeout(r, 50));
    fake.store.apply('pods', { metadata: { name: 'a', namespace: 'default' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
    fake.store.apply('pods', { metadata: { name: 'a', namespace: 'default' }, spec: { nodeName: 'n2' } });
    const got = await events;
    expect(got.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect((got[0]?.object as Json).kind).toBe('Pod');
  });

  it('sends BOOKMARKs when allowed and ends the watch at timeoutSeconds', async () => {
    fake = await FakeApiServer.start();
    fake.store.apply('namespaces', { metadata: { name: 'kube-system' } });
    const rv = fake.store.resourceVersion;
    const events = watchEvents(`/api/v1/namespaces?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`, 10);
    await new Promise((r) => setTimeout(r, 50));
    fake.bookmark();
    const got = await events;
    expect(got.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(((got[0]?.object as Json).metadata as Json).resourceVersion).toBe(String(rv));
  });

  it('refuses a watch from a compacted resourceVersion with an ERROR event holding a 410 Status, or HTTP 410', async () => {
    fake = await FakeApiServer.start();
    fake.store.apply('namespaces', { metadata: { name: 'a' } });
    const old = fake.store.resourceVersion - 1;
    fake.store.compact();
    const [event] = await watchEvents(`/api/v1/namespaces?watch=1&resourceVersion=${old}`, 1);
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    fake.watchExpiry = 'status';
    expect((await get(`/api/v1/namespaces?watch=1&resourceVersion=${old}`)).status).toBe(410);
  });

  it('checks the bearer token, and answers 429 with Retry-After', async () => {
    fake = await FakeApiServer.start({ token: 't1' });
    expect((await get('/api/v1/namespaces')).status).toBe(401);
    expect((await get('/api/v1/namespaces', 't1')).status).toBe(200);
    fake.failNext(1, 429, 3);
    const throttled = await get('/api/v1/namespaces', 't1');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await get('/api/v1/namespaces/kube-system', 't1')).status).toBe(404);
  });
});
