/**
 * A replica of a daemon's store, fed by /v1/stream: the Tagger API answered from memory (the
 * Datadog Agent's impl-remote/). A tagger like the local one, with a store of its own; the IPC
 * client and wire format are all it takes from ipc/.
 *
 * - Ready after the first `synced`; before that tag() waits (bounded) and then returns [].
 * - Each connection's snapshot is staged aside and only reconciled into the live store at its
 *   `synced`: queries never see an empty or half-built store, and the replica's own subscribers
 *   get the difference as ordinary events (a sidecar's clients do not have to resync).
 * - On disconnect the last replica keeps answering; reconnects back off from 500 ms to 5 min.
 * - Heartbeats only reset the read timeout.
 */
import { systemClock, type Clock } from '../clock.js';
import { causeMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { BackoffPresets, reconnectForever, type BackoffOptions } from '../net/backoff.js';
import type { TlsOptions } from '../net/http-client.js';
import { TagStore } from '../store/tag-store.js';
import { StoreBackedTagger, bump, toCardinality } from './store-backed-tagger.js';
import { CollectorActivity } from './collector-activity.js';
import type { CardinalityInput, QueryOptions, SourceIntrospection, Tagger, TaggerHealth, TaggerPort } from './tagger.js';
import type { Cardinality, EntityId, EventEntity, TagInfo } from '../types.js';
import { IpcClient } from '../ipc/client.js';
import { parseOrigin } from '../origin/parse.js';
import { RemoteOrigins } from '../origin/remote-origins.js';
import { OriginResolver } from '../origin/resolver.js';
import type { Origin, OriginResolution, ParsedOrigin } from '../origin/types.js';
import { decodeEncodedTags, type EncodedEntityMessage, type StreamMessage } from '../ipc/protocol.js';

/** The source name replica entries carry. */
export const REMOTE_SOURCE = 'remote';

export interface RemoteTaggerOptions {
  readonly socket?: string;
  readonly address?: string;
  readonly authTokenFile?: string;
  readonly token?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * No line for this long (heartbeats included) means the stream is dead. Default 90 s; a daemon
   * that sends `x-tagger-heartbeat-ms` sets it to three of its heartbeats instead.
   */
  readonly readTimeoutMs?: number;
  /** How long tag() waits for the first sync before answering []. Default 2 s. */
  readonly readyWaitMs?: number;
  readonly backoff?: BackoffOptions;
  /** Only entities with these prefixes are replicated. */
  readonly prefixes?: readonly string[];
  /** Follow a cluster instance's view of one node (its pods and the global entity). */
  readonly node?: string;
  /** For an `https://` address (a cluster instance). */
  readonly tls?: TlsOptions;
  /** Where this process's /proc is, for `resolveOrigin({pid})` (tests point it at a fake tree). */
  readonly procRoot?: string;
}


export class RemoteTagger extends StoreBackedTagger implements Tagger, TaggerPort {
  readonly store: TagStore;
  private client: IpcClient;
  /** Set by stop(): the client's pool is destroyed, and start() needs a new one. */
  private clientClosed = false;
  private readonly logger: Logger;
  private readonly options: RemoteTaggerOptions;
  private controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly readyPromise: Promise<void>;
  private resolveReady: (() => void) | undefined;
  private isReady = false;
  private connected = false;
  private lastError = 'not connected yet';
  private syncs = 0;
  /** The daemon as this replica's one source, for `tagger status` (syncs, updates, stream losses). */
  private readonly activity: CollectorActivity;
  /** PIDs (in this process's namespace) and container IDs, from this replica's own memory. */
  private readonly localOrigins: OriginResolver;
  /** The forms only the daemon's indexes know, asked of the daemon. */
  private readonly daemonOrigins: RemoteOrigins;

  constructor(options: RemoteTaggerOptions) {
    super();
    if (!options.socket && !options.address) throw new Error('remote tagger needs socket or address');
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.activity = new CollectorActivity(options.clock ?? systemClock);
    // Deletes come from the daemon already graced: apply them at once (remove()), no tombstones.
    // Entities stay as the daemon encoded them until first use (TagStore.defer): a process rarely
    // asks about more than a few of a node's entities.
    this.store = new TagStore({
      clock: options.clock ?? systemClock,
      deferred: { source: REMOTE_SOURCE, decode: (id, encoded) => toTagInfo({ id, tags: decodeEncodedTags(encoded) }) },
    });
    this.store.onMalformed = (info, reason) => this.logger.warn({ entity: (info as { entity?: unknown } | null)?.entity, reason }, 'malformed entity from the daemon; dropped');
    this.client = this.newClient();
    this.localOrigins = new OriginResolver(this.store, { ...(options.procRoot ? { procRoot: options.procRoot } : {}), logger: this.logger });
    this.daemonOrigins = new RemoteOrigins({
      ask: async (origin) => {
        const body = await this.client.origin(origin);
        return body.entity === null ? undefined : { containerId: body.container_id, entity: body.entity };
      },
      has: (id) => this.store.has(id),
      onError: (error) => this.logger.debug({ error: causeMessage(error) }, 'origin lookup at the daemon failed'),
    });
    this.readyPromise = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
  }

  async start(): Promise<void> {
    if (this.loop) return;
    if (this.clientClosed) {
      this.client = this.newClient();
      this.clientClosed = false;
    }
    this.controller = new AbortController();
    this.loop = this.follow(this.controller.signal);
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.controller.abort();
    await this.loop;
    this.loop = undefined;
    this.connected = false;
    this.clientClosed = true;
    await this.client.close();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  async tag(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): Promise<readonly string[]> {
    if (!this.isReady) await this.waitReady();
    return this.tagSync(entity, cardinality, options);
  }

  tagSync(entity: string, cardinality: CardinalityInput = 'low', options?: QueryOptions): readonly string[] {
    const card = toCardinality(cardinality);
    if (card === undefined) return this.noneCardinality(entity);
    const fast = this.store.lookup(entity, card);
    const found = fast ?? this.lookupCanonical(entity, card);
    this.countQuery(card, found === undefined ? 'miss' : 'hit');
    return this.withGlobal(found, card, options);
  }

  /**
   * A PID is read from this process's own /proc (a PID from a caller's socket credentials is in the
   * caller's namespace, which may not be the daemon's); a container ID from the replicated store;
   * the other forms through the daemon (docs/origin-detection.md, "Remote replicas").
   */
  resolveOrigin(origin: Origin): OriginResolution | undefined {
    const parsed = parseOrigin(origin);
    return isLocalForm(parsed) ? this.localOrigins.resolve(parsed) : this.daemonOrigins.resolveSync(parsed);
  }

  async lookupOrigin(origin: ParsedOrigin): Promise<OriginResolution | undefined> {
    if (isLocalForm(origin)) return this.localOrigins.resolve(origin);
    try {
      return await this.daemonOrigins.resolve(origin);
    } catch (error) {
      this.logger.debug({ error: causeMessage(error) }, 'origin lookup at the daemon failed');
      return undefined;
    }
  }

  originStats(): { entities: number; ips: number; inodes: number } {
    return this.localOrigins.index.sizes;
  }

  /** Healthy while connected; a replica that lost its daemon still answers, but says so. */
  health(): TaggerHealth {
    const target = this.client.target;
    const message = this.connected ? `following ${target} (${this.syncs} syncs)` : `not connected to ${target}: ${this.lastError}`;
    return { healthy: this.connected, collectors: { [REMOTE_SOURCE]: { healthy: this.connected, message, state: this.loop ? 'running' : 'stopped', ...this.activity.view() } } };
  }

  /** For tests and health: true between a `synced` and the next disconnect. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** A replica has one source, its daemon, which never fetches. */
  protected sourcesOf(): SourceIntrospection[] {
    return [{ name: REMOTE_SOURCE, canFetch: false, notes: [], lastFetch: undefined }];
  }

  private newClient(): IpcClient {
    const options = this.options;
    return new IpcClient({
      ...(options.socket ? { socket: options.socket } : { address: options.address as string }),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.authTokenFile ? { tokenFile: options.authTokenFile } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    });
  }

  // ---- the stream loop ----

  private async follow(signal: AbortSignal): Promise<void> {
    await reconnectForever((opened) => this.followOnce(signal, opened), {
      ...(this.options.backoff ?? BackoffPresets.remoteStream),
      signal,
      onEnd: (error, delay) => {
        this.lastError = error === undefined ? 'the daemon ended the stream' : causeMessage(error);
        if (error !== undefined) bump(this.counters.collectorErrors, REMOTE_SOURCE);
        this.activity.error(`remote stream lost: ${this.lastError}`);
        this.connected = false;
        this.logger.warn({ error: this.lastError, retryInMs: delay }, 'remote stream lost; serving the last replica meanwhile');
      },
    });
    this.connected = false;
  }

  /**
   * One connection: reconcile the snapshot at `synced`, then apply live events. A resync stages its
   * snapshot aside, so queries keep the last replica until the new one is whole. The very first
   * snapshot goes straight into the (empty) store instead: there is nothing to keep, and tag()
   * waits for `synced` anyway. Entities arrive with their tags still encoded (see the store).
   */
  private async followOnce(signal: AbortSignal, onSynced: () => void): Promise<void> {
    const direct = !this.isReady && this.store.size === 0;
    let staged: Map<EntityId, EventEntity | string> | undefined = direct ? undefined : new Map();
    let syncing = true;
    const onMessage = (message: StreamMessage): void => {
      switch (message.type) {
        case 'heartbeat':
          return;
        case 'synced':
          if (syncing) {
            if (staged) this.reconcile(staged);
            staged = undefined;
            syncing = false;
            this.connected = true;
            this.syncs++;
            this.activity.synced();
            onSynced();
            this.markReady();
            this.logger.info({ entities: this.store.size }, 'remote replica synced');
          }
          return;
        case 'deleted':
          if (staged) staged.delete(message.entity.id);
          else this.store.remove(message.entity.id);
          break;
        default:
          if (staged) staged.set(message.entity.id, message.entity);
          else this.store.processTagInfo([toTagInfo(message.entity)]);
      }
      if (!syncing) this.activity.updated();
    };
    const onEncodedEntity = (message: EncodedEntityMessage): void => {
      if (staged) staged.set(message.id, message.encodedTags);
      else this.store.defer(message.id, message.encodedTags);
      if (!syncing) this.activity.updated();
    };
    const request = { cardinality: 'high' as const, ...(this.options.prefixes ? { prefixes: this.options.prefixes } : {}), ...(this.options.node !== undefined ? { node: this.options.node } : {}) };
    await this.client.stream(request, onMessage, {
      signal,
      readTimeoutMs: this.options.readTimeoutMs ?? 90_000,
      onEncodedEntity,
    });
  }

  /** Makes the live store equal to `fresh` in one synchronous step: no query sees a gap. */
  private reconcile(fresh: Map<EntityId, EventEntity | string>): void {
    for (const id of [...this.store.ids()]) if (!fresh.has(id)) this.store.remove(id);
    const infos: TagInfo[] = [];
    for (const [id, entity] of fresh) {
      // An entity the store holds decoded is compared now (its subscribers see only real changes).
      if (typeof entity === 'string') this.store.defer(id, entity);
      else infos.push(toTagInfo(entity));
    }
    this.store.processTagInfo(infos);
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.resolveReady?.();
  }

  private async waitReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.readyPromise, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.readyWaitMs ?? 2_000)))]);
    clearTimeout(timer);
  }

  private lookupCanonical(entity: string, card: Cardinality): readonly string[] | undefined {
    const id = this.canonical(entity);
    return id === undefined ? undefined : this.store.lookup(id, card);
  }

}

function toTagInfo(entity: EventEntity): TagInfo {
  const t = entity.tags;
  return { source: REMOTE_SOURCE, entity: entity.id, low: t.low, orchestrator: t.orchestrator, high: t.high, standard: t.standard };
}

/** The forms a replica answers from its own memory. */
function isLocalForm(origin: ParsedOrigin): boolean {
  return origin.kind === 'pid' || origin.kind === 'container_id';
}
