/**
 * Stream fan-out: a daemon holding 2,000 entities (kubelet + Docker sources, ~30 tags each)
 * serves /v1/stream?cardinality=high to 50 RemoteTagger replicas, then takes 1,000 updates per
 * second (a batch of 10 every 10 ms through store.processTagInfo), each changing one entity's
 * Docker tags and carrying a `bench_seq:<n>` marker. The replicas run in a forked child, so the
 * CPU figure is the daemon's own. Figures: lag from processTagInfo to each replica's store showing
 * the update (p50/p99/max over all replicas), daemon CPU as a fraction of one core, events
 * delivered per second, subscribers dropped. Baseline: the same updates to 50 in-process
 * store.subscribe() subscribers, no IPC, in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IpcServer } from '../../src/ipc/server.js';
import { LocalTagger } from '../../src/tagger/local-tagger.js';
import type { TagInfo } from '../../src/types.js';
import { percentile, round, type BenchFigure, type BenchSuite } from '../harness.js';
import { dockerInfo, kubeletInfo } from '../store/fixtures.js';
import { Child } from './fanout-child.js';
import { MARKER, markerOf, nowMs, type ClientKind } from './fanout-shared.js';

const TOKEN = 'b'.repeat(64);
const ENTITIES = 2_000;
/** Overridable to see how lag scales (BENCH_FANOUT_SUBSCRIBERS=10); figures are for 50. */
const SUBSCRIBERS = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? 50);
const RATE_PER_S = 1_000;
const TICK_MS = 10;
const BATCH = (RATE_PER_S * TICK_MS) / 1000;
const DRIVE_MS = 5_000;
const TOTAL = (RATE_PER_S * DRIVE_MS) / 1000;
/** After the last update, how long every subscriber has to see it before the run counts misses. */
const DRAIN_MS = 3_000;

/** Update `seq`: entity seq % ENTITIES gets a new Docker generation and the marker. */
function updateInfo(seq: number): TagInfo {
  const base = dockerInfo(seq % ENTITIES, Math.floor(seq / ENTITIES) + 1);
  return { ...base, low: [...base.low, `${MARKER}${seq}`] };
}

async function loadedTagger(): Promise<LocalTagger> {
  const tagger = new LocalTagger();
  await tagger.start();
  const infos: TagInfo[] = [];
  for (let i = 0; i < ENTITIES; i++) infos.push(kubeletInfo(i), dockerInfo(i));
  tagger.store.processTagInfo(infos);
  return tagger;
}

interface DriveResult {
  /** When each update's processTagInfo call began (epoch ms). */
  readonly sentAt: Float64Array;
  readonly cpuFraction: number;
  /** From the first update to the last subscriber seeing the last one (or the drain deadline). */
  readonly wallMs: number;
}

/**
 * Sends the prepared updates at RATE_PER_S for DRIVE_MS, catching up on a late timer so the
 * average rate holds, then waits for `done` (bounded). CPU is this process's over that window.
 */
async function drive(tagger: LocalTagger, updates: readonly TagInfo[], done: Promise<void>): Promise<DriveResult> {
  const sentAt = new Float64Array(TOTAL);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      // Every batch whose tick has begun, so a late timer catches up instead of lowering the rate.
      const due = Math.min(TOTAL, (Math.floor((performance.now() - t0) / TICK_MS) + 1) * BATCH);
      if (due > sent) {
        const now = nowMs();
        for (let i = sent; i < due; i++) sentAt[i] = now;
        tagger.store.processTagInfo(updates.slice(sent, due));
        sent = due;
      }
      if (sent >= TOTAL) resolve();
      else setTimeout(tick, TICK_MS - ((performance.now() - t0) % TICK_MS));
    };
    tick();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { sentAt, cpuFraction: (cpu.user + cpu.system) / 1000 / wallMs, wallMs };
}

interface Lags {
  readonly sorted: readonly number[];
  readonly missing: number;
}

