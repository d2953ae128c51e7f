import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, HttpStatusError, SocketError, TimeoutError } from '../../errors.js';
import { KubeletAuthError, KubeletClient, KubeletTlsError, decodePodList, defaultKubeletUrl, type KubeletClientOptions } from './client.js';
import { hasOpenssl, makeSelfSignedCert, type TestCert } from '../../test-support/certs.js';
import { FakeKubelet } from './test-support/fake-kubelet.js';

const fixture = readFileSync(new URL('./testdata/pods_k8s-1.35_containerd.json', import.meta.url), 'utf8');
const opensslMissing = !hasOpenssl();

describe.skipIf(opensslMissing && process.env.CI !== 'true')('KubeletClient over HTTPS', () => {
  let dir: string;
  let cert: TestCert;
  let otherCert: TestCert;
  let wrongNameCert: TestCert;
  let fake: FakeKubelet;
  const clients: KubeletClient[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagger-kubelet-client-'));
    cert = makeSelfSignedCert('IP:127.0.0.1');
    otherCert = makeSelfSignedCert('IP:127.0.0.1', 'someone-else');
    wrongNameCert = makeSelfSignedCert('DNS:kubelet.example');
    writeFileSync(join(dir, 'ca.crt'), cert.cert);
    writeFileSync(join(dir, 'other-ca.crt'), otherCert.cert);
    writeFileSync(join(dir, 'wrong-name-ca.crt'), wrongNameCert.cert);
    writeFileSync(join(dir, 'token'), 'tok-1\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake?.close();
  });

  function client(options: Partial<KubeletClientOptions> = {}): KubeletClient {
    const c = new KubeletClient({ url: fake.url, tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), tlsVerify: true, timeoutMs: 2_000, ...options });
    clients.push(c);
    return c;
  }

  it('verifies the certificate against kubelet.ca_file and sends the token', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    fake.body = fixture;
    const list = await client().getPods();
    expect(list.items.length).toBe(24);
    expect(fake.authorizations).toEqual(['Bearer tok-1']);
  });

  it('reads the token file again at each request (rotation)', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    const c = client();
    await c.getPods();
    writeFileSync(join(dir, 'token'), 'tok-2');
    fake.token = 'tok-2';
    await c.getPods();
    writeFileSync(join(dir, 'token'), 'tok-1\n');
    expect(fake.authorizations).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('401: a clear error naming the token', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'expected' });
    const error = await client().getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletAuthError);
    expect((error as KubeletAuthError).status).toBe(401);
    expect((error as KubeletAuthError).code).toBe('TAGGER_HTTP_STATUS');
    expect((error as Error).message).toContain('kubelet.token_file');
    expect((error as Error).message).not.toContain('tok-1');
  });

  it('401 with an unreadable token file says so', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'expected' });
    const error = await client({ tokenFile: join(dir, 'missing-token') }).getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletAuthError);
    expect((error as Error).message).toMatch(/missing-token is unreadable \(ENOENT\)/);
    expect(fake.authorizations).toEqual([undefined]);
  });

  it('403: a clear error naming the nodes/proxy RBAC', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    fake.misbehave = 'forbidden';
    const error = await client().getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletAuthError);
    expect((error as KubeletAuthError).status).toBe(403);
    expect((error as Error).message).toContain('nodes/proxy');
  });

  it('a certificate from another CA: a TLS error that says what to set', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    const error = await client({ caFile: join(dir, 'other-ca.crt') }).getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletTlsError);
    expect((error as KubeletTlsError).code).toBe('TAGGER_SOCKET');
    expect((error as Error).message).toMatch(/kubelet\.ca_file.*kubelet\.tls_verify: false/);
    expect(fake.podRequests).toBe(0);
  });

  it('a certificate for another host name: a TLS error', async () => {
    fake = await FakeKubelet.start({ tls: wrongNameCert, token: 'tok-1' });
    const error = await client({ caFile: join(dir, 'wrong-name-ca.crt') }).getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletTlsError);
    expect((error as Error).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('an unreadable CA file falls back to the system CAs, and the TLS error says the file was unreadable', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    const error = await client({ caFile: join(dir, 'nope.crt') }).getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeletTlsError);
    expect((error as Error).message).toContain('nope.crt is unreadable');
  });

  it('tls_verify false accepts any certificate', async () => {
    fake = await FakeKubelet.start({ tls: wrongNameCert, token: 'tok-1' });
    fake.body = fixture;
    expect((await client({ tlsVerify: false, caFile: '' }).getPods()).items.length).toBe(24);
  });

  it('garbage, truncated and non-PodList bodies are DecodeErrors; 500 an HttpStatusError', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    fake.body = fixture;
    const c = client();
    for (const bad of ['garbage', 'truncated', 'not-a-podlist'] as const) {
      fake.misbehave = bad;
      const error = await c.getPods().catch((e: unknown) => e);
      expect(error, bad).toBeInstanceOf(DecodeError);
    }
    fake.misbehave = 'status-500';
    const error = await c.getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(500);
    expect(error).not.toBeInstanceOf(KubeletAuthError);
  });

  it('a kubelet that never finishes its answer times out', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'tok-1' });
    fake.body = fixture;
    fake.misbehave = 'hang';
    const started = Date.now();
    const error = await client({ timeoutMs: 300 }).getPods().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('probe() reports any HTTP answer, even 401', async () => {
    fake = await FakeKubelet.start({ tls: cert, token: 'other' });
    expect(await client().probe()).toBe(401);
  });
});

describe('KubeletClient over plain HTTP (read-only port)', () => {
  it('works without a token and never sends one in clear text', async () => {
    const fake = await FakeKubelet.start();
    const dir = mkdtempSync(join(tmpdir(), 'tagger-kubelet-ro-'));
    writeFileSync(join(dir, 'token'), 'secret');
    const c = new KubeletClient({ url: `${fake.url}/`, tokenFile: join(dir, 'token'), tlsVerify: true });
    try {
      fake.body = fixture;
      expect((await c.getPods()).items.length).toBe(24);
      expect(fake.authorizations).toEqual([undefined]);
    } finally {
      await c.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nothing listening: a SocketError that is not a TLS error', async () => {
    const fake = await FakeKubelet.start();
    const url = fake.url;
    await fake.close();
    const c = new KubeletClient({ url, tlsVerify: true });
    try {
      const error = await c.getPods().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SocketError);
      expect(error).not.toBeInstanceOf(KubeletTlsError);
    } finally {
      await c.close();
    }
  });
});

describe('defaultKubeletUrl and decodePodList', () => {
  it('prefers NODE_IP, then HOST_IP, then localhost; brackets IPv6', () => {
    expect(defaultKubeletUrl({ NODE_IP: '10.0.0.5', HOST_IP: '10.0.0.6' })).toBe('https://10.0.0.5:10250');
    expect(defaultKubeletUrl({ HOST_IP: '10.0.0.6' })).toBe('https://10.0.0.6:10250');
    expect(defaultKubeletUrl({})).toBe('https://localhost:10250');
    expect(defaultKubeletUrl({ NODE_IP: 'fd00::1' })).toBe('https://[fd00::1]:10250');
  });
  it('accepts null items as empty and refuses other shapes', () => {
    expect(decodePodList({ kind: 'PodList', items: null }).items).toEqual([]);
    expect(() => decodePodList([])).toThrow(DecodeError);
    expect(() => decodePodList({ items: {} })).toThrow(DecodeError);
    expect(() => decodePodList('x')).toThrow(DecodeError);
  });
});
