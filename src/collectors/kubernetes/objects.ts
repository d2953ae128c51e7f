/**
 * The transforms the informers apply at decode: each API object cut down to the few fields the
 * cluster tags come from, as OpenTelemetry's k8sattributes strips pods. A pod keeps five
 * strings and a flag, an EndpointSlice its Service name and Pod references, a namespace only the
 * tags its labels and annotations give under the configured rules (a namespace with 1,000 labels
 * keeps the handful that match). Pure: no I/O, no config, no clock.
 */
import type { SourceTags } from '../../types.js';
import type { Decoded } from './informer.js';
import { metadataOf } from './informer.js';
import { namespaceTags, type ClusterRules } from './extract.js';

export interface PodMeta {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** spec.nodeName; empty until scheduled. */
  readonly nodeName: string;
  /** The annotation `tags.datadoghq.com/disable` lists `kube_service`. */
  readonly kubeServiceDisabled: boolean;
}

export interface ServiceMeta {
  readonly namespace: string;
  readonly name: string;
}

export interface NamespaceMeta {
  readonly name: string;
  readonly uid: string;
  readonly tags: SourceTags;
}

/** An EndpointSlice endpoint that points at a Pod. */
export interface PodRef {
  readonly uid: string | undefined;
  readonly namespace: string;
  readonly name: string;
  readonly ready: boolean;
}

export interface EndpointSliceMeta {
  readonly namespace: string;
  readonly name: string;
  /** The label `kubernetes.io/service-name`; empty for a slice no Service owns. */
  readonly serviceName: string;
  readonly pods: readonly PodRef[];
}

export const DISABLE_ANNOTATION = 'tags.datadoghq.com/disable';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

type Json = Record<string, unknown>;

interface CommonMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly meta: Json;
}

/** name, namespace, uid and resourceVersion, or the reason they are unusable. */
function common(raw: unknown, namespaced: boolean): { ok: true; value: CommonMeta } | { ok: false; key?: string; resourceVersion?: string; problem: string } {
  const meta = metadataOf(raw);
  if (meta === undefined) return { ok: false, problem: 'no metadata' };
  const name = str(meta.name);
  const namespace = str(meta.namespace);
  const rv = str(meta.resourceVersion);
  const key = name === '' ? undefined : namespaced ? `${namespace}/${name}` : name;
  const partial = { ...(key !== undefined ? { key } : {}), ...(rv !== '' ? { resourceVersion: rv } : {}) };
  if (name === '') return { ok: false, ...partial, problem: 'no metadata.name' };
  if (namespaced && namespace === '') return { ok: false, ...partial, problem: 'no metadata.namespace' };
  if (rv === '') return { ok: false, ...partial, problem: 'no metadata.resourceVersion' };
  return { ok: true, value: { name, namespace, uid: str(meta.uid), resourceVersion: rv, meta } };
}

/** Keeps one copy of a string that many objects repeat (namespace, node names). */
export type Intern = (value: string) => string;

/** A pod decoder whose namespace and node strings go through `intern`. */
export function podDecoder(intern: Intern): (raw: unknown) => Decoded<PodMeta> {
  return (raw) => {
    const decoded = decodePod(raw);
    if (!decoded.ok) return decoded;
    const pod = decoded.value;
    return { ...decoded, value: { ...pod, namespace: intern(pod.namespace), nodeName: intern(pod.nodeName) } };
  };
}

/** An Intern backed by a map (one per collector: a namespace or node name costs one string). */
export function internPool(): Intern {
  const pool = new Map<string, string>();
  return (value) => {
    const known = pool.get(value);
    if (known !== undefined) return known;
    pool.set(value, value);
    return value;
  };
}

export function decodePod(raw: unknown): Decoded<PodMeta> {
  const c = common(raw, true);
  if (!c.ok) return c;
  const { name, namespace, uid, resourceVersion, meta } = c.value;
  const key = `${namespace}/${name}`;
  if (uid === '') return { ok: false, key, resourceVersion, problem: 'no metadata.uid' };
  const spec = obj((raw as Json).spec);
  const disabled = str(obj(meta.annotations)[DISABLE_ANNOTATION])
    .split(',')
    .some((t) => t.trim() === 'kube_service');
  return { ok: true, key, resourceVersion, value: { uid, namespace, name, nodeName: str(spec.nodeName), kubeServiceDisabled: disabled } };
}

export function decodeService(raw: unknown): Decoded<ServiceMeta> {
  const c = common(raw, true);
  if (!c.ok) return c;
  const { name, namespace, resourceVersion } = c.value;
  return { ok: true, key: `${namespace}/${name}`, resourceVersion, value: { namespace, name } };
}

/** Namespaces keep only their tags under `rules` (and their UID, for kube-system's cluster ID). */
export function namespaceDecoder(rules: ClusterRules): (raw: unknown) => Decoded<NamespaceMeta> {
  return (raw) => {
    const c = common(raw, false);
    if (!c.ok) return c;
    const { name, uid, resourceVersion, meta } = c.value;
    return { ok: true, key: name, resourceVersion, value: { name, uid, tags: namespaceTags(stringEntries(meta.labels), stringEntries(meta.annotations), rules) } };
  };
}

export function decodeEndpointSlice(raw: unknown): Decoded<EndpointSliceMeta> {
  const c = common(raw, true);
  if (!c.ok) return c;
  const { name, namespace, resourceVersion, meta } = c.value;
  const key = `${namespace}/${name}`;
  const endpoints = (raw as Json).endpoints;
  if (endpoints !== undefined && endpoints !== null && !Array.isArray(endpoints)) return { ok: false, key, resourceVersion, problem: '"endpoints" is not an array' };
  const pods: PodRef[] = [];
  for (const endpoint of (endpoints as unknown[] | null | undefined) ?? []) {
    const ref = obj(obj(endpoint).targetRef);
    if (ref.kind !== 'Pod') continue;
    const podName = str(ref.name);
    const podUid = str(ref.uid);
    if (podName === '' && podUid === '') continue;
    // An unset `ready` means ready (the EndpointSlice API's rule for consumers).
    pods.push({ uid: podUid === '' ? undefined : podUid, namespace: str(ref.namespace) || namespace, name: podName, ready: obj(obj(endpoint).conditions).ready !== false });
  }
  return { ok: true, key, resourceVersion, value: { namespace, name, serviceName: str(obj(meta.labels)[SERVICE_NAME_LABEL]), pods } };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** The string-valued entries of a labels or annotations map (anything else is skipped). */
function stringEntries(value: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'string') out.push([k, v]);
  return out;
}
