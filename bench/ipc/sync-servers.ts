/**
 * Child process of the replica-sync bench (ipc.bench.ts): the daemon side, apart from the replica
 * as a real sidecar's daemon is. It serves N entities from an IpcServer and, beside it, a bare
 * node:http server answering the exact NDJSON bytes the IpcServer's /v1/stream sends (captured
 * once), then reports both sockets to the parent and waits to be told to stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcClient } from '../../src/ipc/client.js';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { SYNC_TOKEN, syncBenchEntity, type SyncServersReady } from './sync-shared.js';

async function main(): Promise<void> {
  const entities = Number(process.argv[2] ?? '10000');
  const dir = mkdtempSync(join(tmpdir(), 'tagger-bench-sync-'));
  const tagger = new LocalTagger();
  await tagger.start();
  tagger.store.processTagInfo(Array.from({ length: entities }, (_, i) => syncBenchEntity(i)));
  const ours = join(dir, 'ours.sock');
  const server = new IpcServer({ tagger, token: SYNC_TOKEN, socketPath: ours, processMetrics: false });
  await server.start();

  // The exact bytes a replica receives, for the bare server to replay.
  const lines: string[] = [];
  const controller = new AbortController();
  const capture = new IpcClient({ socket: ours, token: SYNC_TOKEN });
  await capture
    .stream({ cardinality: 'high' }, (m) => {
      lines.push(JSON.stringify(m));
      if (m.type === 'synced') controller.abort();
    }, { signal: controller.signal })
    .catch(() => undefined);
  await capture.close();
  const ndjson = Buffer.from(`${lines.join('\n')}\n`);
  const bare = join(dir, 'bare.sock');
  const bareServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/x-ndjson');
    res.end(ndjson);
  });
  await new Promise<void>((resolve) => bareServer.listen(bare, resolve));

  const ready: SyncServersReady = { type: 'ready', ours, bare, bytes: ndjson.length };
  process.send?.(ready);
  // 'cold': forget the daemon's cached encodings (the capture above filled them), so the next
  // sync encodes every entity, as the first one after a quiet spell does; 'stop': end.
  await new Promise<void>((resolve) => {
    process.on('message', (message) => {
      if (message !== 'cold') return resolve();
      server.forgetEncodings();
      process.send?.('cold');
    });
  });
  await server.stop(100);
  await tagger.stop();
  await new Promise<void>((resolve) => bareServer.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`sync-servers: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
