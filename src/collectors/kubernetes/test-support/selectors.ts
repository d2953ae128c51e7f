/**
 * Field and label selectors as the fake API server understands them: the equality forms
 * (`a=b`, `a==b`, `a!=b`, and a bare label key for "exists"), on the fields the real server
 * supports for each of our resources (a subset: metadata.name and metadata.namespace for all,
 * spec.nodeName and status.phase for pods, status.phase for namespaces). Any other field is
 * refused as the real server refuses it (400, `field label not supported`), so a client that
 * sent a pod's selector to another resource fails against the fake as it would in a cluster.
 */
import type { KubeObject, ResourceName } from './fake-store.js';

export type ObjectMatcher = (object: KubeObject) => boolean;

interface Requirement {
  readonly on: 'field' | 'label';
  readonly key: string;
  readonly op: '=' | '!=' | 'exists';
  readonly value: string;
}

const FIELDS: Readonly<Record<ResourceName, ReadonlySet<string>>> = {
  pods: new Set(['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']),
  services: new Set(['metadata.name', 'metadata.namespace']),
  endpointslices: new Set(['metadata.name', 'metadata.namespace']),
  namespaces: new Set(['metadata.name', 'status.phase']),
};

/** Throws for a selector the real server would refuse on `resource` (an unknown field, a set-based form). */
export function parseSelectors(resource: ResourceName, fieldSelector: string | null, labelSelector: string | null): Requirement[] {
  const out: Requirement[] = [];
  for (const [on, text] of [['field', fieldSelector], ['label', labelSelector]] as const) {
    for (const part of (text ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const match = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
      if (!match) {
        if (on === 'label' && /^[A-Za-z0-9./_-]+$/.test(part)) out.push({ on, key: part, op: 'exists', value: '' });
        else throw new Error(`unable to parse requirement: ${JSON.stringify(part)}`);
        continue;
      }
      const [, key = '', op = '=', value = ''] = match;
      if (on === 'field' && !FIELDS[resource].has(key)) throw new Error(`field label not supported: ${key}`);
      out.push({ on, key, op: op === '!=' ? '!=' : '=', value });
    }
  }
  return out;
}

export function selectorMatcher(namespace: string | undefined, requirements: readonly Requirement[]): ObjectMatcher {
  return (object) => {
    if (namespace !== undefined && object.metadata.namespace !== namespace) return false;
    return requirements.every((r) => {
      const actual = r.on === 'field' ? fieldValue(object, r.key) : labelValue(object, r.key);
      if (r.op === 'exists') return actual !== undefined;
      return r.op === '=' ? (actual ?? '') === r.value : (actual ?? '') !== r.value;
    });
  };
}

function fieldValue(object: KubeObject, path: string): string | undefined {
  let current: unknown = object;
  for (const part of path.split('.')) current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[part] : undefined;
  return typeof current === 'string' ? current : undefined;
}

function labelValue(object: KubeObject, key: string): string | undefined {
  const labels = object.metadata.labels;
  if (labels === null || typeof labels !== 'object') return undefined;
  const value = (labels as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}
