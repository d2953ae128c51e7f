/**
 * Child process of the kubelet process bench: a fake kubelet on loopback HTTP (the read-only
 * port's protocol) serving `/pods` for N pods in a new order every request, as a real kubelet
 * does. Told `{changePercent}` by the parent, it rewrites that share of its pods before each
 * answer (a different slice each time), so every poll sees that share changed. It reports its
 * port, and the number of `/pods` answers when asked.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildPods, podListBody, touchPod } from './pods-body.js';

export type FakeKubeletMessage = { type: 'set'; changePercent: number } | { type: 'count' } | { type: 'stop' };
export type FakeKubeletReply = { type: 'ready'; port: number; bodyBytes: number } | { type: 'count'; served: number };

function main(): void {
  const count = Number(process.argv[2] ?? '1000');
  const pods = buildPods(count, 'a');
  const texts = pods.map((p) => JSON.stringify(p));
  let changePercent = 0;
  let served = 0;
  let revision = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    if (req.url !== '/pods') return void res.writeHead(404).end();
    if (changePercent > 0) {
      const share = Math.max(1, Math.round((count * changePercent) / 100));
      revision++;
      const start = (revision * share) % count;
      for (let k = 0; k < share; k++) {
        const i = (start + k) % count;
        texts[i] = JSON.stringify(touchPod(pods[i], revision));
      }
    }
    // A new order every time: Fisher-Yates over indexes.
    const order = texts.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const body = podListBody(order.map((i) => texts[i] as string));
    served++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    const reply: FakeKubeletReply = { type: 'ready', port: (server.address() as AddressInfo).port, bodyBytes: podListBody(texts).length };
    process.send?.(reply);
  });
  process.on('message', (message: FakeKubeletMessage) => {
    if (message.type === 'set') changePercent = message.changePercent;
    else if (message.type === 'count') process.send?.({ type: 'count', served } satisfies FakeKubeletReply);
    else server.close(() => process.exit(0));
  });
}

main();
