/**
 * The IPC auth token: a file holding 32 random bytes as hex, created 0600 by the daemon when
 * missing, read by clients. Comparison is constant-time so the token cannot be guessed byte by
 * byte from response times.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AuthTokenError } from '../errors.js';
import { makeDirs } from './dirs.js';

/** Reads the token file, creating it (0600; a missing parent 0750, see dirs.ts) when absent. */
export function ensureTokenFile(file: string): string {
  try {
    return readTokenFile(file);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('hex');
  try {
    makeDirs(dirname(file));
    // `wx`: if another process created it meanwhile, keep theirs.
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return readTokenFile(file);
    throw new AuthTokenError(file, `cannot create: ${(error as Error).message}`);
  }
}

export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const err = new AuthTokenError(file, `cannot read: ${(cause as { code?: string }).code ?? (cause as Error).message}`);
    Object.defineProperty(err, 'cause', { value: cause });
    throw err;
  }
  const token = text.trim();
  if (token === '') throw new AuthTokenError(file, 'is empty');
  if (/\s/.test(token)) throw new AuthTokenError(file, 'must hold one token on one line');
  return token;
}

/** The byte compare; a constructor argument so a test can see what is compared, and how. */
export type ByteCompare = (a: Uint8Array, b: Uint8Array) => boolean;

/**
 * Checks an Authorization header against the expected token in constant time. The scheme is
 * case-insensitive (RFC 7235: `bearer` and `BEARER` are `Bearer`); only the token is secret.
 */
export class TokenChecker {
  private readonly expected: Buffer;
  constructor(
    token: string,
    private readonly compare: ByteCompare = timingSafeEqual,
  ) {
    this.expected = Buffer.from(token, 'utf8');
  }

  matches(header: string | undefined): boolean {
    if (header === undefined) return false;
    const scheme = /^bearer +/i.exec(header);
    const given = Buffer.from(scheme ? header.slice(scheme[0].length) : '', 'utf8');
    if (given.length !== this.expected.length) {
      // Same work either way; the length itself is not secret (it is always 64 hex).
      this.compare(this.expected, this.expected);
      return false;
    }
    return this.compare(given, this.expected);
  }
}
