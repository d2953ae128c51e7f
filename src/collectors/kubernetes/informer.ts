/**
 * An informer for one resource, with client-go's reflector semantics on our own HTTP client:
 * - a paged list (`limit`; a continue token that expires mid-list starts the list over), whose
 *   resourceVersion the watch starts from;
 * - a watch with bookmarks and a server-side timeout randomised between one and two
 *   `minWatchTimeoutSeconds` (so replicas do not reconnect in step); when it ends, the next
 *   watch resumes from the last resourceVersion seen (an event's or a bookmark's), with no list;
 * - 410 Gone (an ERROR event or an HTTP 410) lists again and emits the difference from what it
 *   held (adds, updates, deletes), so no change made while the watch was gone is lost;
 * - other failures back off (BackoffPresets.apiServer), at least as long as a 429's Retry-After.
 * Objects are cut to what the caller needs at decode (`decode`), so the raw JSON is garbage as
 * soon as its page or event is read. A malformed object keeps the last good one under its key;
 * a line that is not a watch event ends the watch, which resumes from the last resourceVersion.
 */
import { causeMessage, isTaggerError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Backoff, BackoffPresets, sleep, type BackoffOptions } from '../../net/backoff.js';
import { KubeApiError, type KubeApiSource, type WatchEvent } from './client.js';

/** What decode made of a raw object: the kept value, or why not (with the key when readable). */
export type Decoded<T> =
  | { readonly ok: true; readonly key: string; readonly resourceVersion: string; readonly value: T }
  | { readonly ok: false; readonly key?: string; readonly resourceVersion?: string; readonly problem: string };

export interface InformerHandler<T> {
  onAdd?(key: string, value: T): void;
  onUpdate?(key: string, previous: T, value: T): void;
  onDelete?(key: string, previous: T): void;
  /** After each full list (the first, and each after a 410), once its differences were sent. */
  onListed?(): void;
}

export interface InformerOptions<T> {
  /** For logs and metrics: `pods`, `endpointslices`... */
  readonly resource: string;
  /** The collection's path: `/api/v1/pods`, `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  /**
   * Sent with every list and watch (`spec.nodeName=node-a`): the server filters, so objects
   * outside it are never sent, decoded or held. An object that leaves it comes as DELETED.
   */
  readonly fieldSelector?: string;
  readonly source: KubeApiSource;
  readonly decode: (raw: unknown) => Decoded<T>;
  readonly handler: InformerHandler<T>;
  readonly logger: Logger;
  /** Items per list page. Default 500 (client-go's). */
  readonly pageSize?: number;
  /** Default 300 s (client-go's 5 min); each watch asks for between this and twice this. */
  readonly minWatchTimeoutSeconds?: number;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface InformerStats {
  /** Full lists done; `relists` are those after the first (after a 410). */
  lists: number;
  relists: number;
  listPages: number;
  /** Continue tokens that expired mid-list (the list started over). */
  expiredContinues: number;
  /** Watches started again after one ended (timeout, error, 410). */
  watchRestarts: number;
  /** 410 Gone answers, as an ERROR event or an HTTP status. */
  expired: number;
  events: { added: number; modified: number; deleted: number; bookmarks: number; errors: number; unknown: number };
  malformedObjects: number;
  /** Lines on a watch that were not events. */
  malformedEvents: number;
  throttled: number;
  failures: number;
}

export interface InformerState {
  readonly synced: boolean;
  readonly watching: boolean;
  readonly objects: number;
  readonly resourceVersion: string;
  readonly lastError: string | undefined;
}

interface Entry<T> {
  readonly resourceVersion: string;
  readonly value: T;
}

export class Informer<T> {
  readonly stats: InformerStats = { lists: 0, relists: 0, listPages: 0, expiredContinues: 0, watchRestarts: 0, expired: 0, events: { added: 0, modified: 0, deleted: 0, bookmarks: 0, errors: 0, unknown: 0 }, malformedObjects: 0, malformedEvents: 0, throttled: 0, failures: 0 };
  private items = new Map<string, Entry<T>>();
  private resourceVersion = '';
  private synced = false;
  private watching = false;
  private lastError: string | undefined;
  private readonly random: () => number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: InformerOptions<T>) {
    this.random = options.random ?? Math.random;
    this.wait = options.sleep ?? sleep;
  }

