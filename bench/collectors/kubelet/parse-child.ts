/**
 * Child process of the kubelet process bench: the baseline. It builds the same /pods body as the
 * fake kubelet serves and, when told, JSON.parses it `rounds` times (keeping each tree until the
 * next, as a poller would), then reports its own process CPU for that work (process.cpuUsage:
 * every thread, GC included), the same measure the daemon's /metrics gives for its polls.
 */
import { buildPods, podListBody } from './pods-body.js';

function main(): void {
  const count = Number(process.argv[2] ?? '1000');
  const text = podListBody(buildPods(count, 'a').map((p) => JSON.stringify(p))).toString('utf8');
  let keep: unknown;
  process.on('message', (message: { rounds?: number } | 'stop') => {
    if (message === 'stop') process.exit(0);
    const rounds = (message as { rounds: number }).rounds;
    const before = process.cpuUsage();
    for (let r = 0; r < rounds; r++) keep = JSON.parse(text) as unknown;
    const used = process.cpuUsage(before);
    process.send?.({ cpuMsPerParse: (used.user + used.system) / 1000 / rounds, items: (keep as { items: unknown[] }).items.length });
  });
  process.send?.('ready');
}

main();
