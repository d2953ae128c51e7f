/**
 * `tagger explain`: why an entity has the tags it has, and why a tag may be missing: what each
 * source gave at which cardinality, a pending delete, a tombstone, which collectors could fetch
 * it and what their last fetch found. Built from the tagger port's read-only views (resolve,
 * introspect, health), so it explains a replica as well as a local tagger.
 */
import { parseEntityId } from '../entity.js';
import type { TaggerPort } from '../tagger/tagger.js';
import type { EntityId, MergedTags, SourceTags } from '../types.js';

export interface ExplainCollector {
  readonly name: string;
  /** This collector has reported tags for the entity. */
  readonly reported: boolean;
  /** It can fetch this entity on a miss. */
  readonly canFetch: boolean;
  readonly healthy: boolean;
  readonly health: string;
  /** What the collector itself knows of the entity beyond tags (an exit code). */
  readonly notes?: readonly string[];
  /** The cached outcome of its last fetch, when that found nothing. */
  readonly lastFetch?: { readonly outcome: 'not_found' | 'error'; readonly reason: string; readonly retryAfter: string };
}

export interface ExplainReport {
  readonly entity: string;
  readonly id: EntityId;
  readonly known: boolean;
  readonly sources: Readonly<Record<string, SourceTags>>;
  readonly tags: MergedTags | null;
  readonly pendingDelete?: { readonly sources: readonly string[]; readonly removeAfter: string };
  readonly tombstone?: { readonly sources: readonly string[]; readonly removedAt: string; readonly expiresAt: string };
  readonly collectors: readonly ExplainCollector[];
  /** Plain-language reasons, one per line. */
  readonly notes: readonly string[];
}

export function explainEntity(tagger: TaggerPort, input: string): ExplainReport {
  const parsed = parseEntityId(input);
  const id = tagger.resolve(input);
  const { snapshot, tombstone: tomb, sources } = tagger.introspect(id);
  const health = tagger.health().collectors;
  const notes: string[] = [];
  const collectors: ExplainCollector[] = sources.map((source) => {
    const h = health[source.name];
    const memo = source.lastFetch;
    return {
      name: source.name,
      reported: snapshot?.sources[source.name] !== undefined,
      canFetch: source.canFetch,
      healthy: h?.healthy ?? true,
      health: h ? `${h.state}: ${h.message}` : 'unknown',
      ...(source.notes.length > 0 ? { notes: source.notes } : {}),
      ...(memo ? { lastFetch: { outcome: memo.outcome, reason: memo.reason, retryAfter: new Date(memo.until).toISOString() } } : {}),
    };
  });

  if (parsed.short && id === parsed.id && !snapshot) notes.push('short container ID matches no known container');
  if (!snapshot) notes.push(tomb ? 'not in the store: removed, and its tombstone still blocks updates from other sources' : 'not in the store');
  if (snapshot?.pendingDelete) {
    notes.push(`deleted by ${snapshot.pendingDelete.sources.join(', ')}; stays queryable until ${new Date(snapshot.pendingDelete.removeAfter).toISOString()}`);
  }
  for (const c of collectors) for (const note of c.notes ?? []) notes.push(`${c.name}: ${note}`);
  for (const c of collectors) {
    if (c.reported) continue;
    if (c.lastFetch) notes.push(`${c.name}: last fetch ${c.lastFetch.outcome === 'error' ? `failed (${c.lastFetch.reason})` : 'found nothing'}; not asked again before ${c.lastFetch.retryAfter}`);
    else if (c.canFetch) notes.push(`${c.name}: has not reported it; will fetch it on the next query`);
    else if (!c.healthy) notes.push(`${c.name}: unhealthy (${c.health})`);
    else notes.push(`${c.name}: has not reported it and does not fetch this kind of entity`);
  }

  return {
    entity: input,
    id,
    known: snapshot !== undefined,
    sources: snapshot?.sources ?? {},
    tags: snapshot?.tags ?? null,
    ...(snapshot?.pendingDelete ? { pendingDelete: { sources: snapshot.pendingDelete.sources, removeAfter: new Date(snapshot.pendingDelete.removeAfter).toISOString() } } : {}),
    ...(tomb ? { tombstone: { sources: [...tomb.sources], removedAt: new Date(tomb.removedAt).toISOString(), expiresAt: new Date(tomb.expiresAt).toISOString() } } : {}),
    collectors,
    notes,
  };
}
