/**
 * TLS for the IPC server's TCP address (a cluster instance serving node daemons over the network)
 * and for the clients that follow it. Certificates and keys are PEM files; each is read and
 * checked at start, so a wrong path or a key that is not a key stops the daemon with exit 2 and a
 * line naming the key, not at the first handshake.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { TlsOptions } from '../net/http-client.js';

/** What node:https needs to serve. */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
}

/** Reads and checks the server's certificate (chain) and key; ConfigError naming the key otherwise. */
export function loadServerTls(files: { readonly certFile: string; readonly keyFile: string }, keys = { cert: 'ipc.tls_cert_file', key: 'ipc.tls_key_file' }): ServerTls {
  const cert = readPem(files.certFile, keys.cert);
  const key = readPem(files.keyFile, keys.key);
  try {
    new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(keys.cert, `${files.certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(keys.key, `${files.keyFile} is not a PEM private key: ${(error as Error).message}`);
  }
  return { cert, key };
}

/**
 * The client side: the CA bundle to verify the server with (empty: the system's), or no
 * verification at all (`verify: false`, encryption only).
 */
export function loadClientTls(options: { readonly caFile: string; readonly verify: boolean }, caKey: string): TlsOptions {
  if (!options.verify) return { rejectUnauthorized: false };
  if (!options.caFile) return { rejectUnauthorized: true };
  return { ca: readPem(options.caFile, caKey), rejectUnauthorized: true };
}

function readPem(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${file}: ${(error as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(key, `${file} is not PEM (no -----BEGIN line)`);
  return text;
}
