/**
 * Origin resolution for a remote replica, which receives the daemon's tags but not its origin
 * facts. The forms only the daemon's indexes know (cgroup inode, external data, pod UID and
 * container name, IP) are asked of the daemon's `/v1/origin`; answers are kept briefly (a reused
 * IP must be asked again) and, like every answer of the replica, only while its own store has the
 * entity. A synchronous lookup that misses starts the request in the background and answers
 * undefined, as `tagSync` does for an entity it has not got yet.
 */
import { LRUCache } from 'lru-cache';
import type { EntityId } from '../types.js';
import type { Origin, OriginResolution, ParsedOrigin } from './types.js';

export interface RemoteOriginOptions {
  /** Asks the daemon; resolves undefined for an unknown origin, rejects when the daemon cannot answer. */
  readonly ask: (origin: Origin) => Promise<OriginResolution | undefined>;
  /** Whether the replica's store has the entity. */
  readonly has: (id: EntityId) => boolean;
  /** How long an answer (or an unknown origin) is kept. Default 10 s. */
  readonly ttlMs?: number;
  /** Answers kept at most. Default 10,000. */
  readonly max?: number;
  readonly onError?: (error: unknown) => void;
}

/** An unknown origin, kept so that a flood of them makes one request per TTL. */
const UNKNOWN = 'unknown';
type Kept = OriginResolution | typeof UNKNOWN;

export class RemoteOrigins {
  private readonly answers: LRUCache<string, Kept>;
  private readonly inflight = new Map<string, Promise<OriginResolution | undefined>>();

  constructor(private readonly options: RemoteOriginOptions) {
    this.answers = new LRUCache<string, Kept>({ max: options.max ?? 10_000, ttl: options.ttlMs ?? 10_000 });
  }

  /** From memory; a miss asks the daemon in the background. */
  resolveSync(origin: ParsedOrigin): OriginResolution | undefined {
    const key = keyOf(origin);
    const kept = this.answers.get(key);
    if (kept === undefined) {
      this.ask(key, origin).catch((error: unknown) => this.options.onError?.(error));
      return undefined;
    }
    return this.live(kept);
  }

  /** From memory, else the daemon's answer. */
  async resolve(origin: ParsedOrigin): Promise<OriginResolution | undefined> {
    const key = keyOf(origin);
    const kept = this.answers.get(key);
    if (kept !== undefined) return this.live(kept);
    return this.live((await this.ask(key, origin)) ?? UNKNOWN);
  }

  /** Requests in flight, for tests. */
  get pending(): number {
    return this.inflight.size;
  }

  private live(kept: Kept): OriginResolution | undefined {
    return kept !== UNKNOWN && this.options.has(kept.entity) ? kept : undefined;
  }

  private ask(key: string, origin: ParsedOrigin): Promise<OriginResolution | undefined> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.options.ask(toOrigin(origin)).then((answer) => {
        this.answers.set(key, answer ?? UNKNOWN);
        return answer;
      });
      const settled = pending.finally(() => this.inflight.delete(key));
      settled.catch(() => undefined);
      this.inflight.set(key, pending);
    }
    return pending;
  }
}

function keyOf(origin: ParsedOrigin): string {
  switch (origin.kind) {
    case 'pid':
      return `pid:${origin.pid}`;
    case 'cgroup_inode':
      return `inode:${origin.inode}`;
    case 'container_id':
      return `cid:${origin.containerId}`;
    case 'ip':
      return `ip:${origin.ip}`;
    case 'pod_container':
      return `pod:${origin.podUid}:${origin.containerName ?? ''}:${origin.init === undefined ? '' : String(origin.init)}`;
  }
}

/** The library form of a parsed origin, as the daemon's client sends it. */
export function toOrigin(origin: ParsedOrigin): Origin {
  switch (origin.kind) {
    case 'pid':
      return { pid: origin.pid };
    case 'cgroup_inode':
      return { cgroupInode: origin.inode };
    case 'container_id':
      return { containerId: origin.containerId };
    case 'ip':
      return { ip: origin.ip };
    case 'pod_container':
      if (origin.init === undefined) return { podUid: origin.podUid, ...(origin.containerName !== undefined ? { containerName: origin.containerName } : {}) };
      return { externalData: [`it-${String(origin.init)}`, ...(origin.containerName !== undefined ? [`cn-${origin.containerName}`] : []), `pu-${origin.podUid}`].join(',') };
  }
}