function lagsOf(seen: readonly Float64Array[], sentAt: Float64Array, offsetMs: number): Lags {
  const lags: number[] = [];
  let missing = 0;
  for (const mine of seen) {
    for (let seq = 0; seq < TOTAL; seq++) {
      const t = mine[seq] as number;
      if (t === 0) missing++;
      else lags.push(t - offsetMs - (sentAt[seq] as number));
    }
  }
  return { sorted: Array.from(Float64Array.from(lags).sort()), missing };
}

function pct(lags: Lags, p: number): number {
  return round(percentile(lags.sorted, p), 3);
}

// ---- the three runs ----

interface IpcRun {
  readonly lags: Lags;
  readonly cpuFraction: number;
  readonly childCpuFraction: number;
  readonly wallMs: number;
  readonly drops: number;
  readonly clockErrorMs: number;
}

async function ipcRun(updates: readonly TagInfo[], client: ClientKind): Promise<IpcRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tagger-bench-'));
  const tagger = await loadedTagger();
  const socket = join(dir, 'fanout.sock');
  const server = new IpcServer({ tagger, token: TOKEN, socketPath: socket, processMetrics: false });
  await server.start();
  const child = new Child();
  try {
    const clock = await child.clockOffset();
    const synced = child.next('synced', 20_000);
    child.send({ type: 'connect', socket, token: TOKEN, subscribers: SUBSCRIBERS, total: TOTAL, client });
    const { sizes } = await synced;
    if (sizes.some((s) => s !== ENTITIES)) throw new Error(`replica sizes ${sizes.join(',')}, want ${ENTITIES}`);
    if (server.stats.activeStreams !== SUBSCRIBERS) throw new Error(`${server.stats.activeStreams} streams open`);
    child.send({ type: 'start' });
    const complete = child.next('complete', DRIVE_MS + DRAIN_MS + 5_000).then(() => undefined);
    complete.catch(() => undefined); // a late or missing `complete` shows as missing updates
    const run = await drive(tagger, updates, complete);
    process.stderr.write(`bench: ipc.stream_fanout ${client}s: last update seen ${Math.round(run.wallMs)} ms after the first (drive ${DRIVE_MS} ms, drain cap ${DRAIN_MS} ms)\n`);
    // A saturated child answers only once it has worked through its backlog of socket reads.
    const reportPromise = child.next('report', 20_000);
    child.send({ type: 'report' });
    const report = await reportPromise;
    return {
      lags: lagsOf(report.seen, run.sentAt, clock.offsetMs),
      cpuFraction: run.cpuFraction,
      childCpuFraction: report.cpuMicros / 1000 / report.wallMs,
      wallMs: run.wallMs,
      drops: server.stats.streamDrops + tagger.store.counters.subscriberDrops + report.errors + report.disconnected,
      clockErrorMs: clock.rttMs / 2,
    };
  } finally {
    await child.stop();
    await server.stop(500);
    await tagger.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function inProcessRun(updates: readonly TagInfo[]): Promise<{ lags: Lags; cpuFraction: number; wallMs: number; drops: number }> {
  const tagger = await loadedTagger();
  const seen = Array.from({ length: SUBSCRIBERS }, () => new Float64Array(TOTAL));
  let complete = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const subs = seen.map((mine) => {
    const sub = tagger.subscribe({ cardinality: 'high', name: 'bench' });
    sub.drain(); // the snapshot
    void (async () => {
      let count = 0;
      for (let batch = await sub.next(); batch; batch = await sub.next()) {
        const t = nowMs();
        for (const event of batch) {
          if (event.type === 'deleted') continue;
          const seq = markerOf(event.entity.tags.low);
          if (seq < 0 || mine[seq] !== 0) continue;
          mine[seq] = t;
          if (++count === TOTAL && ++complete === SUBSCRIBERS) finish();
        }
      }
    })();
    return sub;
  });
  try {
    const run = await drive(tagger, updates, done);
    return { lags: lagsOf(seen, run.sentAt, 0), cpuFraction: run.cpuFraction, wallMs: run.wallMs, drops: tagger.store.counters.subscriberDrops };
  } finally {
    for (const sub of subs) sub.close();
    await tagger.stop();
  }
}

const SETUP = { entities: ENTITIES, subscribers: SUBSCRIBERS, updates_per_s: RATE_PER_S, batch_every_ms: TICK_MS, updates: TOTAL };

function maxOf(lags: Lags): number {
  return round(lags.sorted.at(-1) ?? NaN, 3);
}

function lagFigure(name: string, run: IpcRun, base: { lags: Lags }, p: number | 'max'): BenchFigure {
  const value = p === 'max' ? maxOf(run.lags) : pct(run.lags, p);
  const baseline = p === 'max' ? maxOf(base.lags) : pct(base.lags, p);
  const label = p === 'max' ? 'max' : `p${p}`;
  return {
    name: `${name}_${label}`,
    value,
    unit: 'ms',
    baseline: { name: `same updates to ${SUBSCRIBERS} in-process store.subscribe() subscribers, no IPC, ${label}`, value: baseline },
    ratio: round(value / baseline, 1),
    details: { ...SETUP, missing_deliveries: run.lags.missing, clock_error_ms: round(run.clockErrorMs, 3) },
  };
}

const fanout: BenchSuite = {
  name: 'ipc.stream_fanout',
  async run() {
    // Built beforehand: the CPU measured is the daemon's, not the bench's fixture building.
    const updates = Array.from({ length: TOTAL }, (_, seq) => updateInfo(seq));
    const base = await inProcessRun(updates);
    const readers = await ipcRun(updates, 'reader');
    const replicas = await ipcRun(updates, 'replica');
    const delivered = SUBSCRIBERS * TOTAL - readers.lags.missing;
    const baseDelivered = SUBSCRIBERS * TOTAL - base.lags.missing;
    const figures: BenchFigure[] = [
      lagFigure('ipc.stream_fanout_lag', readers, base, 50),
      lagFigure('ipc.stream_fanout_lag', readers, base, 99),
      lagFigure('ipc.stream_fanout_lag', readers, base, 'max'),
      {
        name: 'ipc.stream_fanout_daemon_cpu',
        value: round(readers.cpuFraction, 3),
        unit: 'fraction of one core',
        baseline: { name: 'same updates to in-process subscribers', value: round(base.cpuFraction, 3) },
        ratio: round(readers.cpuFraction / base.cpuFraction, 1),
        details: { ...SETUP, subscriber_process_cpu: round(readers.childCpuFraction, 3), window_ms: Math.round(readers.wallMs) },
      },
      {
        name: 'ipc.stream_fanout_events_per_s',
        value: Math.round((delivered / readers.wallMs) * 1000),
        unit: 'events/s delivered',
        baseline: { name: 'in-process subscribers', value: Math.round((baseDelivered / base.wallMs) * 1000) },
        ratio: round(delivered / readers.wallMs / (baseDelivered / base.wallMs), 2),
        details: { delivered, offered: SUBSCRIBERS * TOTAL, baseline_missing: base.lags.missing },
      },
      {
        name: 'ipc.stream_fanout_drops',
        value: readers.drops,
        unit: 'subscribers dropped or reconnected',
        goal: 'no subscriber dropped and every update delivered to every subscriber',
        met: readers.drops === 0 && readers.lags.missing === 0,
        details: { missing_deliveries: readers.lags.missing },
      },
      // The same with replicas, which also ingest every event into a store: all 50 share one
      // child process here, so on a small machine their ingest, not the daemon, sets the lag.
      lagFigure('ipc.stream_fanout_replicas_lag', replicas, base, 50),
      lagFigure('ipc.stream_fanout_replicas_lag', replicas, base, 99),
      {
        name: 'ipc.stream_fanout_replicas_daemon_cpu',
        value: round(replicas.cpuFraction, 3),
        unit: 'fraction of one core',
        baseline: { name: 'same updates to in-process subscribers', value: round(base.cpuFraction, 3) },
        ratio: round(replicas.cpuFraction / base.cpuFraction, 1),
        details: {
          subscriber_process_cpu: round(replicas.childCpuFraction, 3),
          window_ms: Math.round(replicas.wallMs),
          drops: replicas.drops,
          missing_deliveries: replicas.lags.missing,
        },
      },
    ];
    return { figures };
  },
};

export const fanoutSuites: readonly BenchSuite[] = [fanout];