  get state(): InformerState {
    return { synced: this.synced, watching: this.watching, objects: this.items.size, resourceVersion: this.resourceVersion, lastError: this.lastError };
  }

  get(key: string): T | undefined {
    return this.items.get(key)?.value;
  }

  *values(): IterableIterator<T> {
    for (const entry of this.items.values()) yield entry.value;
  }

  /** Lists and watches until the signal aborts; never throws (failures are counted and retried). */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.options.backoff ?? BackoffPresets.apiServer, this.random);
    let needList = true;
    let expiredInARow = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        await this.watch(signal, () => {
          backoff.reset();
          expiredInARow = 0;
        });
        this.stats.watchRestarts++;
      } catch (error) {
        this.watching = false;
        if (signal.aborted) return;
        if (error instanceof KubeApiError && error.expired) {
          this.stats.expired++;
          needList = true;
          this.options.logger.info({ resource: this.options.resource, resourceVersion: this.resourceVersion }, 'watch expired (410 Gone); listing again');
          // client-go lists again at once; twice in a row without progress, back off.
          if (++expiredInARow < 2) continue;
        }
        this.stats.failures++;
        this.lastError = causeMessage(error);
        if (isTaggerError(error, 'TAGGER_DECODE')) this.stats.malformedEvents++;
        let delay = backoff.next();
        if (error instanceof KubeApiError && error.status === 429) {
          this.stats.throttled++;
          delay = Math.max(delay, error.retryAfterMs ?? 0);
        }
        this.options.logger.warn({ resource: this.options.resource, error: this.lastError, retryInMs: delay }, 'Kubernetes API list/watch failed; keeping the last state and retrying');
        try {
          await this.wait(delay, signal);
        } catch {
          return;
        }
        this.stats.watchRestarts++;
      }
    }
  }

  /** A full paged list; then the difference from what was held goes to the handler. */
  private async list(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, Entry<T>>();
    let token = '';
    let listRv = '';
    do {
      let page;
      try {
        page = await this.options.source.list(this.options.path, { limit: this.options.pageSize ?? 500, ...(token ? { continueToken: token } : {}), ...this.selector(), signal });
      } catch (error) {
        if (token !== '' && error instanceof KubeApiError && error.expired) {
          // The snapshot the pages were read from is compacted: start the list over.
          this.stats.expiredContinues++;
          fresh.clear();
          token = '';
          listRv = '';
          continue;
        }
        throw error;
      }
      this.stats.listPages++;
      if (listRv === '') listRv = page.resourceVersion;
      for (const raw of page.items) {
        const decoded = this.options.decode(raw);
        if (decoded.ok) fresh.set(decoded.key, { resourceVersion: decoded.resourceVersion, value: decoded.value });
        else this.keepLastGood(decoded, fresh);
      }
      token = page.continueToken;
    } while (token !== '');
    if (this.stats.lists++ > 0) this.stats.relists++;
    const previous = this.items;
    this.items = fresh;
    this.resourceVersion = listRv;
    for (const [key, entry] of fresh) {
      const old = previous.get(key);
      if (old === undefined) this.notify('add', key, entry.value);
      else if (old.resourceVersion !== entry.resourceVersion) this.notify('update', key, entry.value, old.value);
    }
    for (const [key, old] of previous) if (!fresh.has(key)) this.notify('delete', key, old.value);
    this.synced = true;
    this.lastError = undefined;
    try {
      this.options.handler.onListed?.();
    } catch (error) {
      this.options.logger.error({ resource: this.options.resource, error: causeMessage(error) }, 'informer handler failed');
    }
  }

  private async watch(signal: AbortSignal, opened: () => void): Promise<void> {
    const minTimeout = this.options.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(minTimeout * (1 + this.random()));
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    // A half-open connection never ends by itself: give the server its timeout plus a margin.
    let stale = false;
    const guard = setTimeout(() => {
      stale = true;
      controller.abort();
    }, (timeoutSeconds + 30) * 1000);
    try {
      await this.options.source.watch(this.options.path, {
        resourceVersion: this.resourceVersion,
        timeoutSeconds,
        ...this.selector(),
        signal: controller.signal,
        onOpen: () => {
          this.watching = true;
          this.lastError = undefined;
          opened();
        },
        onEvent: (event) => this.apply(event),
      });
    } catch (error) {
      if (!(stale && !signal.aborted)) throw error;
    } finally {
      clearTimeout(guard);
      signal.removeEventListener('abort', stop);
      this.watching = false;
    }
  }

  private apply(event: WatchEvent): void {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        this.stats.events[event.type === 'ADDED' ? 'added' : 'modified']++;
        const decoded = this.options.decode(event.object);
        if (!decoded.ok) {
          this.keepLastGood(decoded);
          if (decoded.resourceVersion) this.resourceVersion = decoded.resourceVersion;
          return;
        }
        const old = this.items.get(decoded.key);
        this.items.set(decoded.key, { resourceVersion: decoded.resourceVersion, value: decoded.value });
        this.resourceVersion = decoded.resourceVersion;
        if (old === undefined) this.notify('add', decoded.key, decoded.value);
        else this.notify('update', decoded.key, decoded.value, old.value);
        return;
      }
      case 'DELETED': {
        this.stats.events.deleted++;
        const decoded = this.options.decode(event.object);
        if (decoded.resourceVersion) this.resourceVersion = decoded.resourceVersion;
        if (decoded.key === undefined) {
          this.stats.malformedObjects++;
          return;
        }
        const old = this.items.get(decoded.key);
        if (old === undefined) return;
        this.items.delete(decoded.key);
        this.notify('delete', decoded.key, old.value);
        return;
      }
      case 'BOOKMARK': {
        this.stats.events.bookmarks++;
        const rv = metadataOf(event.object)?.resourceVersion;
        if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
        return;
      }
      case 'ERROR': {
        this.stats.events.errors++;
        const status = (event.object ?? {}) as { code?: unknown; reason?: unknown };
        const code = typeof status.code === 'number' ? status.code : 500;
        throw new KubeApiError(code, `${this.options.source.url}${this.options.path} (watch ERROR event)`, JSON.stringify(event.object), typeof status.reason === 'string' ? status.reason : undefined, undefined);
      }
      default:
        this.stats.events.unknown++;
    }
  }

  private selector(): { fieldSelector?: string } {
    return this.options.fieldSelector ? { fieldSelector: this.options.fieldSelector } : {};
  }

  /** A malformed object: counted, and the last good one under its key (if any) is kept. */
  private keepLastGood(decoded: { readonly key?: string; readonly problem: string }, into?: Map<string, Entry<T>>): void {
    this.stats.malformedObjects++;
    this.options.logger.debug({ resource: this.options.resource, key: decoded.key, problem: decoded.problem }, 'malformed Kubernetes object skipped; keeping the last good one');
    if (into && decoded.key !== undefined) {
      const old = this.items.get(decoded.key);
      if (old) into.set(decoded.key, old);
    }
  }

  private notify(kind: 'add' | 'update' | 'delete', key: string, value: T, previous?: T): void {
    const handler = this.options.handler;
    try {
      if (kind === 'add') handler.onAdd?.(key, value);
      else if (kind === 'update') handler.onUpdate?.(key, previous as T, value);
      else handler.onDelete?.(key, value);
    } catch (error) {
      this.options.logger.error({ resource: this.options.resource, key, error: causeMessage(error) }, 'informer handler failed');
    }
  }
}

/** `object.metadata`, when the object has one. */
export function metadataOf(object: unknown): Record<string, unknown> | undefined {
  if (object === null || typeof object !== 'object') return undefined;
  const meta = (object as { metadata?: unknown }).metadata;
  return meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : undefined;
}
