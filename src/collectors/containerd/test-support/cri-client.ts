/**
 * A minimal CRI client for engine tests: it talks to containerd's CRI plugin the way the kubelet
 * does (RuntimeService over containerd's own socket), so a test can make a real Kubernetes-style
 * pod without a kubelet. Declarations in ./cri.proto. Test-only: excluded from the build.
 */
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('./cri.proto', import.meta.url));

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: { cgroupParent?: string; securityContext?: { namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode } } };
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: Array<{ key: string; value: string }>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
}

type Empty = Record<string, never>;

/** Request and response of each call, as proto-loader shapes them (camelCase, enums as names). */
interface CriCalls {
  RunPodSandbox: [{ config: PodSandboxConfig; runtimeHandler?: string }, { podSandboxId: string }];
  StopPodSandbox: [{ podSandboxId: string }, Empty];
  RemovePodSandbox: [{ podSandboxId: string }, Empty];
  CreateContainer: [{ podSandboxId: string; config: ContainerConfig; sandboxConfig: PodSandboxConfig }, { containerId: string }];
  StartContainer: [{ containerId: string }, Empty];
  StopContainer: [{ containerId: string; timeout: number }, Empty];
  RemoveContainer: [{ containerId: string }, Empty];
}
type CallName = keyof CriCalls;

export class CriClient {
  private readonly client: Client;
  private readonly service: ServiceDefinition;
  private readonly callTimeoutMs: number;

  constructor(socket: string, callTimeoutMs = 15_000) {
    const def = loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true });
    const service = def['runtime.v1.RuntimeService'];
    if (!service || 'format' in service) throw new Error('cri.proto: runtime.v1.RuntimeService missing');
    this.service = service as ServiceDefinition;
    this.client = new Client(`unix://${socket}`, credentials.createInsecure());
    this.callTimeoutMs = callTimeoutMs;
  }

  runPodSandbox(config: PodSandboxConfig): Promise<string> {
    return this.call('RunPodSandbox', { config }).then((r) => r.podSandboxId);
  }
  stopPodSandbox(podSandboxId: string): Promise<void> {
    return this.call('StopPodSandbox', { podSandboxId }).then(() => undefined);
  }
  removePodSandbox(podSandboxId: string): Promise<void> {
    return this.call('RemovePodSandbox', { podSandboxId }).then(() => undefined);
  }
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return this.call('CreateContainer', { podSandboxId, config, sandboxConfig }).then((r) => r.containerId);
  }
  startContainer(containerId: string): Promise<void> {
    return this.call('StartContainer', { containerId }).then(() => undefined);
  }
  /** `timeoutSeconds` before a SIGKILL, as the kubelet's grace period; 0 kills at once. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    return this.call('StopContainer', { containerId, timeout: timeoutSeconds }).then(() => undefined);
  }
  removeContainer(containerId: string): Promise<void> {
    return this.call('RemoveContainer', { containerId }).then(() => undefined);
  }

  close(): void {
    this.client.close();
  }

  private call<M extends CallName>(name: M, req: CriCalls[M][0]): Promise<CriCalls[M][1]> {
    const m = (this.service as Record<string, MethodDefinition<CriCalls[M][0], CriCalls[M][1]> | undefined>)[name];
    if (!m) return Promise.reject(new Error(`cri.proto: method ${name} missing`));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, new Metadata(), { deadline: Date.now() + this.callTimeoutMs }, (error, res) => {
        if (error) reject(new Error(`CRI ${name}: ${error.details || error.message}`, { cause: error }));
        else if (res === undefined) reject(new Error(`CRI ${name}: empty response`));
        else resolve(res);
      });
    });
  }
}
