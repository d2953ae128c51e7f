/**
 * Certificates for TLS tests, made at test time with the openssl CLI (nothing secret is ever
 * committed, and nothing expires in the repository). P-256 keys keep generation fast.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  readonly key: string;
  readonly cert: string;
}

/** True when the openssl CLI is there to make certificates. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate (its own CA) for the given subjectAltName, e.g. `IP:127.0.0.1`. */
export function makeSelfSignedCert(subjectAltName: string, commonName = 'tagger-test'): TestCert {
  return selfSigned(commonName, [`subjectAltName=${subjectAltName}`]);
}

/** A certificate authority, to sign server and client certificates with issueCert. */
export function makeCertAuthority(commonName = 'tagger-test-ca'): TestCert {
  return selfSigned(commonName, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/**
 * A certificate signed by `ca`: for a server (`serverAuth`, with its subjectAltName) or for a
 * client (`clientAuth`, as the Docker daemon's `--tlsverify` requires of `cert.pem`).
 */
export function issueCert(ca: TestCert, options: { readonly commonName: string; readonly use: 'server' | 'client'; readonly subjectAltName?: string }): TestCert {
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'ca-key.pem'), ca.key);
    const extensions = [`extendedKeyUsage=${options.use === 'server' ? 'serverAuth' : 'clientAuth'}`, ...(options.subjectAltName ? [`subjectAltName=${options.subjectAltName}`] : [])];
    writeFileSync(join(dir, 'ext.cnf'), `${extensions.join('\n')}\n`);
    openssl(['req', '-new', ...NEW_KEY, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'req.csr'), '-subj', `/CN=${options.commonName}`]);
    // -set_serial rather than -CAcreateserial: no serial file is left beside the CA.
    openssl(['x509', '-req', '-in', join(dir, 'req.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca-key.pem'), '-set_serial', String(Date.now()), '-days', '2', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'cert.pem')]);
    return read(dir);
  });
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSigned(commonName: string, extensions: readonly string[]): TestCert {
  return inTempDir((dir) => {
    openssl(['req', '-x509', ...NEW_KEY, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', `/CN=${commonName}`, ...extensions.flatMap((e) => ['-addext', e])]);
    return read(dir);
  });
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function read(dir: string): TestCert {
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tagger-cert-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
