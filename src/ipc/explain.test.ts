import { afterEach, describe, expect, it } from 'vitest';
import type { Collector } from '../collectors/collector.js';
import { deletionTagInfo } from '../taglist.js';
import { LocalTagger } from '../tagger/local-tagger.js';
import { explainEntity } from './explain.js';

const C1 = `container_id://${'e'.repeat(64)}`;
let tagger: LocalTagger | undefined;
afterEach(async () => {
  await tagger?.stop();
});

describe('explainEntity', () => {
  it('shows each source, a pending delete, and what a collector knows beyond tags', async () => {
    const runtime: Collector = {
      name: 'containerd',
      run: async (ctx) => {
        ctx.sink.push([{ source: 'containerd', entity: C1, low: ['image_name:app'], orchestrator: [], high: [`container_id:${'e'.repeat(64)}`], standard: [] }]);
        ctx.sink.push([deletionTagInfo('containerd', C1)]);
        ctx.markSynced();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      },
      explain: (entity) => (entity === C1 ? ['its task exited with code 137'] : []),
      health: () => ({ healthy: true, message: 'ok' }),
    };
    tagger = new LocalTagger({ collectors: [runtime] });
    await tagger.start();
    await tagger.ready();
    const report = explainEntity(tagger, `containerd://${'e'.repeat(64)}`);
    expect(report.known).toBe(true);
    expect(report.sources.containerd?.low).toEqual(['image_name:app']);
    expect(report.pendingDelete?.sources).toEqual(['containerd']);
    expect(report.collectors[0]?.notes).toEqual(['its task exited with code 137']);
    expect(report.notes).toContain('containerd: its task exited with code 137');
    expect(explainEntity(tagger, `container_id://${'f'.repeat(64)}`).notes).toContain('not in the store');
  });
});
