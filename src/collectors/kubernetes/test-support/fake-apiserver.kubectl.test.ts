/**
 * The fake API server checked by a real client: Debian's kubectl (`kubernetes-client`) lists,
 * pages and watches it over TLS with a bearer token. Required in CI (REQUIRE_ALL); skipped
 * only when kubectl or openssl is absent and nothing requires them.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeSelfSignedCert } from '../../../test-support/certs.js';
import { REQUIRE_ALL } from '../../../test-support/required.js';
import { until } from '../../../test-support/wait.js';
import { FakeApiServer } from './fake-apiserver.js';
import { endpointSlicesFromEndpoints, loadRecordedCluster, recorded } from './fixtures.js';

const run = promisify(execFile);

function kubectlPresent(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const present = kubectlPresent() && hasOpenssl();
if (!present && REQUIRE_ALL) throw new Error('kubectl (Debian package kubernetes-client) and openssl are required: apt-get install -y kubernetes-client openssl');

type Json = Record<string, unknown>;

describe.skipIf(!present)('the fake API server, seen by kubectl', () => {
  let fake: FakeApiServer;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    const cert = makeSelfSignedCert('IP:127.0.0.1', 'fake-apiserver');
    fake = await FakeApiServer.start({ tls: cert, token: 'kubectl-token' });
    loadRecordedCluster(fake);
    dir = mkdtempSync(join(tmpdir(), 'tagger-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    const ca = Buffer.from(cert.cert).toString('base64');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: ${fake.url}\n    certificate-authority-data: ${ca}`,
        'users:',
        '- name: reader\n  user:\n    token: kubectl-token',
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: reader',
        'current-context: fake',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: kubeconfig, HOME: dir });
  const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], { env: env(), timeout: 30_000 })).stdout;

  it('lists every pod of the recorded cluster (kubectl get pods -A -o json)', async () => {
    const out = JSON.parse(await kubectl('get', 'pods', '-A', '-o', 'json')) as { items: Json[] };
    expect(out.items.map((p) => (p.metadata as Json).uid).sort()).toEqual(recorded.pods().map((p) => (p.metadata as Json).uid).sort());
    expect(fake.requestsFor('pods', false).every((r) => r.authorization === 'Bearer kubectl-token')).toBe(true);
  });

  it('pages EndpointSlices with --chunk-size=2 through continue tokens', async () => {
    const before = fake.requestsFor('endpointslices', false).length;
    const out = JSON.parse(await kubectl('get', 'endpointslices', '-A', '--chunk-size=2', '-o', 'json')) as { items: Json[] };
    const expected = endpointSlicesFromEndpoints(recorded.endpoints(), recorded.services()).length;
    expect(out.items.length).toBe(expected);
    const requests = fake.requestsFor('endpointslices', false).slice(before);
    expect(requests.length).toBe(Math.ceil(expected / 2));
    expect(requests.every((r) => r.query.get('limit') === '2')).toBe(true);
    expect(requests.slice(1).every((r) => (r.query.get('continue') ?? '') !== '')).toBe(true);
  });

  it('follows adds and changes with --watch -o json', async () => {
    const child = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), 'get', 'namespaces', '--watch', '-o', 'json'], { env: env() });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    try {
      await until(() => fake.openWatches('namespaces') > 0, 15_000, 'kubectl to open its watch');
      fake.store.apply('namespaces', { metadata: { name: 'team-a', labels: { team: 'a' } } });
      await until(() => stdout.includes('"team-a"'), 10_000, 'kubectl to print the added namespace');
      fake.store.apply('namespaces', { metadata: { name: 'team-a', labels: { team: 'b' } } });
      await until(() => /"team":\s*"b"/.test(stdout), 10_000, 'kubectl to print the changed namespace');
    } finally {
      child.kill('SIGTERM');
    }
    const watch = fake.requestsFor('namespaces', true).at(-1);
    // kubectl lists, then watches from the list's resourceVersion.
    expect(Number(watch?.query.get('resourceVersion'))).toBeGreaterThan(0);
    expect(stdout).toContain('"kube-system"');
  });
});
