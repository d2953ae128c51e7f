import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultConfig, envNameOf, parseDuration, resolveConfig } from '../config.js';
import { KEYS } from './schema.js';

/** docs/configuration.md is what users read: every key's row must say what the schema does. */
const DOC = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** The rows of the markdown table under `## heading`, as cells without their pipes. */
function tableRows(heading: string): string[][] {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const body = DOC.slice(start + heading.length + 5).split('\n## ')[0] as string;
  return body
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
}

function firstCode(cell: string): string | undefined {
  return /`([^`]*)`/.exec(cell)?.[1];
}

function valueAt(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

function nested(key: string, value: unknown): Record<string, unknown> {
  const [section, name] = key.split('.') as [string, string | undefined];
  return name === undefined ? { [section]: value } : { [section]: { [name]: value } };
}

describe('docs/configuration.md', () => {
  const keyRows = new Map(tableRows('Keys').map((cells) => [firstCode(cells[0] as string) as string, cells]));

  it('has one row per key of the schema, and no other', () => {
    expect([...keyRows.keys()].sort()).toEqual([...KEYS.keys()].sort());
  });

  it.each([...KEYS.keys()])('gives %s its default and environment variables', (key) => {
    const [, , defaultCell, envCell] = keyRows.get(key) as string[];
    const spec = KEYS.get(key);
    // `empty...` is the empty string; otherwise the first code span, read as YAML would read it.
    const documented = (defaultCell as string).startsWith('empty') ? '' : parseYaml(firstCode(defaultCell as string) ?? '') as unknown;
    expect(valueAt(resolveConfig(nested(key, documented)), key), key).toEqual(valueAt(defaultConfig(), key));
    expect(firstCode(envCell as string)).toBe(envNameOf(key));
    if (spec?.standardEnv) expect(envCell).toContain(`then \`${spec.standardEnv}\``);
    else expect(envCell).not.toContain('then `');
  });

  it('gives every duration its range', () => {
    const ranges = tableRows('Duration ranges').map((cells) => {
      const [min, max] = (cells[1] as string).split(' to ');
      return [firstCode(cells[0] as string), [parseDuration('min', min), parseDuration('max', max)]] as const;
    });
    const expected = [...KEYS.values()].filter((spec) => spec.range).map((spec) => [spec.key, spec.range]);
    expect(ranges).toEqual(expected);
  });
});

describe('the schema', () => {
  it('hands each config its own copy of a default list or map', () => {
    const first = defaultConfig();
    first.containerd.exclude_namespaces.push('changed');
    expect(defaultConfig().containerd.exclude_namespaces).toEqual(['moby']);
  });

  it('refuses a port above 65535, naming where the value came from', () => {
    expect(() => resolveConfig({}, { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).not.toThrow();
    expect(() => resolveConfig({ ipc: { tcp_address: '127.0.0.1:70000' } })).toThrow('invalid config ipc.tcp_address: port must be at most 65535, got "127.0.0.1:70000"');
    expect(() => resolveConfig({}, { TAGGER_REMOTE_ADDRESS: '[::1]:99999' })).toThrow('invalid config TAGGER_REMOTE_ADDRESS: port must be at most 65535');
  });

  it('names a list\'s key, not an index, and an entry of a map from the environment', () => {
    expect(() => resolveConfig({ containerd: { namespaces: ['a', 1] } })).toThrow('invalid config containerd.namespaces: must be a list of strings');
    expect(() => resolveConfig({}, { TAGGER_KUBELET_POD_LABELS_AS_TAGS: '{"app":""}' })).toThrow('invalid config TAGGER_KUBELET_POD_LABELS_AS_TAGS.app: tag name must be a non-empty string');
  });
});
