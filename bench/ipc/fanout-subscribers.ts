/**
 * Child process of the fan-out bench (fanout.bench.ts): N subscribers following the parent's
 * /v1/stream, either bare IPC client stream readers or RemoteTagger replicas, each timestamping
 * when it first sees an update's `bench_seq:<n>` marker. It runs apart from the daemon so the daemon's CPU is measured alone,
 * as it would be with real sidecars. Driven by the parent over the fork IPC channel.
 */
import { performance } from 'node:perf_hooks';
import { IpcClient } from '../../src/ipc/client.js';
import { RemoteTagger } from '../../src/tagger/remote-tagger.js';
import type { EntityEvent } from '../../src/types.js';
import { markerOf, nowMs, type FromChild, type ToChild } from './fanout-shared.js';

function send(message: FromChild): void {
  process.send?.(message);
}

/** One subscriber, whichever kind: how it ends and whether it is still following. */
interface Follower {
  readonly stop: () => Promise<void>;
  readonly errors: () => number;
  readonly connected: () => boolean;
}

const followers: Follower[] = [];
let seen: Float64Array[] = [];
let counts: number[] = [];
let total = 0;
let started = false;
let completeSent = false;
let cpuStart: NodeJS.CpuUsage | undefined;
let wallStart = 0;

function record(index: number, events: readonly EntityEvent[], t: number): void {
  const mine = seen[index] as Float64Array;
  for (const event of events) {
    if (event.type === 'deleted') continue;
    const seq = markerOf(event.entity.tags.low);
    if (seq < 0 || seq >= total || mine[seq] !== 0) continue;
    mine[seq] = t;
    counts[index] = (counts[index] as number) + 1;
  }
  if (started && !completeSent && counts.every((c) => c === total)) {
    completeSent = true;
    send({ type: 'complete' });
  }
}

/** A RemoteTagger; the lag ends where a sidecar's own clients would see the change: its store. */
async function replica(index: number, socket: string, token: string): Promise<{ follower: Follower; size: number }> {
  const r = new RemoteTagger({ socket, token });
  await r.start();
  await r.ready();
  const sub = r.subscribe({ cardinality: 'high', name: 'bench' });
  sub.drain(); // the snapshot
  void (async () => {
    for (let batch = await sub.next(); batch; batch = await sub.next()) record(index, batch, nowMs());
  })();
  const follower: Follower = { stop: () => r.stop(), errors: () => r.counters.collectorErrors.get('remote') ?? 0, connected: () => r.isConnected };
  return { follower, size: r.store.size };
}

/** The IPC client's stream reader: every line decoded and checked, nothing stored. */
async function reader(index: number, socket: string, token: string): Promise<{ follower: Follower; size: number }> {
  const client = new IpcClient({ socket, token });
  const controller = new AbortController();
  let errors = 0;
  let ended = false;
  let size = 0;
  let onSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (onSynced = resolve));
  const done = client
    .stream({ cardinality: 'high' }, (message) => {
      if (message.type === 'synced') onSynced();
      else if (message.type === 'added' && !started) size++;
      else if (message.type === 'modified') record(index, [message], nowMs());
    }, { signal: controller.signal })
    .catch(() => {
      if (!controller.signal.aborted) errors++;
    })
    .finally(() => {
      ended = true;
    });
  await Promise.race([synced, done]);
  const follower: Follower = {
    stop: async () => {
      controller.abort();
      await done;
      await client.close();
    },
    errors: () => errors,
    connected: () => !ended,
  };
  return { follower, size };
}

async function connect(message: Extract<ToChild, { type: 'connect' }>): Promise<void> {
  total = message.total;
  seen = Array.from({ length: message.subscribers }, () => new Float64Array(total));
  counts = Array.from({ length: message.subscribers }, () => 0);
  const make = message.client === 'replica' ? replica : reader;
  const made = await Promise.all(Array.from({ length: message.subscribers }, (_, i) => make(i, message.socket, message.token)));
  followers.push(...made.map((m) => m.follower));
  send({ type: 'synced', sizes: made.map((m) => m.size) });
}

function stopAll(): Promise<void> {
  return Promise.all(followers.splice(0).map((f) => f.stop())).then(() => undefined);
}

process.on('message', (raw: unknown) => {
  const message = raw as ToChild;
  switch (message.type) {
    case 'ping':
      return send({ type: 'pong', t: message.t, childT: nowMs() });
    case 'connect':
      connect(message).catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
      return;
    case 'start':
      started = true;
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
      return;
    case 'report': {
      const cpu = process.cpuUsage(cpuStart);
      return send({
        type: 'report',
        seen,
        cpuMicros: cpu.user + cpu.system,
        wallMs: performance.now() - wallStart,
        errors: followers.reduce((n, f) => n + f.errors(), 0),
        disconnected: followers.filter((f) => !f.connected()).length,
      });
    }
    case 'exit':
      void stopAll().then(() => process.disconnect());
      return;
  }
});

// The parent went away without saying so: do not linger.
process.on('disconnect', () => {
  void stopAll().then(() => process.exit(0));
});
