/**
 * The kinds of value a config key holds, each a valibot schema from what YAML, code or the
 * environment gives (unknown) to the typed value, with the one-line reason a bad value gets.
 * docs/configuration.md ("Value kinds") describes each to users.
 */
import * as v from 'valibot';
import { LOG_LEVELS } from '../logger.js';
import type { RuleMap } from '../rules.js';

export type Toggle = 'auto' | 'true' | 'false';

/** A kind: how a value is read, and how an environment variable's text becomes such a value. */
export interface Kind<T> {
  readonly schema: v.GenericSchema<unknown, T>;
  /** Environment text to the value `schema` reads; absent: the text is the value (strings, durations, bools). */
  readonly fromText?: (text: string) => Read<unknown>;
  /** Durations: the accepted [min, max] in ms, both included. */
  readonly range?: readonly [min: number, max: number];
}

/** What a reader makes of a raw value: the value, or why not (`subkey` names an entry of a map). */
export type Read<T> = { readonly value: T } | { readonly reason: string; readonly subkey?: string };

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** Node's timers hold at most 2^31 - 1 ms; a longer one fires after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_PORT = 65_535;

/** A schema from a reader: its reason becomes the issue's message, at `subkey` when it names one. */
function readWith<T>(read: (raw: unknown) => Read<T>): v.GenericSchema<unknown, T> {
  return v.pipe(
    v.unknown(),
    v.rawTransform<unknown, T>(({ dataset, addIssue, NEVER }) => {
      const result = read(dataset.value);
      if ('value' in result) return result.value;
      const input: unknown = dataset.value;
      const path = result.subkey === undefined ? undefined : ([{ type: 'object', origin: 'value', input: input as Record<string, unknown>, key: result.subkey, value: undefined }] as const);
      addIssue(path ? { message: result.reason, path: [...path] } : { message: result.reason });
      return NEVER;
    }),
  );
}

export const text: Kind<string> = { schema: v.string('must be a string') };

/** `host:port` (IPv6 in brackets), or empty for "not set". */
export const address: Kind<string> = {
  schema: readWith<string>((raw) => {
    if (typeof raw !== 'string') return { reason: 'must be a host:port string' };
    if (raw === '') return { value: raw };
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
    if (!m) return { reason: `must be host:port, got ${JSON.stringify(raw)}` };
    if (Number(m[2]) > MAX_PORT) return { reason: `port must be at most ${MAX_PORT}, got ${JSON.stringify(raw)}` };
    return { value: raw };
  }),
};

/** One set of spellings for on/off, from YAML (booleans, 1/0, strings) and from the environment alike. */
export function parseBool(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const spelled = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : '';
  if (/^(true|1|yes|on)$/i.test(spelled)) return true;
  if (/^(false|0|no|off)$/i.test(spelled)) return false;
  return undefined;
}

export const bool: Kind<boolean> = {
  schema: readWith<boolean>((raw) => {
    const value = parseBool(raw);
    return value === undefined ? { reason: 'must be true or false' } : { value };
  }),
};

/** `auto` (use the source when it is detected), or on/off spelled as a bool. */
export const toggle: Kind<Toggle> = {
  schema: readWith<Toggle>((raw) => {
    if (typeof raw === 'string' && raw.toLowerCase() === 'auto') return { value: 'auto' };
    const value = parseBool(raw);
    if (value === undefined) return { reason: 'must be auto, true or false' };
    return { value: value ? 'true' : 'false' };
  }),
};

export const mode: Kind<'local' | 'remote' | 'cluster'> = { schema: v.picklist(['local', 'remote', 'cluster'], 'must be local, remote or cluster') };

export const logLevel: Kind<(typeof LOG_LEVELS)[number]> = { schema: v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`) };

export const positiveInt: Kind<number> = {
  schema: readWith<number>((raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(n) && n > 0 ? { value: n } : { reason: 'must be a positive whole number' };
  }),
};

/** `500ms`, `10s`, `5m`, `1h`, or a bare number of seconds, to milliseconds. */
export function readDuration(raw: unknown): Read<number> {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return { value: raw * 1000 };
  if (typeof raw === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
    if (m) {
      const unit = m[2] ?? 's';
      const factor = unit === 'ms' ? 1 : unit === 's' ? SECOND : unit === 'm' ? MINUTE : HOUR;
      return { value: Math.round(Number(m[1]) * factor) };
    }
  }
  return { reason: `must be a duration such as 500ms, 10s or 5m, got ${JSON.stringify(raw)}` };
}

/** `ms` in the largest unit that holds it whole: 3600000 -> `1h`, 1500 -> `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * A duration in milliseconds, refused outside [min, max] (written as durations: `'100ms'`, `'1h'`):
 * 0 or 1 ms would be a busy loop, 2^31 ms overflows Node's timers.
 */
export function duration(min: string, max: string): Kind<number> {
  const range = [mustRead(readDuration(min)), mustRead(readDuration(max))] as const;
  if (range[1] > MAX_TIMER_MS) throw new Error(`duration range ${min}..${max} exceeds Node's timers`);
  return {
    range,
    schema: readWith<number>((raw) => {
      const read = readDuration(raw);
      if (!('value' in read)) return read;
      const ms = read.value;
      if (ms < range[0] || ms > range[1]) return { reason: `must be between ${formatDuration(range[0])} and ${formatDuration(range[1])}, got ${formatDuration(ms)}` };
      return read;
    }),
  };
}

/** A list of strings; in the environment a JSON list or words separated by commas or spaces. */
export const list: Kind<string[]> = {
  schema: readWith<string[]>((raw) => (Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? { value: [...raw] as string[] } : { reason: 'must be a list of strings' })),
  fromText: (raw) => (raw.trim().startsWith('[') ? parseJson(raw) : { value: raw.split(/[\s,]+/).filter(Boolean) }),
};

/** A map of key or glob -> tag name (or names); null is an empty map; in the environment, JSON. */
export const rules: Kind<RuleMap> = {
  schema: readWith<RuleMap>((raw) => {
    if (raw === null || raw === undefined) return { value: {} };
    if (typeof raw !== 'object' || Array.isArray(raw)) return { reason: 'must be a map of key or glob -> tag name' };
    const out: Record<string, string | string[]> = {};
    for (const [k, tag] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof tag === 'string' && tag.trim() !== '') out[k] = tag;
      else if (Array.isArray(tag) && tag.length > 0 && tag.every((x) => typeof x === 'string' && x.trim() !== '')) out[k] = [...tag] as string[];
      else return { reason: 'tag name must be a non-empty string (or list of them)', subkey: k };
    }
    return { value: out };
  }),
  fromText: parseJson,
};

function parseJson(raw: string): Read<unknown> {
  try {
    return { value: JSON.parse(raw) as unknown };
  } catch {
    return { reason: 'must be JSON here (environment values of maps and lists are JSON)' };
  }
}

function mustRead<T>(read: Read<T>): T {
  if ('value' in read) return read.value;
  throw new Error(read.reason);
}
