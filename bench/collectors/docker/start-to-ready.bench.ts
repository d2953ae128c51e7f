/**
 * Start to ready (issue 16): `tagger run` in its own process, on a host with N running containers
 * on a REAL dockerd (TAGGER_TEST_DOCKER_HOST) and a fake kubelet in another process serving 110
 * pods, from the spawn to `/healthz` answering 200 and to every container tagged (its
 * /v1/entities holding them all). Baseline, in the same run: what a plain client pays to learn the
 * same containers, `docker ps` (GET /containers/json) plus one inspect per container, one after
 * another, through the same HTTP client. N is TAGGER_BENCH_CONTAINERS (default 1,000).
 * Timed: node's own start, config, detection, the Docker list and inspects, the first kubelet poll.
 * Not timed: making the containers.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EngineApi, forEachLimit } from '../../../src/collectors/docker/test-support/engine-api.js';
import { HttpClient } from '../../../src/net/http-client.js';
import { startDaemon } from '../../daemon-process.js';
import { round, type BenchFigure, type BenchSuite } from '../../harness.js';
import type { FakeKubeletReply } from '../kubelet/fake-kubelet-child.js';

const PODS = 110;

async function startToReady(): Promise<{ figures: BenchFigure[]; skipped?: string }> {
  const host = process.env.TAGGER_TEST_DOCKER_HOST;
  const image = process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest';
  if (!host) return { figures: [], skipped: 'TAGGER_TEST_DOCKER_HOST is unset: run scripts/engines/start.sh docker and source /tmp/tagger-engines/env.sh' };
  const count = Number(process.env.TAGGER_BENCH_CONTAINERS ?? '1000');
  const label = `tagger.bench.ready=${process.pid}`;
  const api = new EngineApi(host);
  const fake = fork(fileURLToPath(new URL('../kubelet/fake-kubelet-child.js', import.meta.url)), [String(PODS)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const made = Date.now();
    await forEachLimit(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
      const id = await api.create(image, `bench-ready-${process.pid}-${i}`, { [label.split('=')[0] as string]: label.split('=')[1] as string }, ['DD_ENV=bench']);
      await api.start(id);
    });
    const makeSeconds = (Date.now() - made) / 1000;
    const port = await new Promise<number>((resolve) => fake.once('message', (m: FakeKubeletReply) => resolve(m.type === 'ready' ? m.port : 0)));

    // Baseline: ps, then one inspect per container, one after another.
    const plain = new HttpClient(host, { timeoutMs: 60_000 });
    const base0 = process.hrtime.bigint();
    const listed = JSON.parse((await plain.request('/v1.41/containers/json')).body) as Array<{ Id: string }>;
    for (const c of listed) await plain.request(`/v1.41/containers/${c.Id}/json`);
    const baselineMs = Number(process.hrtime.bigint() - base0) / 1e6;
    await plain.close();

    const t0 = process.hrtime.bigint();
    const daemon = await startDaemon(
      [`docker:\n  enabled: true\n  host: ${host}`, 'containerd:\n  enabled: false', 'ecs:\n  enabled: false', `kubelet:\n  enabled: true\n  url: http://127.0.0.1:${port}\n  poll_interval: 5s`].join('\n'),
      120_000,
    );
    const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    let taggedMs = NaN;
    try {
      const ours = new Set(listed.map((c) => `container_id://${c.Id}`));
      for (;;) {
        const { body } = await daemon.get('/v1/entities');
        const seen = (JSON.parse(body) as { entities: Array<{ id: string; tags: { low: string[] } }> }).entities.filter((e) => ours.has(e.id) && e.tags.low.length > 0).length;
        if (seen >= ours.size) break;
        if (Number(process.hrtime.bigint() - t0) / 1e6 > 120_000) throw new Error(`only ${seen} of ${ours.size} containers tagged after 120 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      taggedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    } finally {
      await daemon.stop();
    }
    const details = { containers: count, running_on_host: listed.length, pods: PODS, make_containers_s: round(makeSeconds, 1) };
    return {
      figures: [
        { name: 'daemon.start_to_ready', value: round(readyMs, 1), unit: 'ms', baseline: { name: `docker ps + ${listed.length} inspects, one at a time`, value: round(baselineMs, 1) }, ratio: round(readyMs / baselineMs, 2), goal: 'reported', details },
        { name: 'daemon.start_to_all_tagged', value: round(taggedMs, 1), unit: 'ms', baseline: { name: `docker ps + ${listed.length} inspects, one at a time`, value: round(baselineMs, 1) }, ratio: round(taggedMs / baselineMs, 2), goal: 'reported', details },
      ],
    };
  } finally {
    fake.send({ type: 'stop' });
    await api.removeAll(label);
    await api.close();
  }
}

export const startToReadySuites: BenchSuite[] = [{ name: 'daemon.start_to_ready', run: startToReady }];
