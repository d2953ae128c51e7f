/**
 * The IPC server as a cluster instance serves it: HTTPS on a network address with the bearer
 * token, and /v1/stream?node=NAME giving each node daemon its own pods and the global entity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClusterCollector } from '../collectors/cluster-agent/test-support/fake-cluster-collector.js';
import { GLOBAL_ENTITY_ID } from '../entity.js';
import { HttpClient } from '../net/http-client.js';
import { LocalTagger } from '../tagger/local-tagger.js';
import { RemoteTagger } from '../tagger/remote-tagger.js';
import { hasOpenssl, issueCert, makeCertAuthority, type TestCert } from '../test-support/certs.js';
import { until } from '../test-support/wait.js';
import { IpcClient } from './client.js';
import { IpcServer } from './server.js';
import { TOKEN, startHarness } from './test-support/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const pod = (uid: string): string => `kubernetes_pod_uid://${uid}`;

let certs: { ca: TestCert; server: TestCert } | undefined;
function tlsCerts(): { ca: TestCert; server: TestCert } {
  if (!certs) {
    const ca = makeCertAuthority();
    certs = { ca, server: issueCert(ca, { commonName: 'tagger-cluster', use: 'server', subjectAltName: 'IP:127.0.0.1' }) };
  }
  return certs;
}

async function clusterInstance(): Promise<{ fake: FakeClusterCollector; tagger: LocalTagger; server: IpcServer; url: string }> {
  const fake = new FakeClusterCollector();
  const tagger = new LocalTagger({ collectors: [fake] });
  await tagger.start();
  cleanups.push(() => tagger.stop());
  const { server: cert } = tlsCerts();
  const server = new IpcServer({ tagger, token: TOKEN, tcpAddress: '0.0.0.0:0', allowNetwork: true, tls: { cert: cert.cert, key: cert.key }, placement: fake, processMetrics: false, heartbeatMs: 200 });
  await server.start();
  cleanups.push(() => server.stop(50));
  return { fake, tagger, server, url: `https://127.0.0.1:${server.tcpAddress?.port}` };
}

function follower(url: string, node: string): RemoteTagger {
  const replica = new RemoteTagger({ address: url, token: TOKEN, node, tls: { ca: tlsCerts().ca.cert }, backoff: { initialMs: 20, maxMs: 100 }, prefixes: ['kubernetes_pod_uid://', 'internal://'] });
  cleanups.push(() => replica.stop());
  return replica;
}

const ids = (r: RemoteTagger): string[] => r.list().map((e) => e.id).sort();

describe.skipIf(!hasOpenssl() && process.env.CI !== 'true')('IpcServer as a cluster instance', () => {
  it('serves HTTPS on a network address, the token required everywhere but /healthz', async () => {
    const { server } = await clusterInstance();
    expect(server.tcpAddress?.host).toBe('0.0.0.0');
    const url = `https://127.0.0.1:${server.tcpAddress?.port}`;
    const client = new IpcClient({ address: url, token: TOKEN, tls: { ca: tlsCerts().ca.cert } });
    cleanups.push(() => client.close());
    expect((await client.entities()).entities).toEqual([]);
    const anonymous = new HttpClient(url, { tls: { ca: tlsCerts().ca.cert } });
    cleanups.push(() => anonymous.close());
    expect((await anonymous.request('/v1/entities')).status).toBe(401);
    expect((await anonymous.request('/healthz')).status).toBe(200);
    // A client that does not trust the certificate does not get in.
    const untrusting = new IpcClient({ address: url, token: TOKEN });
    cleanups.push(() => untrusting.close());
    await expect(untrusting.entities()).rejects.toThrow();
  });

  it('refuses a network address without TLS (naming ipc.tls_cert_file), and outside cluster mode at all', async () => {
    const tagger = new LocalTagger();
    const noTls = new IpcServer({ tagger, token: TOKEN, tcpAddress: '0.0.0.0:0', allowNetwork: true, processMetrics: false });
    await expect(noTls.start()).rejects.toThrow(/^invalid config ipc.tls_cert_file: ipc.tcp_address 0.0.0.0:0 is not a loopback address/);
    const { server: cert } = tlsCerts();
    const notCluster = new IpcServer({ tagger, token: TOKEN, tcpAddress: '0.0.0.0:0', tls: { cert: cert.cert, key: cert.key }, processMetrics: false });
    await expect(notCluster.start()).rejects.toThrow(/^invalid config ipc.tcp_address: must be a loopback address/);
    // Loopback with TLS is fine in any mode.
    const loopback = new IpcServer({ tagger, token: TOKEN, tcpAddress: '127.0.0.1:0', tls: { cert: cert.cert, key: cert.key }, processMetrics: false });
    await loopback.start();
    cleanups.push(() => loopback.stop(50));
  });

  it('node= gives a follower its node’s pods and the global entity; pods that come, change and go follow', async () => {
    const { fake, url } = await clusterInstance();
    fake.setPod('a1', ['kube_service:web'], 'node-a');
    fake.setPod('b1', ['kube_service:db'], 'node-b');
    fake.setPod('unscheduled', ['team:shop']);
    fake.setGlobal(['kube_cluster_name:prod']);
    const a = follower(url, 'node-a');
    const b = follower(url, 'node-b');
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.ready(), b.ready()]);
    expect(ids(a)).toEqual([GLOBAL_ENTITY_ID, pod('a1')]);
    expect(ids(b)).toEqual([GLOBAL_ENTITY_ID, pod('b1')]);
    expect(a.tagSync(pod('a1'))).toEqual(['kube_service:web']);

    fake.setPod('a1', ['kube_service:api'], 'node-a');
    fake.bind('unscheduled', 'node-b');
    fake.setPod('a2', ['kube_service:web'], 'node-a');
    await until(() => a.tagSync(pod('a1')).includes('kube_service:api') && ids(a).includes(pod('a2')), 5_000, 'changes on node A');
    await until(() => ids(b).includes(pod('unscheduled')), 5_000, 'a pod bound to node B later');
    expect(b.tagSync(pod('unscheduled'))).toEqual(['team:shop']);
    expect(ids(a)).not.toContain(pod('unscheduled'));

    fake.setPod('a2', ['kube_service:web'], 'node-b');
    await until(() => !ids(a).includes(pod('a2')) && ids(b).includes(pod('a2')), 5_000, 'a pod moved from A to B');
  });

  it('refuses node= where nobody knows where pods run, and a node name that is not one', async () => {
    const h = await startHarness();
    cleanups.push(() => h.close());
    const client = new HttpClient(`unix://${h.socket}`);
    cleanups.push(() => client.close());
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    const none = await client.request('/v1/stream?node=node-a', auth);
    expect(none.status).toBe(400);
    expect(none.body).toMatch(/mode: cluster/);
    const { url } = await clusterInstance();
    const https = new HttpClient(url, { tls: { ca: tlsCerts().ca.cert } });
    cleanups.push(() => https.close());
    const bad = await https.request('/v1/stream?node=Node_A', auth);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/node must be a Kubernetes node name/);
  });
});
