/**
 * Every manifest in deploy/kubernetes/ against the Kubernetes API schemas (kubernetes-models'
 * validators, one per apiVersion and kind), and against our own config: every TAGGER_* variable a
 * container sets names a real config key, and every tagger.yaml a ConfigMap carries loads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { envNameOf, resolveConfig } from '../../src/config.js';
import { KEYS } from '../../src/config/schema.js';

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
const ENV_NAMES = new Set([...KEYS.keys()].map(envNameOf));

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
}

interface Validatable {
  validate(): void;
}

type ModelClass = new (data: Manifest) => Validatable;

interface Container {
  name?: string;
  env?: Array<{ name?: string }>;
}

function documentsOf(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Manifest;
  }).filter((m) => m !== null);
}

/** Containers (init containers included) of a workload, wherever its pod template is. */
function containersOf(manifest: Manifest): Container[] {
  const spec = (manifest as { spec?: { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } }; containers?: Container[] } }).spec;
  const pod = spec?.template?.spec ?? spec;
  return [...((pod as { containers?: Container[] } | undefined)?.containers ?? []), ...((pod as { initContainers?: Container[] } | undefined)?.initContainers ?? [])];
}

async function modelOf(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // Any group the manifests use (rbac.authorization.k8s.io/v1, policy/v1...): one module each.
  const specifier = `kubernetes-models/${apiVersion}`;
  const module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  return module[kind] as ModelClass | undefined;
}

describe('deploy/kubernetes manifests', () => {
  it('there are some', () => {
    expect(FILES).toContain('tagger.yaml');
  });

  for (const file of FILES) {
    it(`${file}: every document is valid against its Kubernetes API schema`, async () => {
      const manifests = documentsOf(file);
      expect(manifests.length).toBeGreaterThan(0);
      for (const manifest of manifests) {
        const where = `${file}: ${manifest.kind ?? '?'} ${manifest.metadata?.name ?? '?'}`;
        expect(manifest.apiVersion, where).toBeTypeOf('string');
        expect(manifest.kind, where).toBeTypeOf('string');
        const Model = await modelOf(manifest.apiVersion ?? '', manifest.kind ?? '');
        expect(Model, `${where}: no schema for ${manifest.apiVersion}/${manifest.kind}`).toBeDefined();
        if (!Model) continue;
        expect(() => new Model(manifest).validate(), where).not.toThrow();
      }
    });

    it(`${file}: every TAGGER_* variable is a config key, every tagger config loads`, () => {
      for (const manifest of documentsOf(file)) {
        for (const container of containersOf(manifest)) {
          for (const variable of container.env ?? []) {
            if (variable.name?.startsWith('TAGGER_') && variable.name !== 'TAGGER_CONFIG') {
              expect(ENV_NAMES, `${file}: container ${container.name}: ${variable.name} is not a config key`).toContain(variable.name);
            }
          }
        }
        if (manifest.kind === 'ConfigMap') {
          for (const [name, text] of Object.entries(manifest.data ?? {})) {
            if (name.endsWith('.yaml') || name.endsWith('.yml')) {
              const values: unknown = parseAllDocuments(text)[0]?.toJS();
              expect(() => resolveConfig(values, {}), `${file}: ConfigMap ${manifest.metadata?.name} ${name}`).not.toThrow();
            }
          }
        }
      }
    });
  }

  it('catches what it claims to: a bad field, a wrong type and an unknown TAGGER_ variable', async () => {
    const Model = await modelOf('apps/v1', 'DaemonSet');
    expect(Model).toBeDefined();
    const bad = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x' }, spec: { selector: { matchLabels: { a: 'b' } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: [] } }, template: { spec: { containers: [{ name: 'x' }] } } } };
    expect(() => Model && new Model(bad as Manifest).validate()).toThrow();
    expect(ENV_NAMES).not.toContain('TAGGER_KUBELET_URI');
    expect(ENV_NAMES).toContain('TAGGER_KUBELET_URL');
  });
});
