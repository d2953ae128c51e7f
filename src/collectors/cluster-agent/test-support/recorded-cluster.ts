/**
 * What the cluster end-to-end test and the latency benchmark do to the fake API server's recorded
 * v1.35 cluster: read a pod's container ID, turn one endpoint of a Service's EndpointSlice ready
 * or not ready, and find a free TCP port for a daemon to listen on.
 */
import { createServer } from 'node:net';
import type { FakeApiServer } from '../../kubernetes/test-support/fake-apiserver.js';

export type KubeJson = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string } };

/** The pods the fake serves (as its list would give them). */
export function recordedPods(api: FakeApiServer): KubeJson[] {
  return api.store.snapshot('pods').map((e) => e.object as KubeJson);
}

/** `container_id://<id>` of the pod's first container, from its status. */
export function firstContainerOf(pod: KubeJson | undefined): string {
  const id = (pod?.status as { containerStatuses?: Array<{ containerID?: string }> } | undefined)?.containerStatuses?.[0]?.containerID;
  if (!id) throw new Error(`pod ${pod?.metadata.name ?? '?'} has no container ID`);
  return `container_id://${id.replace(/^[a-z-]+:\/\//, '')}`;
}

/** Marks the endpoint of `pod` in the EndpointSlice of Service `service` ready or not ready. */
export function setEndpointReady(api: FakeApiServer, service: string, pod: string, ready: boolean): void {
  const slice = api.store.snapshot('endpointslices').map((e) => e.object as KubeJson).find((s) => (s.metadata.labels as Record<string, string> | undefined)?.['kubernetes.io/service-name'] === service);
  if (!slice) throw new Error(`no EndpointSlice of Service ${service} in the recorded cluster`);
  const endpoints = (slice.endpoints as Array<{ targetRef?: { name?: string }; conditions: Record<string, boolean> }>).map((e) =>
    e.targetRef?.name === pod ? { ...e, conditions: { ...e.conditions, ready, serving: ready } } : e,
  );
  api.store.apply('endpointslices', { ...slice, endpoints });
}

/** A TCP port nothing listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
