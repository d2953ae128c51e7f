/** Text output of `tagger list` and `tagger explain`. Pure: bodies in, text out. */
import type { ExplainReport } from '../ipc/explain.js';
import type { EntitiesBody } from '../ipc/protocol.js';
import type { SourceTags } from '../types.js';

const LEVELS = ['low', 'orchestrator', 'high', 'standard'] as const;

function tagLine(tags: readonly string[] | undefined): string {
  return tags && tags.length > 0 ? tags.join(' ') : '-';
}

function levels(tags: Partial<SourceTags>, indent = '  '): string[] {
  const out: string[] = [];
  for (const level of LEVELS) {
    const list = tags[level];
    if (list === undefined) continue;
    out.push(`${indent}${`${level}:`.padEnd(14)}${tagLine(list)}`);
  }
  return out;
}

/** Like `agent tagger-list`: one block per entity, one section per source, then the merged tags. */
export function formatList(body: EntitiesBody): string {
  if (body.entities.length === 0) return 'no entities\n';
  const lines: string[] = [];
  for (const e of body.entities) {
    lines.push(`=== Entity ${e.id} ===`);
    for (const [source, tags] of Object.entries(e.sources)) {
      lines.push(`== Source ${source} ==`);
      lines.push(...levels(tags));
    }
    lines.push('== Merged ==');
    lines.push(...levels(e.tags));
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

export function formatExplain(r: ExplainReport): string {
  const lines: string[] = [`Entity ${r.id}${r.entity !== r.id ? ` (asked as ${r.entity})` : ''}: ${r.known ? 'known' : 'not in the store'}`];
  if (r.tags) {
    lines.push('Merged tags:');
    lines.push(...levels(r.tags));
  }
  for (const [source, tags] of Object.entries(r.sources)) {
    lines.push(`Source ${source}:`);
    lines.push(...levels(tags));
  }
  if (r.pendingDelete) lines.push(`Pending delete: by ${r.pendingDelete.sources.join(', ')}, removed after ${r.pendingDelete.removeAfter}`);
  if (r.tombstone) lines.push(`Tombstone: removed ${r.tombstone.removedAt} (deleted by ${r.tombstone.sources.join(', ')}), blocks other sources until ${r.tombstone.expiresAt}`);
  if (r.collectors.length > 0) {
    lines.push('Collectors:');
    for (const c of r.collectors) {
      const bits = [c.reported ? 'reported it' : 'did not report it', c.canFetch ? 'can fetch it' : 'does not fetch it', c.healthy ? 'healthy' : `unhealthy (${c.health})`];
      if (c.lastFetch) bits.push(`last fetch ${c.lastFetch.outcome}: ${c.lastFetch.reason} (retry after ${c.lastFetch.retryAfter})`);
      lines.push(`  ${c.name}: ${bits.join('; ')}`);
    }
  }
  if (r.notes.length > 0) {
    lines.push('Why:');
    for (const note of r.notes) lines.push(`  - ${note}`);
  }
  return `${lines.join('\n')}\n`;
}
