import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { hasOpenssl, makeSelfSignedCert, type TestCert } from '../../test-support/certs.js';
import { REQUIRE_ALL } from '../../test-support/required.js';
import { until } from '../../test-support/wait.js';
import { KubeApiClient, resolveApiEndpoint } from './client.js';
import { Informer } from './informer.js';
import { decodePod, type PodMeta } from './objects.js';
import { FakeApiServer } from './test-support/fake-apiserver.js';
import { loadRecordedCluster, recorded } from './test-support/fixtures.js';

const fast = { initialMs: 20, maxMs: 100 };

describe('resolveApiEndpoint', () => {
  const settings = { apiUrl: '', tokenFile: '', caFile: '', tlsVerify: true };
  it('finds the API server in-cluster, with the service account token and CA', () => {
    expect(resolveApiEndpoint(settings, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })).toEqual({
      url: 'https://10.96.0.1:443',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      tlsVerify: true,
    });
    expect(resolveApiEndpoint(settings, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }).url).toBe('https://[fd00::1]:6443');
  });
  it('prefers kubernetes.api_url, and names the key when nothing says where the server is', () => {
    expect(resolveApiEndpoint({ ...settings, apiUrl: 'https://api.example:6443/', tokenFile: '/t' }, { KUBERNETES_SERVICE_HOST: 'x', KUBERNETES_SERVICE_PORT: '1' })).toMatchObject({ url: 'https://api.example:6443', tokenFile: '/t' });
    expect(() => resolveApiEndpoint(settings, {})).toThrow(ConfigError);
    expect(() => resolveApiEndpoint(settings, {})).toThrow(/kubernetes\.api_url/);
  });
});

