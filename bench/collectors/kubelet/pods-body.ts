/**
 * Bodies of kubelet `GET /pods` for the kubelet benchmarks: N pods cycling through the real
 * fixture's 24 pod shapes, each with its own UID, name and container IDs. Each pod is kept as its
 * own JSON text so a fake kubelet can answer in a new order every time, as a real one does (it
 * walks a Go map), and rewrite a share of the pods between polls.
 */
import { readFileSync } from 'node:fs';

const FIXTURE = 'src/collectors/kubelet/testdata/pods_k8s-1.35_containerd.json';

/* eslint-disable @typescript-eslint/no-explicit-any -- the body is built by editing raw JSON */
function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** One pod object per index, from the fixture's shapes. */
export function buildPods(count: number, variant: string): any[] {
  const shapes = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { items: any[] }).items;
  const pods: any[] = [];
  for (let i = 0; i < count; i++) {
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
    pods.push(pod);
  }
  return pods;
}

/** The pod with a new value of a label a tag rule reads, so it counts as changed. */
export function touchPod(pod: any, revision: number): any {
  return { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, 'tags.datadoghq.com/version': `rev-${revision}` } } };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A PodList body from pods' JSON texts, in the given order. */
export function podListBody(podTexts: readonly string[]): Buffer {
  return Buffer.from(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[${podTexts.join(',')}]}`);
}
