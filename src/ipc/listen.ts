/**
 * Where the IPC server listens: the unix socket (a stale file from a crashed run is replaced, a
 * live one refused) and the optional TCP address (loopback only, but for a cluster instance serving
 * node daemons over TLS: see IpcServer).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError, TaggerError } from '../errors.js';
import { makeDirs } from './dirs.js';

export class ListenError extends TaggerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TAGGER_UNAVAILABLE', message, options);
  }
}

/** `host:port` (an IPv6 host in brackets); throws ConfigError naming `key` otherwise. */
export function parseTcpAddress(address: string, key = 'ipc.tcp_address'): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(address);
  if (!m) throw new ConfigError(key, `must be host:port, got ${JSON.stringify(address)}`);
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(key, 'port must be at most 65535');
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Makes `path` free for a new socket, or throws when another live server holds it. */
export async function prepareSocketPath(path: string): Promise<void> {
  makeDirs(dirname(path));
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw new ListenError(`cannot use ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!isSocket) throw new ListenError(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketIsLive(path)) throw new ListenError(`another process is already serving on ${path}`);
  unlinkSync(path);
}

function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const finish = (live: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    // A socket that neither accepts nor refuses is held by something: treat it as live.
    const timer = setTimeout(() => finish(true), 1_000);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/**
 * `backlog`: connections the kernel queues before accept(). Node's default (511) is below
 * ipc.max_connections, and on a unix socket a connect() past the queue fails at once with EAGAIN
 * (TCP would retry the SYN): a burst of clients starting together must not see that.
 */
export function listenUnix(server: Server, path: string, backlog = 511): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new ListenError(`cannot listen on ${path}: ${error.message}`, { cause: error }));
    server.once('error', onError);
    // bind() creates the file with 0777 & ~umask: the umask makes it 0660 from the start (the
    // chmod below only after listen would leave a window). In the primary process bind happens
    // inside listen(), synchronously, so no other code runs under this umask.
    const umask = process.umask(0o117);
    try {
      server.listen({ path, backlog }, onListening);
    } finally {
      process.umask(umask);
    }
    function onListening(): void {
      server.off('error', onError);
      try {
        chmodSync(path, 0o660);
      } catch (error) {
        reject(new ListenError(`cannot chmod ${path}: ${(error as Error).message}`, { cause: error }));
        return;
      }
      resolve();
    }
  });
}

export function listenTcp(server: Server, host: string, port: number, backlog = 511): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new ListenError(`cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
    server.once('error', onError);
    server.listen({ port, host, backlog }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host, port });
    });
  });
}
