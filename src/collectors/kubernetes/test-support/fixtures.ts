/**
 * The recorded objects the fake API server serves (see ../testdata/SOURCES.md): Namespaces,
 * Services and Endpoints from a real v1.35 cluster (`kubectl get -o yaml`), its pods (the same
 * cluster's kubelet `/pods`), and EndpointSlices: a real EndpointSliceList from a kind cluster,
 * and the v1.35 cluster's slices derived from its Endpoints as the EndpointSlice controller
 * writes them (one slice per Service, each address an endpoint with its Pod targetRef).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { FakeApiServer } from './fake-apiserver.js';
import type { ResourceName } from './fake-store.js';

type Json = Record<string, unknown>;

/** The collectors' source folder: beside this file, or from the checkout's root when compiled elsewhere (bench/). */
const COLLECTORS = existsSync(fileURLToPath(new URL('../testdata/', import.meta.url))) ? fileURLToPath(new URL('../../', import.meta.url)) : join(process.cwd(), 'src/collectors');

function testdata(name: string): string {
  return join(COLLECTORS, 'kubernetes/testdata', name);
}

function items(text: string): Json[] {
  const doc = (text.trimStart().startsWith('{') ? JSON.parse(text) : parse(text)) as { items?: Json[] };
  return doc.items ?? [];
}

export const recorded = {
  namespaces: (): Json[] => items(readFileSync(testdata('namespaces_k8s-1.35.yaml'), 'utf8')),
  services: (): Json[] => items(readFileSync(testdata('services_k8s-1.35.yaml'), 'utf8')),
  endpoints: (): Json[] => items(readFileSync(testdata('endpoints_k8s-1.35.yaml'), 'utf8')),
  pods: (): Json[] => items(readFileSync(join(COLLECTORS, 'kubelet/testdata/pods_k8s-1.35_containerd.json'), 'utf8')),
  kindEndpointSlices: (): Json[] => items(readFileSync(testdata('endpointslices_kind_victoriametrics.json'), 'utf8')),
};

/** The v1.35 cluster's EndpointSlices, from its Endpoints and Services. */
export function endpointSlicesFromEndpoints(endpoints: readonly Json[], services: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const ep of endpoints) {
    const meta = ep.metadata as { name: string; namespace: string };
    const subsets = (ep.subsets as Array<{ addresses?: Json[]; notReadyAddresses?: Json[]; ports?: Json[] }> | undefined) ?? [];
    if (subsets.length === 0) continue;
    const service = services.find((s) => (s.metadata as Json).name === meta.name && (s.metadata as Json).namespace === meta.namespace);
    const serviceMeta = service?.metadata as { uid?: string } | undefined;
    const endpointOf = (address: Json, ready: boolean): Json => ({
      addresses: [address.ip],
      conditions: { ready, serving: ready, terminating: false },
      ...(address.nodeName ? { nodeName: address.nodeName } : {}),
      ...(address.targetRef ? { targetRef: address.targetRef } : {}),
    });
    out.push({
      metadata: {
        name: meta.name === 'kubernetes' ? 'kubernetes' : `${meta.name}-${suffix(meta.name)}`,
        namespace: meta.namespace,
        labels: meta.name === 'kubernetes' ? { 'kubernetes.io/service-name': meta.name } : { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': meta.name },
        ...(serviceMeta?.uid && meta.name !== 'kubernetes' ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: meta.name, uid: serviceMeta.uid, controller: true, blockOwnerDeletion: true }] } : {}),
      },
      addressType: 'IPv4',
      endpoints: subsets.flatMap((s) => [...(s.addresses ?? []).map((a) => endpointOf(a, true)), ...(s.notReadyAddresses ?? []).map((a) => endpointOf(a, false))]),
      ports: subsets[0]?.ports ?? [],
    });
  }
  return out;
}

/** Loads the v1.35 cluster (namespaces, services, its derived EndpointSlices, pods) into a fake. */
export function loadRecordedCluster(fake: FakeApiServer): void {
  const services = recorded.services();
  const load = (resource: ResourceName, objects: readonly Json[]): void => {
    for (const object of objects) fake.store.apply(resource, object);
  };
  load('namespaces', recorded.namespaces());
  load('services', services);
  load('endpointslices', endpointSlicesFromEndpoints(recorded.endpoints(), services));
  load('pods', recorded.pods());
}

/** A stable 5-character suffix, as generateName gives slices (`kube-dns-22mvb`). */
function suffix(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 5; i++, h = Math.floor(h / alphabet.length)) out += alphabet[h % alphabet.length];
  return out;
}
