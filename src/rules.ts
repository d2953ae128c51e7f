/**
 * The tag-rule engine every collector uses for user rules such as `docker.labels_as_tags`:
 * a map of key (exact or glob) -> tag name, applied to labels, env or annotations.
 *
 * - Keys match case-insensitively (users write `gitcommit` for the label `GitCommit`).
 * - A tag name starting with `+` is high cardinality; otherwise the rule's default applies.
 * - `%%label%%`, `%%env%%` or `%%annotation%%` in a tag name stands for the matched key.
 * - A rule value may be a list of tag names: the key becomes several tags.
 */
import { ConfigError } from './errors.js';
import type { TagList } from './taglist.js';
import type { Cardinality } from './types.js';

export type RuleTarget = 'label' | 'env' | 'annotation';

/** What the configuration holds: key or glob -> tag name (or names). */
export type RuleMap = Readonly<Record<string, string | readonly string[]>>;

interface GlobRule {
  readonly pattern: RegExp;
  readonly tagNames: readonly string[];
}

export interface CompiledRules {
  readonly target: RuleTarget;
  readonly cardinality: Cardinality;
  /** lower-cased exact key -> tag names */
  readonly exact: ReadonlyMap<string, readonly string[]>;
  readonly globs: readonly GlobRule[];
  readonly empty: boolean;
}

/**
 * Compiles a rule map once, at config load. Throws ConfigError (naming `configKey`) for an
 * empty key or tag name.
 */
export function compileRules(rules: RuleMap | undefined, target: RuleTarget, configKey: string, cardinality: Cardinality = 'low'): CompiledRules {
  const exact = new Map<string, readonly string[]>();
  const globs: GlobRule[] = [];
  for (const [key, raw] of Object.entries(rules ?? {})) {
    const names = (typeof raw === 'string' ? [raw] : [...raw]).map((n) => n.trim());
    if (key.trim() === '') throw new ConfigError(configKey, 'a rule has an empty key');
    if (names.length === 0 || names.some((n) => n === '' || n === '+')) throw new ConfigError(`${configKey}.${key}`, 'empty tag name');
    const lowered = key.trim().toLowerCase();
    if (/[*?[]/.test(lowered)) globs.push({ pattern: globToRegExp(lowered), tagNames: names });
    else exact.set(lowered, names);
  }
  return { target, cardinality, exact, globs, empty: exact.size === 0 && globs.length === 0 };
}

/** Applies compiled rules to key/value pairs (labels, env, annotations), adding to `list`. */
export function applyRules(rules: CompiledRules, entries: Iterable<readonly [string, string]>, list: TagList): void {
  if (rules.empty) return;
  const placeholder = `%%${rules.target}%%`;
  for (const [key, value] of entries) {
    const lowered = key.toLowerCase();
    const names = rules.exact.get(lowered);
    if (names) addAll(names, key, value);
    for (const glob of rules.globs) if (glob.pattern.test(lowered)) addAll(glob.tagNames, key, value);
  }

  function addAll(names: readonly string[], key: string, value: string): void {
    for (const name of names) list.add(rules.cardinality, name.includes(placeholder) ? name.split(placeholder).join(key) : name, value);
  }
}

/** Entries of a `KEY=value` env array (Docker's Config.Env, OCI process.env). */
export function envEntries(env: readonly string[] | null | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of env ?? []) {
    if (typeof line !== 'string') continue;
    const eq = line.indexOf('=');
    if (eq > 0) out.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

/** `*` any run, `?` one character, `[...]` a class; everything else literal. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\').replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
