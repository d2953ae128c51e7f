import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasOpenssl, makeSelfSignedCert } from '../test-support/certs.js';
import { tempDir } from './test-support/harness.js';
import { loadClientTls, loadServerTls } from './tls.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function files(): { dir: string; cert: string; key: string } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return { dir: t.dir, cert: join(t.dir, 'cert.pem'), key: join(t.dir, 'key.pem') };
}

describe.skipIf(!hasOpenssl() && process.env.CI !== 'true')('IPC TLS files', () => {
  it('loads a certificate and its key', () => {
    const f = files();
    const made = makeSelfSignedCert('IP:127.0.0.1');
    writeFileSync(f.cert, made.cert);
    writeFileSync(f.key, made.key);
    expect(loadServerTls({ certFile: f.cert, keyFile: f.key })).toEqual({ cert: made.cert, key: made.key });
    expect(loadClientTls({ caFile: f.cert, verify: true }, 'cluster_agent.ca_file')).toEqual({ ca: made.cert, rejectUnauthorized: true });
  });

  it('names the key of a missing file, a file that is not PEM, and a key that is a certificate', () => {
    const f = files();
    const made = makeSelfSignedCert('IP:127.0.0.1');
    expect(() => loadServerTls({ certFile: join(f.dir, 'absent.pem'), keyFile: f.key })).toThrow(/^invalid config ipc.tls_cert_file: cannot read .*absent.pem/);
    writeFileSync(f.cert, 'hello');
    expect(() => loadServerTls({ certFile: f.cert, keyFile: f.key })).toThrow(/^invalid config ipc.tls_cert_file: .* is not PEM/);
    writeFileSync(f.cert, made.cert);
    writeFileSync(f.key, made.cert);
    expect(() => loadServerTls({ certFile: f.cert, keyFile: f.key })).toThrow(/^invalid config ipc.tls_key_file: .* is not a PEM private key/);
    expect(() => loadClientTls({ caFile: join(f.dir, 'nope'), verify: true }, 'cluster_agent.ca_file')).toThrow(/^invalid config cluster_agent.ca_file/);
  });

  it('without verification reads no CA; without a CA file uses the system CAs', () => {
    expect(loadClientTls({ caFile: '/nonexistent', verify: false }, 'k')).toEqual({ rejectUnauthorized: false });
    expect(loadClientTls({ caFile: '', verify: true }, 'k')).toEqual({ rejectUnauthorized: true });
  });
});
