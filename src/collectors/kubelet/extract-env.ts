/**
 * A container's env as the kubelet's spec declares it, with `$(VAR)` references expanded the way
 * the kubelet expands them, so `DD_VERSION=$(APP_VERSION)` tags with the value the process sees.
 * Pure.
 */
import { arrayOf, isRecord } from '../json-fields.js';

/**
 * `spec.containers[].env` -> `[name, value]` pairs. `valueFrom` variables (ConfigMap, Secret,
 * downward API) have no value in `/pods`, so they are left out, and so is any variable whose
 * value refers to one of them or to a variable not declared before it: its real value is
 * unknown (the Agent's extractEnvFromSpec drops those too).
 */
export function specEnv(env: unknown): Array<[string, string]> {
  const declared = new Map<string, string>();
  for (const item of arrayOf(env)) {
    if (!isRecord(item) || typeof item.name !== 'string' || item.name === '' || item.valueFrom !== undefined) continue;
    const expanded = expand(typeof item.value === 'string' ? item.value : '', declared);
    if (expanded !== undefined) declared.set(item.name, expanded);
  }
  return [...declared];
}

/**
 * Kubernetes' expansion: `$(NAME)` is replaced by an earlier variable, `$$` is a literal `$`, any
 * other `$` stays. Undefined when a reference names no earlier variable.
 */
export function expand(value: string, declared: ReadonlyMap<string, string>): string | undefined {
  if (!value.includes('$')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch !== '$' || i + 1 >= value.length) {
      out += ch;
      continue;
    }
    const next = value[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = value.indexOf(')', i + 2);
      // An unclosed `$(` is kept as written.
      if (close < 0) {
        out += '$(';
        i++;
        continue;
      }
      const found = declared.get(value.slice(i + 2, close));
      if (found === undefined) return undefined;
      out += found;
      i = close;
    } else out += ch;
  }
  return out;
}
