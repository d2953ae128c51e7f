/** A LocalTagger serving /v1/origin on a temp unix socket, with a client, for origin tests. */
import type { Collector, TagSink } from '../../collectors/collector.js';
import { IpcClient } from '../../ipc/client.js';
import { startHarness, TOKEN, type Harness } from '../../ipc/test-support/harness.js';
import { silentLogger } from '../../logger.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import type { TagInfo } from '../../types.js';

export interface ServedTagger {
  readonly tagger: LocalTagger;
  readonly harness: Harness;
  readonly client: IpcClient;
  close(): Promise<void>;
}

/** Starts the tagger with these collectors, waits for it to be ready, and serves it. */
export async function serveTagger(collectors: readonly Collector[], deletionGraceMs: number): Promise<ServedTagger> {
  const tagger = new LocalTagger({ collectors, deletionGraceMs, pruneIntervalMs: 50, logger: silentLogger });
  const harness = await startHarness({ tagger });
  await tagger.ready();
  const client = new IpcClient({ socket: harness.socket, token: TOKEN });
  return {
    tagger,
    harness,
    client,
    async close() {
      await client.close();
      await harness.close();
    },
  };
}

/** A collector whose pushes the test makes by hand, through the sink as a real collector's go. */
export function manualCollector(name = 'manual'): { collector: Collector; push(infos: readonly TagInfo[]): void } {
  let sink: TagSink | undefined;
  const waiting: Array<readonly TagInfo[]> = [];
  return {
    collector: {
      name,
      async run(ctx) {
        sink = ctx.sink;
        for (const infos of waiting.splice(0)) sink.push(infos);
        ctx.markSynced();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      },
      health: () => ({ healthy: true, message: 'manual' }),
    },
    push(infos) {
      if (sink) sink.push(infos);
      else waiting.push(infos);
    },
  };
}
