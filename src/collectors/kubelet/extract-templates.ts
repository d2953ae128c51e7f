/**
 * Autodiscovery template variables in the `ad.datadoghq.com/tags` and
 * `ad.datadoghq.com/<container>.tags` annotations (`{"pod_ip": "%%host%%"}`), resolved from what
 * the kubelet reports, as the Agent's tagger resolves them. Pure.
 */
import { isRecord } from '../json-fields.js';

export interface TemplateContext {
  readonly namespace?: string | undefined;
  readonly podName?: string | undefined;
  readonly podUid: string;
  readonly podIp?: string | undefined;
  /** Given for a container's annotation only: a pod-level annotation has no hostname or port. */
  readonly container?: {
    readonly hostname?: string | undefined;
    readonly ports: ReadonlyArray<{ readonly name?: string | undefined; readonly port: number }>;
  };
}

/** `%%name%%` or `%%name_key%%` (`%%host_bridge%%`, `%%kube_pod_name%%`). */
const VARIABLE = /%%(.+?)(?:_(.+?))?%%/g;

/**
 * Every string value of a parsed JSON document with its variables resolved (keys are left as
 * they are). Undefined when any variable cannot be resolved: the Agent then keeps the document
 * unresolved, so one unknown variable leaves every `%%…%%` as written.
 */
export function resolveTemplates(document: unknown, context: TemplateContext): unknown {
  if (typeof document === 'string') return resolveString(document, context);
  if (Array.isArray(document)) {
    const out: unknown[] = [];
    for (const item of document) {
      const resolved = resolveTemplates(item, context);
      if (resolved === undefined) return undefined;
      out.push(resolved);
    }
    return out;
  }
  if (isRecord(document)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(document)) {
      const resolved = resolveTemplates(value, context);
      if (resolved === undefined) return undefined;
      out[key] = resolved;
    }
    return out;
  }
  return document;
}

function resolveString(input: string, context: TemplateContext): string | undefined {
  let failed = false;
  const out = input.replace(VARIABLE, (_match, name: string, key: string | undefined) => {
    const value = resolveVariable(name, key ?? '', context);
    if (value === undefined) failed = true;
    return value ?? '';
  });
  return failed ? undefined : out;
}

function resolveVariable(name: string, key: string, context: TemplateContext): string | undefined {
  switch (name) {
    case 'host':
      return host(key, context);
    case 'hostname':
      return context.container?.hostname || undefined;
    case 'port':
      return port(key, context);
    case 'kube':
    case 'extra':
      if (key === 'namespace') return context.namespace;
      if (key === 'pod_name') return context.podName;
      if (key === 'pod_uid') return context.podUid;
      return undefined;
    // %%pid%% needs the process, %%env_*%% the Agent's own env; neither is known here.
    default:
      return undefined;
  }
}

/** The kubelet knows one network, the pod's; `%%host_<net>%%` falls back to it as the only one. */
function host(_network: string, context: TemplateContext): string | undefined {
  return context.podIp || undefined;
}

/** `%%port%%` is the last declared port, `%%port_<n>%%` the n-th, `%%port_<name>%%` by name. */
function port(key: string, context: TemplateContext): string | undefined {
  const ports = context.container?.ports ?? [];
  if (ports.length === 0) return undefined;
  if (key === '') return String((ports[ports.length - 1] as { port: number }).port);
  if (/^[+-]?\d+$/.test(key)) {
    const index = Number(key);
    return index >= 0 && index < ports.length ? String((ports[index] as { port: number }).port) : undefined;
  }
  const named = ports.find((p) => p.name === key);
  return named === undefined ? undefined : String(named.port);
}
