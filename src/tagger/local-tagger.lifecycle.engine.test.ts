/**
 * The lifecycle promise against REAL engines (dockerd and Podman, TAGGER_TEST_DOCKER_HOST /
 * TAGGER_TEST_PODMAN_HOST; skipped when unset unless TAGGER_REQUIRE_ENGINES=1): a killed container
 * keeps its tags through the grace, then loses them whoever queries (each query fetches: misses are
 * not cached here), and gets them back only when it starts again.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../collectors/docker/client.js';
import { DockerCollector } from '../collectors/docker/collector.js';
import { LocalTagger } from './local-tagger.js';
import { until } from '../test-support/wait.js';

const run = promisify(execFile);
const REQUIRED = process.env.TAGGER_REQUIRE_ENGINES === '1';
const GRACE_MS = 1_500;
const RUN_ID = randomBytes(4).toString('hex');

const ENGINES = [
  { name: 'docker', host: process.env.TAGGER_TEST_DOCKER_HOST, image: process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest' },
  { name: 'podman', host: process.env.TAGGER_TEST_PODMAN_HOST, image: process.env.TAGGER_TEST_PODMAN_IMAGE ?? 'localhost/busybox:latest' },
];

for (const engine of ENGINES) {
  if (!engine.host && REQUIRED) {
    describe(`lifecycle on ${engine.name}`, () => {
      it('is required (TAGGER_REQUIRE_ENGINES=1)', () => {
        throw new Error(`TAGGER_REQUIRE_ENGINES=1 but the ${engine.name} host variable is unset: run scripts/engines/start.sh and source /tmp/tagger-engines/env.sh`);
      });
    });
    continue;
  }
  describe.skipIf(!engine.host)(`lifecycle on real ${engine.name}`, () => {
    const host = engine.host ?? '';
    const name = `lifecycle-core-${engine.name}-${RUN_ID}`;
    const cli = async (...args: string[]): Promise<string> => (await run('docker', args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 30_000 })).stdout.trim();
    let tagger: LocalTagger | undefined;

    afterAll(async () => {
      await tagger?.stop();
      await cli('rm', '-f', name).catch(() => '');
    });

    it('a killed container goes after its grace, stays gone under queries, and comes back on start', async () => {
      tagger = new LocalTagger({ collectors: [new DockerCollector({ client: new DockerClient(host) })], deletionGraceMs: GRACE_MS, pruneIntervalMs: 100, notFoundTtlMs: 0 });
      await tagger.start();
      await tagger.ready();
      const id = await cli('run', '-d', '--network', 'none', '--name', name, engine.image, 'sleep', '600');
      const entity = `container_id://${id}`;
      const t = tagger;
      await until(() => t.tagSync(entity, 'high').includes(`container_name:${name}`), 10_000, 'tags after start');
      // Before the kill: no die event can precede it, so the grace ends after this plus GRACE_MS.
      const killedAt = Date.now();
      await cli('kill', name);
      await until(() => t.store.getEntity(entity)?.pendingDelete !== undefined, 10_000, 'the die event');
      // Through the grace the tags stay, whoever queries.
      expect(await t.tag(entity, 'high')).toContain(`container_name:${name}`);
      await until(() => t.store.tombstone(entity) !== undefined, 10_000, 'the prune after the grace');
      expect((t.store.tombstone(entity)?.removedAt ?? 0) - killedAt).toBeGreaterThanOrEqual(GRACE_MS);
      const inspectsBefore = t.counters.fetches.get('docker:not_found') ?? 0;
      // Queries fetch (an inspect that finds it exited) and must not revive it.
      for (let i = 0; i < 5; i++) {
        expect(await t.tag(entity, 'high')).toEqual([]);
        expect(t.tagSync(entity, 'high')).toEqual([]);
      }
      expect(t.counters.fetches.get('docker:not_found') ?? 0).toBeGreaterThan(inspectsBefore);
      t.prune();
      expect(await t.tag(entity, 'high')).toEqual([]);
      // Evidence of life: it starts again.
      await cli('start', name);
      await until(() => t.tagSync(entity, 'high').includes(`container_name:${name}`), 10_000, 'tags after restart');
    });
  });
}
