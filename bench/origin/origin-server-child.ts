/**
 * Child process of the /v1/origin bench: our IpcServer over a LocalTagger fed the origin bench's
 * pods through a collector (origin-shared.ts), in its own process as the daemon is. Sends
 * `{ready, inode}` once the cgroup inode of its own container (itself) is indexed.
 */
import { readFileSync } from 'node:fs';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { SYNC_TOKEN } from '../ipc/sync-shared.js';
import { originBenchCollector } from './origin-shared.js';

async function main(): Promise<void> {
  const socket = process.argv[2];
  if (socket === undefined) throw new Error('usage: origin-server-child SOCKET');
  const tagger = new LocalTagger({ collectors: [originBenchCollector(process.pid)] });
  await tagger.start();
  await tagger.ready();
  await tagger.origins.settled();
  const inode = tagger.origins.inodes.inodeOfCgroupSync(process.pid, readFileSync(`/proc/${process.pid}/cgroup`, 'utf8'));
  const server = new IpcServer({ tagger, token: SYNC_TOKEN, socketPath: socket, processMetrics: false });
  await server.start();
  process.send?.({ type: 'ready', pid: process.pid, inode: inode ?? null });
  process.once('message', () => {
    void server
      .stop(100)
      .then(() => tagger.stop())
      .then(() => process.exit(0));
  });
}

void main();