describe.skipIf(!hasOpenssl() && !REQUIRE_ALL)('Informer against the fake API server (TLS, token)', () => {
  let dir: string;
  let cert: TestCert;
  let fake: FakeApiServer;
  let client: KubeApiClient;
  let controller: AbortController;
  let running: Promise<void> | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagger-informer-'));
    cert = makeSelfSignedCert('IP:127.0.0.1', 'fake-apiserver');
    writeFileSync(join(dir, 'ca.crt'), cert.cert);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    controller?.abort();
    await running;
    await client?.close();
    await fake?.close();
  });

  async function start(options: { pageSize?: number; minWatchTimeoutSeconds?: number } = {}) {
    fake = await FakeApiServer.start({ tls: cert, token: 'tok-1' });
    loadRecordedCluster(fake);
    writeFileSync(join(dir, 'token'), 'tok-1\n');
    client = new KubeApiClient({ url: fake.url, tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), tlsVerify: true }, { timeoutMs: 2_000 });
    const log: string[] = [];
    const informer = new Informer<PodMeta>({
      resource: 'pods',
      path: '/api/v1/pods',
      source: client,
      decode: decodePod,
      logger: silentLogger,
      backoff: fast,
      pageSize: options.pageSize ?? 5,
      minWatchTimeoutSeconds: options.minWatchTimeoutSeconds ?? 300,
      handler: {
        onAdd: (key) => log.push(`add ${key}`),
        onUpdate: (key, _old, pod) => log.push(`update ${key} ${pod.nodeName}`),
        onDelete: (key) => log.push(`delete ${key}`),
      },
    });
    controller = new AbortController();
    running = informer.run(controller.signal);
    await until(() => informer.state.watching, 5_000, 'the first watch');
    return { informer, log };
  }

  const pod = (name: string, nodeName = 'node-1', extra: Record<string, unknown> = {}) => ({ metadata: { name, namespace: 'default', ...extra }, spec: { nodeName } });

  it('lists in pages, then follows the watch from the list resourceVersion', async () => {
    const { informer, log } = await start();
    expect(informer.state.objects).toBe(recorded.pods().length);
    expect(fake.requestsFor('pods', false).length).toBe(Math.ceil(recorded.pods().length / 5));
    expect(fake.requestsFor('pods', true)[0]?.query.get('resourceVersion')).toBe(String(fake.store.resourceVersion));
    expect(fake.requestsFor('pods', true)[0]?.query.get('allowWatchBookmarks')).toBe('true');
    log.length = 0;
    fake.store.apply('pods', pod('web-1'));
    fake.store.apply('pods', pod('web-1', 'node-2'));
    fake.store.remove('pods', 'default', 'web-1');
    await until(() => log.length === 3, 3_000, 'three events');
    expect(log).toEqual(['add default/web-1', 'update default/web-1 node-2', 'delete default/web-1']);
  });

  it('re-watches from the last bookmark when a watch ends, without listing again', async () => {
    const { informer } = await start();
    fake.store.apply('namespaces', { metadata: { name: 'moves-the-rv' } });
    fake.bookmark('pods');
    const bookmarked = String(fake.store.resourceVersion);
    await until(() => informer.state.resourceVersion === bookmarked, 3_000, 'the bookmark');
    fake.endWatches('pods');
    await until(() => fake.requestsFor('pods', true).length === 2 && fake.openWatches('pods') === 1, 3_000, 'a second watch');
    expect(fake.requestsFor('pods', true)[1]?.query.get('resourceVersion')).toBe(bookmarked);
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.watchRestarts).toBe(1);
  });

  it('on 410 (ERROR event) lists again and emits what changed meanwhile: adds, updates and deletes', async () => {
    const { informer, log } = await start();
    const [first, second] = recorded.pods() as Array<{ metadata: { name: string; namespace: string } }>;
    log.length = 0;
    // All in one tick: the watch ends before it can see these, and its resourceVersion is compacted.
    fake.endWatches('pods');
    fake.store.apply('pods', pod('born-while-away'));
    fake.store.remove('pods', first?.metadata.namespace, first?.metadata.name as string);
    fake.store.apply('pods', { ...(recorded.pods()[1] as object), spec: { nodeName: 'moved' } });
    fake.store.compact();
    await until(() => informer.stats.relists === 1 && informer.state.watching, 5_000, 'the relist');
    expect(informer.stats.expired).toBe(1);
    expect(log.sort()).toEqual(['add default/born-while-away', `delete ${first?.metadata.namespace}/${first?.metadata.name}`, `update ${second?.metadata.namespace}/${second?.metadata.name} moved`].sort());
  });

  it('on an HTTP 410 and on an expired continue token lists again from scratch', async () => {
    const { informer } = await start({ pageSize: 5 });
    fake.watchExpiry = 'status';
    fake.expireWatches('pods');
    await until(() => informer.stats.relists === 1 && informer.state.watching, 5_000, 'the relist');
    expect(informer.state.objects).toBe(recorded.pods().length);
  });

  it('backs off on 429 for at least Retry-After, and on 5xx, keeping its objects', async () => {
    const { informer } = await start();
    fake.failNext(1, 429, 1);
    fake.failNext(2, 503);
    const started = Date.now();
    fake.endWatches('pods');
    await until(() => informer.state.watching && informer.stats.throttled === 1 && informer.stats.failures === 3, 8_000, 'recovery');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(informer.state.objects).toBe(recorded.pods().length);
  });

  it('re-reads a rotated token, and survives a 401 meanwhile', async () => {
    const { informer } = await start();
    fake.token = 'tok-2';
    fake.endWatches('pods');
    await until(() => informer.stats.failures >= 1, 3_000, 'a 401');
    expect(informer.state.lastError).toMatch(/401/);
    writeFileSync(join(dir, 'token'), 'tok-2');
    await until(() => informer.state.watching, 3_000, 'the watch with the new token');
    expect(fake.requests.at(-1)?.authorization).toBe('Bearer tok-2');
  });

  it('garbage on the stream ends the watch, which resumes from the last resourceVersion; malformed objects keep the last good', async () => {
    const { informer } = await start();
    fake.store.apply('pods', pod('steady'));
    await until(() => informer.get('default/steady') !== undefined, 3_000, 'steady');
    const rv = informer.state.resourceVersion;
    fake.injectGarbage('pods');
    await until(() => informer.stats.malformedEvents === 1 && informer.state.watching, 5_000, 'the re-watch');
    expect(fake.requestsFor('pods', true).at(-1)?.query.get('resourceVersion')).toBe(rv);
    expect(informer.stats.lists).toBe(1);
    // A pod without a UID: counted, and the last good 'steady' is kept.
    fake.injectGarbage('pods', JSON.stringify({ type: 'MODIFIED', object: { kind: 'Pod', metadata: { name: 'steady', namespace: 'default', resourceVersion: '999999' }, spec: { nodeName: 'x' } } }));
    await until(() => informer.stats.malformedObjects === 1, 3_000, 'the malformed pod');
    expect(informer.get('default/steady')?.nodeName).toBe('node-1');
    expect(informer.state.resourceVersion).toBe('999999');
  });

  it('resumes from its own timeoutSeconds, randomised between one and two minimums', async () => {
    const { informer } = await start({ minWatchTimeoutSeconds: 1 });
    const asked = Number(fake.requestsFor('pods', true)[0]?.query.get('timeoutSeconds'));
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(2);
    await until(() => informer.stats.watchRestarts >= 1 && informer.state.watching, 5_000, 'a watch after the timeout');
    expect(informer.stats.lists).toBe(1);
  });
});
