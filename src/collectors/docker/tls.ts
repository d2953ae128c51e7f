/**
 * DOCKER_HOST and TLS as the docker CLI reads them (docker/cli `opts/hosts.go` and
 * `cli/flags/options.go`, with go-connections `tlsconfig.Client`):
 * - the host is `unix://path` (or a bare path) or `tcp://host[:port]` (or a bare `host:port`);
 *   any other scheme, `https://` included, is refused, since the CLI refuses it too. A tcp port
 *   left out is 2376 with TLS, 2375 without.
 * - TLS is on with `--tlsverify` / DOCKER_TLS_VERIFY (then the daemon's certificate is verified
 *   against `ca.pem`) or with `--tls` / DOCKER_TLS (encrypted, nothing verified), and only for tcp.
 * - `ca.pem`, `cert.pem` and `key.pem` come from DOCKER_CERT_PATH (default `~/.docker`). The CA is
 *   read only when verifying. cert.pem and key.pem, when both are absent, mean "no client
 *   certificate" (the CLI drops its default paths when the files do not exist); one without the
 *   other, or a file that exists but cannot be read, is an error naming the file.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, DecodeError, SocketError, causeMessage } from '../../errors.js';
import { parseEndpoint, type Endpoint, type TlsOptions } from '../../net/http-client.js';

export interface DockerTlsOptions {
  /** Verify the daemon's certificate against `ca.pem` (DOCKER_TLS_VERIFY); false encrypts only (DOCKER_TLS). */
  readonly verify: boolean;
  /** The folder of `ca.pem`, `cert.pem` and `key.pem` (DOCKER_CERT_PATH). */
  readonly certPath: string;
}

/** A certificate file that TLS needs could not be read. Reported by detect() and health. */
export class DockerCertFileError extends ConfigError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super('docker.cert_path', reason);
  }
}

/** Where the collector connects: a unix socket never uses TLS, a tcp address does when `tls` is on. */
export function dockerEndpoint(host: string, tls: boolean): Endpoint & { readonly basePath: string; readonly tls: boolean } {
  const trimmed = host.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'unix' && scheme !== 'tcp') {
    throw new DecodeError(`Docker host ${JSON.stringify(host)}`, { cause: new Error(`unsupported scheme ${scheme}://: use unix:///path or tcp://host:port, as the docker CLI does (TLS is turned on by docker.tls_verify / DOCKER_TLS_VERIFY, not by https://)`) });
  }
  const parsed = parseEndpoint(trimmed);
  if (parsed.socketPath !== undefined) return { ...parsed, tls: false };
  // A non-special scheme keeps the port as written (http: would drop an explicit :80).
  const url = new URL(`tcp://${trimmed.replace(/^tcp:\/\//i, '')}`);
  const port = url.port || (tls ? '2376' : '2375');
  return { origin: `${tls ? 'https' : 'http'}://${url.hostname}:${port}`, display: parsed.display, basePath: parsed.basePath, tls };
}

/**
 * Reads the certificate files into the shared HttpClient's TLS options, with a note of which
 * client certificate is presented, for errors.
 */
export async function loadDockerTls(options: DockerTlsOptions): Promise<{ readonly tls: TlsOptions; readonly clientCertNote: string }> {
  const caFile = join(options.certPath, 'ca.pem');
  const certFile = join(options.certPath, 'cert.pem');
  const keyFile = join(options.certPath, 'key.pem');
  // Without verification the CLI never opens ca.pem (go-connections skips it), so neither do we.
  const ca = options.verify ? await readPem(caFile, 'the CA certificate that the daemon\'s certificate is verified against (docker.tls_verify / DOCKER_TLS_VERIFY)', false) : undefined;
  const [cert, key] = await Promise.all([readPem(certFile, 'the client certificate', true), readPem(keyFile, 'the client key', true)]);
  if (cert !== undefined && key === undefined) throw new DockerCertFileError(keyFile, `${keyFile} does not exist, but ${certFile} does: the client certificate needs its key`);
  if (key !== undefined && cert === undefined) throw new DockerCertFileError(certFile, `${certFile} does not exist, but ${keyFile} does: the client key needs its certificate`);
  // Parsed here, so a damaged file is named; the TLS handshake would only say "PEM routines".
  if (ca !== undefined) parsePem(caFile, () => new X509Certificate(ca));
  if (cert !== undefined && key !== undefined) {
    const certificate = parsePem(certFile, () => new X509Certificate(cert));
    const privateKey = parsePem(keyFile, () => createPrivateKey(key));
    if (!certificate.checkPrivateKey(privateKey)) throw new DockerCertFileError(keyFile, `${keyFile} is not the key of ${certFile}`);
  }
  return {
    tls: { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}), rejectUnauthorized: options.verify },
    clientCertNote: cert !== undefined ? `the client certificate ${certFile} was sent` : `no client certificate was sent: ${options.certPath} has no cert.pem and key.pem`,
  };
}

/** Codes of a connection the daemon closed or reset (not one it never accepted, like ECONNREFUSED). */
const CLOSED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * A TLS connection that the daemon closed before answering: the daemon may have refused the
 * client certificate, which TLS 1.3 reports to the client only as a close. Other errors pass.
 */
export function explainTlsClose(error: unknown, clientCertNote: string): unknown {
  if (!(error instanceof SocketError)) return error;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CLOSED.has(code) ? new DockerTlsClosedError(error, clientCertNote) : error;
}

/** A SocketError whose message adds which client certificate was sent. */
export class DockerTlsClosedError extends SocketError {
  constructor(error: SocketError, clientCertNote: string) {
    super(error.target, { cause: error.cause });
    this.message = `${error.message}; the daemon may have refused the client certificate (${clientCertNote})`;
  }
}

/** The file's text; undefined when it does not exist and `optional`; otherwise an error naming it. */
async function readPem(file: string, what: string, optional: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (optional && code === 'ENOENT') return undefined;
    throw new DockerCertFileError(file, `cannot read ${file} (${code}), ${what}; set docker.cert_path (DOCKER_CERT_PATH) to the folder holding ca.pem, cert.pem and key.pem`);
  }
}

function parsePem<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new DockerCertFileError(file, `${file} is not a valid PEM file: ${causeMessage(error)}`);
  }
}
