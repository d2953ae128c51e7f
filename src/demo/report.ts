/** Text of `tagger demo`: what happened, the answers to a few queries, then every entity as `tagger list` shows it. */
import { formatList } from '../cli/format.js';
import type { DemoEntity, DemoResult } from './demo.js';

export function formatDemo(result: DemoResult): string {
  const lines: string[] = ['tagger demo: recorded payloads replayed through in-process fake endpoints', ''];
  lines.push('Recorded data:');
  for (const source of result.recorded) lines.push(`  ${source}`);
  lines.push('', 'What happened:');
  for (const s of result.steps) lines.push(`  +${String(s.atMs).padStart(5)} ms  ${s.what}`);
  lines.push('', 'Queries (tagger.tag):');
  for (const q of result.queries) lines.push(`  ${q.entity} @ ${q.cardinality}:`, `      ${q.tags.join(' ') || '-'}`);
  lines.push('', `Entities (${result.entities.length}), per source and cardinality, then merged:`, '');
  return `${lines.join('\n')}\n${result.entities.map(formatEntity).join('')}`;
}

function formatEntity(e: DemoEntity): string {
  const block = formatList({ entities: [e] }).trimEnd();
  const pending = e.pendingDelete ? `\n== Pending delete ==\n  deleted by ${e.pendingDelete.sources.join(', ')}; queryable until ${e.pendingDelete.removeAfter}` : '';
  return `${block}${pending}\n\n`;
}
