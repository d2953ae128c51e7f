import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureTokenFile } from './auth.js';
import { listenUnix, prepareSocketPath } from './listen.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tagger-listen-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `fn` under `mask`, restoring the process's umask after. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const before = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(before);
  }
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('socket and token modes', () => {
  it('binds the socket with mode 0660 from its first instant, whatever the umask', async () => {
    const path = join(temp(), 'tagger.sock');
    const server = createServer();
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    let atBind = -1;
    // Registered before listenUnix's own callback: sees the file as bind made it, before any chmod.
    server.once('listening', () => (atBind = mode(path)));
    await withUmask(0, () => listenUnix(server, path));
    expect(atBind.toString(8)).toBe('660');
    expect(mode(path).toString(8)).toBe('660');
    expect(process.umask().toString(8)).not.toBe('117'); // the umask is restored
  });

  it('creates the default folder 0750, so the socket\'s group can reach it, while the token stays 0600', async () => {
    for (const mask of [0o022, 0o077]) {
      const dir = join(temp(), 'run', 'tagger');
      await withUmask(mask, async () => {
        ensureTokenFile(join(dir, 'auth_token'));
        await prepareSocketPath(join(dir, 'tagger.sock'));
      });
      expect(mode(dir).toString(8), `umask ${mask.toString(8)}`).toBe('750');
      expect(mode(join(dir, 'auth_token')).toString(8)).toBe('600');
    }
  });

  it('leaves the mode of a folder it did not create alone', async () => {
    const dir = temp(); // 0700 from mkdtemp
    ensureTokenFile(join(dir, 'auth_token'));
    await prepareSocketPath(join(dir, 'tagger.sock'));
    expect(mode(dir).toString(8)).toBe('700');
  });
});
