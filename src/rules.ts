/**
 * The tag-rule engine every collector uses for user rules such as `docker.labels_as_tags`:
 * a map of key (exact or glob) -> tag name, applied to labels, env or annotations. The semantics
 * are the Datadog Agent's metadata-as-tags rules, so a `datadog.yaml` rule gives the same tags:
 *
 * - Keys match case-insensitively (users write `gitcommit` for the label `GitCommit`).
 * - A key is a glob only when it contains `*`; then `?`, `[...]` and `{a,b}` work too. Any other
 *   key is matched literally, so `app[1]` names the label `app[1]`.
 * - A rule value `"a, b"` (or a list) gives several tags from one key.
 * - In a tag name, any of `%%label%%`, `%%env%%` and `%%annotation%%` stands for the matched key,
 *   whatever the rule targets; any other `%%x%%` is removed.
 * - A tag name starting with `+` is high cardinality; otherwise low.
 * - A name that resolves to `env`, `service` or `version` (without `+`) is also a standard tag.
 */
import { ConfigError } from './errors.js';
import { STANDARD_TAG_NAMES } from './tags.js';
import type { TagList } from './taglist.js';

export type RuleTarget = 'label' | 'env' | 'annotation';

/** What the configuration holds: key or glob -> tag name (or names). */
export type RuleMap = Readonly<Record<string, string | readonly string[]>>;

/** A tag name template, split once at compile time around its placeholders. */
interface NameTemplate {
  /** Literal pieces; the matched key goes between consecutive pieces. */
  readonly pieces: readonly string[];
}

interface GlobRule {
  readonly pattern: RegExp;
  readonly names: readonly NameTemplate[];
}

export interface CompiledRules {
  readonly target: RuleTarget;
  /** lower-cased exact key -> tag names */
  readonly exact: ReadonlyMap<string, readonly NameTemplate[]>;
  readonly globs: readonly GlobRule[];
  readonly empty: boolean;
}

/** The placeholders that stand for the matched key (the Agent accepts all three everywhere). */
const KEY_PLACEHOLDERS: ReadonlySet<string> = new Set(['label', 'env', 'annotation']);
const PLACEHOLDER = /%%(.+?)%%/g;

/**
 * Compiles a rule map once, at config load. Throws ConfigError (naming `configKey`) for an
 * empty key, a rule with no tag name, or a glob that cannot be compiled.
 */
export function compileRules(rules: RuleMap | undefined, target: RuleTarget, configKey: string): CompiledRules {
  const exact = new Map<string, NameTemplate[]>();
  const globs: GlobRule[] = [];
  for (const [key, raw] of Object.entries(rules ?? {})) {
    if (key.trim() === '') throw new ConfigError(configKey, 'a rule has an empty key');
    const values = typeof raw === 'string' ? [raw] : [...raw];
    const names = values.flatMap((v) => v.split(',')).map((n) => n.trim()).filter((n) => n !== '' && n !== '+');
    if (names.length === 0) throw new ConfigError(`${configKey}.${key}`, 'empty tag name');
    const templates = names.map(compileName);
    const lowered = key.trim().toLowerCase();
    if (lowered.includes('*')) globs.push({ pattern: globToRegExp(lowered, `${configKey}.${key}`), names: templates });
    else exact.set(lowered, [...(exact.get(lowered) ?? []), ...templates]);
  }
  return { target, exact, globs, empty: exact.size === 0 && globs.length === 0 };
}

/** Applies compiled rules to key/value pairs (labels, env, annotations), adding to `list`. */
export function applyRules(rules: CompiledRules, entries: Iterable<readonly [string, string]>, list: TagList): void {
  if (rules.empty) return;
  for (const [key, value] of entries) {
    const lowered = key.toLowerCase();
    const names = rules.exact.get(lowered);
    if (names) addAll(list, names, key, value);
    for (const glob of rules.globs) if (glob.pattern.test(lowered)) addAll(list, glob.names, key, value);
  }
}

function addAll(list: TagList, names: readonly NameTemplate[], key: string, value: string): void {
  for (const template of names) {
    const name = template.pieces.join(key);
    if (STANDARD_TAG_NAMES.has(name)) list.addStandard(name, value);
    else list.addAuto(name, value);
  }
}

/** `app_%%label%%_%%foo%%` -> pieces ['app_', '_'] (the key between them; `%%foo%%` removed). */
function compileName(name: string): NameTemplate {
  const pieces: string[] = [];
  let current = '';
  let last = 0;
  for (const match of name.matchAll(PLACEHOLDER)) {
    current += name.slice(last, match.index);
    last = match.index + match[0].length;
    const variable = (match[1] ?? '').replace(/\s/g, '').split('_')[0] ?? '';
    if (KEY_PLACEHOLDERS.has(variable)) {
      pieces.push(current);
      current = '';
    }
  }
  pieces.push(current + name.slice(last));
  return { pieces };
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

/**
 * `*` any run, `?` one character, `[...]` a class (`[!...]` negated), `{a,b}` alternatives,
 * `\x` a literal x; everything else literal.
 */
function globToRegExp(glob: string, configKey: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '\\' && i + 1 < glob.length) re += escapeRegExp(glob[++i] as string);
    else if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '{') {
      braces++;
      re += '(?:';
    } else if (ch === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (ch === ',' && braces > 0) re += '|';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\').replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += escapeRegExp(ch);
  }
  if (braces > 0) throw new ConfigError(configKey, 'unclosed { in the glob');
  try {
    return new RegExp(`^${re}$`);
  } catch (cause) {
    throw new ConfigError(configKey, `invalid glob (${(cause as Error).message})`);
  }
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
