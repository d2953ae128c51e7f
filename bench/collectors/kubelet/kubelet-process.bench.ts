/**
 * Kubelet poll as a user's `top` sees it (issue 16): the CPU the whole `tagger run` process uses
 * per poll (HTTP transfer, the read of the body, parse, diff, extraction, pushes to the store,
 * GC, and whatever else the daemon does between polls), measured by the daemon's own
 * process_cpu_seconds_total over a window of polls. The kubelet is a fake in its own process
 * answering, like a real kubelet, in a new pod order each time. Baseline: a process that only
 * JSON.parses the same bytes, measured the same way, in the same run.
 * Goals: an unchanged poll <= 1.2x the parse; a poll where 10% of the pods changed <= 2x.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, type DaemonProcess } from '../../daemon-process.js';
import { round, type BenchFigure, type BenchSuite } from '../../harness.js';
import type { FakeKubeletMessage, FakeKubeletReply } from './fake-kubelet-child.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.TAGGER_BENCH_KUBELET_SIZES ?? "100,1000,2000").split(",").map(Number);
const POLLS_PER_WINDOW = 10;
// Polls before measuring: the first ones see every pod new, and for some 15 s after start V8 is
// still compiling and its memory reducer runs full GCs (a 1-pod daemon measured 15 ms a poll in
// its first window after 6 polls, 0.9 ms later).
const WARM_UP_POLLS = 15;

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`bench child exited ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
}

async function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  const reply = nextMessage<T>(child);
  child.send(message as object);
  return reply;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function served(fake: ChildProcess): Promise<number> {
  return (await ask<FakeKubeletReply & { type: 'count' }>(fake, { type: 'count' } satisfies FakeKubeletMessage)).served;
}

/** Waits until the fake has answered `target` polls, then lets the daemon finish that poll. */
async function untilServed(fake: ChildProcess, target: number): Promise<number> {
  for (;;) {
    const n = await served(fake);
    if (n >= target) {
      await sleep(400);
      return n;
    }
    await sleep(50);
  }
}

/** CPU ms per poll over the next POLLS_PER_WINDOW polls: by the daemon's metric, and as top sees it. */
async function window(fake: ChildProcess, daemon: DaemonProcess): Promise<{ metric: number; proc: number }> {
  const first = await untilServed(fake, (await served(fake)) + 1);
  const cpu0 = await daemon.cpuSeconds();
  const proc0 = daemon.procCpuSeconds();
  const last = await untilServed(fake, first + POLLS_PER_WINDOW);
  const cpu1 = await daemon.cpuSeconds();
  const proc1 = daemon.procCpuSeconds();
  return { metric: ((cpu1 - cpu0) * 1000) / (last - first), proc: ((proc1 - proc0) * 1000) / (last - first) };
}

async function baselineMs(parser: ChildProcess): Promise<number> {
  return (await ask<{ cpuMsPerParse: number }>(parser, { rounds: POLLS_PER_WINDOW })).cpuMsPerParse;
}

async function measureSize(pods: number): Promise<BenchFigure[]> {
  const fake = fork(join(HERE, 'fake-kubelet-child.js'), [String(pods)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const parser = fork(join(HERE, 'parse-child.js'), [String(pods)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let daemon: DaemonProcess | undefined;
  try {
    const ready = await nextMessage<FakeKubeletReply & { type: 'ready' }>(fake);
    await nextMessage<string>(parser);
    daemon = await startDaemon(
      [
        'docker:\n  enabled: false',
        'containerd:\n  enabled: false',
        'ecs:\n  enabled: false',
        `kubelet:\n  enabled: true\n  url: http://127.0.0.1:${ready.port}\n  poll_interval: 1s`,
      ].join('\n'),
    );
    await untilServed(fake, WARM_UP_POLLS);
    const base: number[] = [await baselineMs(parser)];
    const unchangedWindow = await window(fake, daemon);
    const unchanged = unchangedWindow.metric;
    base.push(await baselineMs(parser));
    fake.send({ type: 'set', changePercent: 10 } satisfies FakeKubeletMessage);
    const changedWindow = await window(fake, daemon);
    const changed = changedWindow.metric;
    base.push(await baselineMs(parser));
    const rss = await daemon.rssBytes();
    const parse = [...base].sort((a, b) => a - b)[1] as number;
    const baseline = { name: `JSON.parse of the same ${pods}-pod body, CPU of a process doing only that`, value: round(parse) };
    const details = { pods, body_bytes: ready.bodyBytes, polls_per_window: POLLS_PER_WINDOW, daemon_rss_mb: round(rss / 2 ** 20, 1), baseline_runs_ms: base.map((b) => round(b, 1)).join(' '), proc_stat_ms_per_poll: `${round(unchangedWindow.proc, 1)} / ${round(changedWindow.proc, 1)}` };
    return [
      { name: `kubelet.poll_process.${pods}.nothing_changed`, value: round(unchanged), unit: 'ms CPU/poll', baseline, ratio: round(unchanged / parse), goal: '<= 1.2x the parse', met: unchanged <= 1.2 * parse, details },
      { name: `kubelet.poll_process.${pods}.ten_percent_changed`, value: round(changed), unit: 'ms CPU/poll', baseline, ratio: round(changed / parse), goal: '<= 2x the parse', met: changed <= 2 * parse, details },
    ];
  } finally {
    await daemon?.stop();
    fake.send({ type: 'stop' } satisfies FakeKubeletMessage);
    parser.send('stop');
  }
}

export const kubeletProcessSuites: BenchSuite[] = [
  {
    name: 'kubelet.poll_process',
    run: async () => {
      const figures: BenchFigure[] = [];
      for (const pods of SIZES) figures.push(...(await measureSize(pods)));
      return { figures };
    },
  },
];
