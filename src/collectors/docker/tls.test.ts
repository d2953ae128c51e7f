import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { isTaggerError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { hasOpenssl, issueCert, makeCertAuthority, type TestCert } from '../../test-support/certs.js';
import { until } from '../../test-support/wait.js';
import type { Collector } from '../collector.js';
import { collectorsFromConfig } from '../registry.js';
import { DockerClient } from './client.js';
import { FakeDocker, type FakeDockerListen } from './test-support/fake-docker.js';
import { DockerCertFileError, DockerTlsClosedError, dockerEndpoint } from './tls.js';

const TESTDATA = new URL('./testdata/', import.meta.url);
const json = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(name, TESTDATA), 'utf8')) as Record<string, unknown>;
const T1 = '71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64';

describe('the Docker endpoint, as the docker CLI parses DOCKER_HOST', () => {
  it('takes TLS only over tcp, with the CLI default ports 2376 (TLS) and 2375 (plain)', () => {
    expect(dockerEndpoint('tcp://10.0.0.5:2376', true)).toMatchObject({ origin: 'https://10.0.0.5:2376', display: 'tcp://10.0.0.5:2376', tls: true });
    expect(dockerEndpoint('tcp://10.0.0.5:2375', false)).toMatchObject({ origin: 'http://10.0.0.5:2375', tls: false });
    expect(dockerEndpoint('tcp://docker.example', true).origin).toBe('https://docker.example:2376');
    expect(dockerEndpoint('tcp://docker.example', false).origin).toBe('http://docker.example:2375');
    expect(dockerEndpoint('tcp://10.0.0.5:80', false).origin).toBe('http://10.0.0.5:80');
    expect(dockerEndpoint('tcp://[::1]:2376', true).origin).toBe('https://[::1]:2376');
    expect(dockerEndpoint('10.0.0.5:2376', true).origin).toBe('https://10.0.0.5:2376');
    expect(dockerEndpoint('unix:///var/run/docker.sock', true)).toMatchObject({ socketPath: '/var/run/docker.sock', origin: 'http://localhost', tls: false });
    expect(dockerEndpoint('/run/podman/podman.sock', true)).toMatchObject({ socketPath: '/run/podman/podman.sock', tls: false });
  });

  it.each(['https://10.0.0.5:2376', 'http://10.0.0.5:2375', 'ssh://me@host', 'ftp://nope'])('refuses %s, as the CLI does (invalid bind address)', (host) => {
    expect(() => dockerEndpoint(host, true)).toThrow(/unsupported scheme/);
    expect(() => collectorsFromConfig({ config: resolveConfig({ docker: { host } }), clock: new ManualClock(0), logger: silentLogger, env: {} })).toThrow(/invalid config docker\.host/);
  });
});

