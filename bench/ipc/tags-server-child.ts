/**
 * Child process of the /v1/tags benches (tags.bench.ts): either our IpcServer over a LocalTagger
 * holding 10k entities (`ours`), or a bare node:http server answering fixed bytes, the very
 * bytes ours answers, with no parsing, auth or lookup (`bare <body file>`). Each runs in its own
 * process, as the daemon does, so neither shares an event loop with the load or the other.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import { SYNC_TOKEN, syncBenchEntity } from './sync-shared.js';

export const TAGS_BENCH_ENTITIES = 10_000;

async function main(): Promise<void> {
  const [mode, socket, bodyFile] = process.argv.slice(2);
  if (socket === undefined) throw new Error('usage: tags-server-child ours|bare SOCKET [BODY]');
  let stop: () => Promise<void>;
  if (mode === 'ours') {
    const tagger = new LocalTagger();
    await tagger.start();
    tagger.store.processTagInfo(Array.from({ length: TAGS_BENCH_ENTITIES }, (_, i) => syncBenchEntity(i)));
    const server = new IpcServer({ tagger, token: SYNC_TOKEN, socketPath: socket });
    await server.start();
    stop = async () => {
      await server.stop(100);
      await tagger.stop();
    };
  } else {
    const body = readFileSync(bodyFile as string);
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-length', body.length);
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  process.send?.('ready');
  process.once('message', () => {
    void stop().then(() => process.exit(0));
  });
}

void main();
