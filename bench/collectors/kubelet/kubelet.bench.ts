/**
 * Kubelet collector (issue 4): one poll of a 1000-pod PodList built from the real fixture's 24 pod
 * shapes. Diff + extraction time (fingerprints, extraction of changed pods, deletions; the push
 * goes to a sink that drops it) is measured beside JSON.parse of the same body, in the same run.
 * Goals: at most 2x the parse when every pod changed, at most 1.2x when nothing changed.
 */
import { readFileSync } from 'node:fs';
import { ManualClock } from '../../../src/clock.js';
import type { CollectorContext } from '../../../src/collectors/collector.js';
import { KubeletCollector, type KubeletSource } from '../../../src/collectors/kubelet/collector.js';
import { kubeletExtractOptions } from '../../../src/collectors/kubelet/extract.js';
import type { KubePodList } from '../../../src/collectors/kubelet/types.js';
import { silentLogger } from '../../../src/logger.js';
import { percentile, round, type BenchFigure, type BenchSuite } from '../../harness.js';

const FIXTURE = 'src/collectors/kubelet/testdata/pods_k8s-1.35_containerd.json';
const PODS = 1000;

/* eslint-disable @typescript-eslint/no-explicit-any -- the body is built by editing raw JSON */
function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** 1000 pods cycling through the fixture's shapes, each with its own UID, name and container IDs. */
function buildBody(variant: string): string {
  const shapes = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { items: any[] }).items;
  const items: any[] = [];
  for (let i = 0; i < PODS; i++) {
    const pod = structuredClone(shapes[i % shapes.length]);
    pod.metadata.uid = `00000000-0000-4000-8000-${hex(i, 12)}`;
    pod.metadata.name = `${pod.metadata.name}-${i}`;
    pod.metadata.labels = { ...pod.metadata.labels, 'bench-variant': variant };
    let c = 0;
    for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
      for (const cs of pod.status?.[key] ?? []) {
        cs.containerID = `containerd://${hex(i, 8)}${hex(c++, 8)}${'0'.repeat(48)}`;
        if (cs.lastState?.terminated) cs.lastState.terminated.containerID = `containerd://${hex(i, 8)}${'f'.repeat(56)}`;
      }
    }
    items.push(pod);
  }
  return JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function elapsedMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function pollOnce(collector: KubeletCollector, ctx: CollectorContext): Promise<number> {
  const start = process.hrtime.bigint();
  await collector.pull(ctx);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function kubeletPoll(): Promise<BenchFigure[]> {
  const bodyA = buildBody('a');
  const bodyB = buildBody('b');
  let current: KubePodList = { items: [] };
  const source: KubeletSource = { url: 'bench://', getPods: () => Promise.resolve(current), probe: () => Promise.resolve(200), close: () => Promise.resolve() };
  const collector = new KubeletCollector({ client: source, extract: kubeletExtractOptions(), pollIntervalMs: 5_000, autodetect: false });
  let pushed = 0;
  const ctx: CollectorContext = {
    sink: { push: (infos) => void (pushed += infos.length) },
    clock: new ManualClock(0),
    logger: silentLogger,
    signal: new AbortController().signal,
    knows: () => false,
    requestFetch: () => undefined,
    markSynced: () => undefined,
  };
  const parse: number[] = [];
  const unchanged: number[] = [];
  const changed: number[] = [];
  const rounds = 40;
  for (let r = -5; r < rounds; r++) {
    // Each round: parse a body (the baseline), poll it after a poll of the other body (every pod
    // changed), then poll it again (nothing changed). Fresh objects each time, as a real poll has.
    const text = r % 2 === 0 ? bodyA : bodyB;
    let parsed: KubePodList = { items: [] };
    const p = elapsedMs(() => (parsed = JSON.parse(text) as KubePodList));
    current = parsed;
    const c = await pollOnce(collector, ctx);
    current = JSON.parse(text) as KubePodList;
    const u = await pollOnce(collector, ctx);
    if (r < 0) continue; // warm-up
    parse.push(p);
    changed.push(c);
    unchanged.push(u);
  }
  const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
  const parseMs = median(parse);
  const changedMs = median(changed);
  const unchangedMs = median(unchanged);
  const baseline = { name: 'JSON.parse of the same /pods body', value: round(parseMs) };
  const details = { pods: PODS, body_bytes: bodyA.length, containers_per_poll: collector.entityCount - PODS, rounds, pushed_total: pushed };
  return [
    { name: 'kubelet.poll_parse', value: round(parseMs), unit: 'ms', details },
    {
      name: 'kubelet.poll_diff_extract.all_changed',
      value: round(changedMs),
      unit: 'ms',
      baseline,
      ratio: round(changedMs / parseMs),
      goal: '<= 2x the parse',
      met: changedMs <= 2 * parseMs,
      details: { parse_plus_diff_over_parse: round((parseMs + changedMs) / parseMs) },
    },
    {
      name: 'kubelet.poll_diff_extract.nothing_changed',
      value: round(unchangedMs),
      unit: 'ms',
      baseline,
      ratio: round(unchangedMs / parseMs),
      goal: '<= 1.2x the parse',
      met: unchangedMs <= 1.2 * parseMs,
      details: { parse_plus_diff_over_parse: round((parseMs + unchangedMs) / parseMs) },
    },
  ];
}

export const kubeletSuites: BenchSuite[] = [{ name: 'kubelet.poll', run: async () => ({ figures: await kubeletPoll() }) }];