describe.skipIf(!hasOpenssl() && process.env.CI !== 'true')('Docker over TLS (DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH)', () => {
  let root: string;
  let ca: TestCert;
  let server: TestCert;
  let client: TestCert;
  const dirs: Record<string, string> = {};
  const open: Array<{ close?: () => Promise<void> }> = [];

  /** A DOCKER_CERT_PATH folder with these files. */
  function certDir(name: string, files: Readonly<Record<string, string>>): string {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
    return dir;
  }

  async function daemon(listen: FakeDockerListen = { tls: { server, ca: ca.cert } }): Promise<FakeDocker> {
    const fake = await new FakeDocker(json('captures/dockerd-20.10/e2e_inspect.json'), listen).start();
    fake.put(json('captures/dockerd-20.10/container_inspect.json'));
    open.push(fake);
    return fake;
  }

  function dockerClient(host: string, certPath: string, verify = true): DockerClient {
    const c = new DockerClient(host, { timeoutMs: 3_000, tls: { verify, certPath } });
    open.push(c);
    return c;
  }

  function fromEnv(env: NodeJS.ProcessEnv): Collector {
    const collectors = collectorsFromConfig({ config: resolveConfig({}, env), clock: new ManualClock(0), logger: silentLogger, env });
    const docker = collectors.find((c) => c.name === 'docker');
    if (!docker) throw new Error('no docker collector');
    open.push(docker);
    return docker;
  }

  const detect = async (c: Collector): Promise<unknown> => c.detect?.(new AbortController().signal);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'tagger-docker-tls-'));
    ca = makeCertAuthority('docker-test-ca');
    const otherCa = makeCertAuthority('someone-else');
    server = issueCert(ca, { commonName: 'dockerd', use: 'server', subjectAltName: 'IP:127.0.0.1' });
    client = issueCert(ca, { commonName: 'tagger', use: 'client' });
    const foreign = issueCert(otherCa, { commonName: 'intruder', use: 'client' });
    dirs.good = certDir('good', { 'ca.pem': ca.cert, 'cert.pem': client.cert, 'key.pem': client.key });
    dirs.caOnly = certDir('ca-only', { 'ca.pem': ca.cert });
    dirs.wrongCa = certDir('wrong-ca', { 'ca.pem': otherCa.cert, 'cert.pem': client.cert, 'key.pem': client.key });
    dirs.foreignClient = certDir('foreign-client', { 'ca.pem': ca.cert, 'cert.pem': foreign.cert, 'key.pem': foreign.key });
    dirs.noCa = certDir('no-ca', { 'cert.pem': client.cert, 'key.pem': client.key });
    dirs.certNoKey = certDir('cert-no-key', { 'ca.pem': ca.cert, 'cert.pem': client.cert });
    dirs.wrongKey = certDir('wrong-key', { 'ca.pem': ca.cert, 'cert.pem': client.cert, 'key.pem': server.key });
    dirs.damaged = certDir('damaged', { 'ca.pem': 'not a certificate\n', 'cert.pem': client.cert, 'key.pem': client.key });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close?.()));
    vi.unstubAllEnvs();
  });

  it('with ca.pem, cert.pem and key.pem: pings, negotiates and lists containers over mutual TLS', async () => {
    const fake = await daemon();
    const c = dockerClient(fake.host, dirs.good as string);
    expect(c.display).toBe(fake.host);
    expect(await c.ping()).toEqual({ ok: true });
    expect(await c.negotiate()).toBe('1.41');
    const list = await c.listContainers();
    expect(list.containers.map((x) => x.Id)).toEqual([T1]);
  });

  it('without a client certificate (only ca.pem in the cert path): the daemon refuses, and the error says none was sent', async () => {
    const fake = await daemon();
    const c = dockerClient(fake.host, dirs.caOnly as string);
    const ping = await c.ping();
    expect(ping).toEqual({ ok: false, reason: expect.stringContaining(`no client certificate was sent: ${dirs.caOnly} has no cert.pem and key.pem`) as unknown });
    const error = await c.negotiate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerTlsClosedError);
    expect(isTaggerError(error, 'TAGGER_SOCKET')).toBe(true);
    expect((error as Error).message).toMatch(/^cannot reach tcp:\/\/127\.0\.0\.1:\d+: .*the daemon may have refused the client certificate/);
    expect(fake.requests).toEqual([]);
  });

  it('a client certificate from another CA: the daemon refuses it, and the error names the certificate sent', async () => {
    const fake = await daemon();
    const error = await dockerClient(fake.host, dirs.foreignClient as string).negotiate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerTlsClosedError);
    expect((error as Error).message).toContain(`the client certificate ${join(dirs.foreignClient as string, 'cert.pem')} was sent`);
    expect(fake.requests).toEqual([]);
  });

  it('a daemon certificate that ca.pem did not sign: a verification error, no request sent', async () => {
    const fake = await daemon();
    const error = await dockerClient(fake.host, dirs.wrongCa as string).negotiate().catch((e: unknown) => e);
    expect(isTaggerError(error, 'TAGGER_SOCKET')).toBe(true);
    expect(error).not.toBeInstanceOf(DockerTlsClosedError);
    // Node sends the CA it trusts clients with along with the server certificate, hence "in chain".
    expect((error as Error).message).toMatch(/certificate.*\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
    expect(fake.requests).toEqual([]);
  });

  it('a missing ca.pem: an error naming the file, from the client, detect() and health', async () => {
    const fake = await daemon();
    const caFile = join(dirs.noCa as string, 'ca.pem');
    const error = await dockerClient(fake.host, dirs.noCa as string).negotiate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerCertFileError);
    expect((error as DockerCertFileError).file).toBe(caFile);
    expect((error as Error).message).toContain(`cannot read ${caFile} (ENOENT)`);
    const env = { DOCKER_HOST: fake.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dirs.noCa };
    expect(await detect(fromEnv(env))).toEqual({ available: false, reason: expect.stringContaining(caFile) as unknown });
    const forced = fromEnv({ ...env, TAGGER_DOCKER_ENABLED: 'true' });
    const tagger = new LocalTagger({ collectors: [forced] });
    open.push({ close: () => tagger.stop() });
    await tagger.start();
    await until(() => forced.health().message.includes(caFile), 5_000, 'health naming ca.pem');
    expect(forced.health()).toEqual({ healthy: false, message: expect.stringMatching(/docker\.cert_path: cannot read .*ca\.pem \(ENOENT\)/) as unknown });
    // Once the file is there, the next attempt reads it: no restart needed.
    writeFileSync(caFile, ca.cert);
    await until(() => forced.health().healthy, 5_000, 'healthy after ca.pem appears');
    rmSync(caFile);
  });

  it('cert.pem without key.pem, a key that is not the certificate\'s, and a damaged ca.pem: errors naming the file', async () => {
    const fake = await daemon();
    const failure = async (dir: string): Promise<DockerCertFileError> => (await dockerClient(fake.host, dir).negotiate().catch((e: unknown) => e)) as DockerCertFileError;
    expect((await failure(dirs.certNoKey as string)).file).toBe(join(dirs.certNoKey as string, 'key.pem'));
    expect((await failure(dirs.wrongKey as string)).message).toContain(`${join(dirs.wrongKey as string, 'key.pem')} is not the key of`);
    expect((await failure(dirs.damaged as string)).file).toBe(join(dirs.damaged as string, 'ca.pem'));
    expect(fake.requests).toEqual([]);
  });

  it('DOCKER_TLS without DOCKER_TLS_VERIFY: encrypted, the daemon certificate unchecked, ca.pem never read', async () => {
    const fake = await daemon();
    // No ca.pem at all, and the client certificate is still presented (the daemon requires it).
    expect(await detect(fromEnv({ DOCKER_HOST: fake.host, DOCKER_TLS: '1', DOCKER_CERT_PATH: dirs.noCa }))).toEqual({ available: true });
    expect(await dockerClient(fake.host, dirs.wrongCa as string, false).ping()).toEqual({ ok: true });
  });

  it('DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_HOST from the environment reach the client; any non-empty value turns TLS on', async () => {
    const fake = await daemon();
    expect(await detect(fromEnv({ DOCKER_HOST: fake.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dirs.good }))).toEqual({ available: true });
    expect(await detect(fromEnv({ DOCKER_HOST: fake.host, DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: dirs.good }))).toEqual({ available: true });
  });

  it('DOCKER_CERT_PATH unset: the files come from ~/.docker', async () => {
    const fake = await daemon();
    const home = join(root, 'home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(home, '.docker', file), readFileSync(join(dirs.good as string, file)));
    vi.stubEnv('HOME', home);
    expect(await detect(fromEnv({ DOCKER_HOST: fake.host, DOCKER_TLS_VERIFY: '1' }))).toEqual({ available: true });
  });

  it('DOCKER_TLS_VERIFY unset: plain HTTP to tcp://, even with the certificate files in DOCKER_CERT_PATH', async () => {
    const plain = await daemon({ tcp: true });
    expect(await detect(fromEnv({ DOCKER_HOST: plain.host, DOCKER_CERT_PATH: dirs.good }))).toEqual({ available: true });
    expect(plain.requests.map((r) => r.path)).toEqual(['/_ping']);
    const secure = await daemon();
    expect(await detect(fromEnv({ DOCKER_HOST: secure.host, DOCKER_CERT_PATH: dirs.good }))).toMatchObject({ available: false });
  });

  it('a unix socket ignores TLS: no certificate is read', async () => {
    const fake = await daemon({});
    expect(await dockerClient(fake.host, join(root, 'nonexistent')).ping()).toEqual({ ok: true });
    expect(await detect(fromEnv({ DOCKER_HOST: fake.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(root, 'nonexistent') }))).toEqual({ available: true });
  });
});
