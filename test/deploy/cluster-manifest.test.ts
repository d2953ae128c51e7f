/**
 * deploy/kubernetes/cluster.yaml against the Kubernetes API schemas (kubernetes-models validates
 * each object as the API server's OpenAPI schema says), and against what the daemon needs: its
 * config is a valid tagger config for mode: cluster, and the Service points at the port served.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { resolveConfig } from '../../src/config.js';

const FILE = fileURLToPath(new URL('../../deploy/kubernetes/cluster.yaml', import.meta.url));

type Doc = { kind: string; apiVersion: string; metadata: { name: string }; [key: string]: unknown };
const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJS() as Doc);

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  Deployment,
  Service,
};

describe('deploy/kubernetes/cluster.yaml', () => {
  it('is valid against the Kubernetes schemas, object by object', () => {
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service']);
    for (const doc of docs) {
      const Model = MODELS[doc.kind];
      expect(Model, doc.kind).toBeDefined();
      expect(() => new (Model as new (data: Doc) => { validate(): void })(doc).validate(), `${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('configures a cluster instance on a network address over TLS, 2 replicas, behind its Service', () => {
    const configMap = docs.find((d) => d.kind === 'ConfigMap') as Doc & { data: Record<string, string> };
    const config = resolveConfig(parseAllDocuments(configMap.data['tagger.yaml'] as string)[0]?.toJS() as Record<string, unknown>);
    expect(config.mode).toBe('cluster');
    expect(config.ipc.tls_cert_file).not.toBe('');
    expect(config.ipc.tcp_address).toBe('0.0.0.0:8443');
    const deployment = docs.find((d) => d.kind === 'Deployment') as Doc & { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    const service = docs.find((d) => d.kind === 'Service') as Doc & { spec: { ports: Array<{ port: number }> } };
    expect(service.spec.ports[0]?.port).toBe(8443);
    const role = docs.find((d) => d.kind === 'ClusterRole') as Doc & { rules: Array<{ resources: string[]; verbs: string[] }> };
    const verbs = new Set(role.rules.flatMap((r) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
  });
});
