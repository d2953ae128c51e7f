/**
 * The Docker collector against REAL engines: dockerd (TAGGER_TEST_DOCKER_HOST) and Podman's
 * Docker-compatible service (TAGGER_TEST_PODMAN_HOST), as started by scripts/engines/start.sh.
 * Skipped when a variable is unset, unless TAGGER_REQUIRE_ENGINES=1. Containers are made with the
 * docker CLI (DOCKER_HOST set), `--network none`, labelled with this run's ID, removed in afterAll.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRules } from '../../rules.js';
import { LocalTagger } from '../../tagger/local-tagger.js';
import { DockerClient } from './client.js';
import { DockerCollector } from './collector.js';
import { until as waitUntil } from '../../test-support/wait.js';
import { ENGINES, REQUIRED, engineAvailable } from './test-support/engines.js';

const run = promisify(execFile);
const GRACE_MS = 1_500;
const RUN_ID = randomBytes(4).toString('hex');
const RUN_LABEL = 'tagger.test.run';

for (const engine of ENGINES) {
  if (!engineAvailable(engine) && REQUIRED) continue;
  describe.skipIf(!engine.host)(`docker collector on real ${engine.name}`, () => {
    const host = engine.host ?? '';
    const image = engine.image ?? '';
    const label = `${RUN_LABEL}=${engine.name}-${RUN_ID}`;
    let collector: DockerCollector;
    let tagger: LocalTagger;

    const cli = async (...args: string[]): Promise<string> => {
      const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 30_000 });
      return stdout.trim();
    };
    const runContainer = async (name: string, extra: string[] = []): Promise<string> =>
      cli('run', '-d', '--network', 'none', '--name', name, '--label', label, ...extra, image, 'sleep', '600');
    const entity = (id: string): string => `container_id://${id}`;

    beforeAll(async () => {
      collector = new DockerCollector({
        client: new DockerClient(host),
        labelRules: compileRules({ [RUN_LABEL]: 'test_run', team: 'team' }, 'label', 'docker.labels_as_tags'),
        envRules: compileRules({ app_tier: 'tier' }, 'env', 'docker.env_as_tags'),
      });
      tagger = new LocalTagger({ collectors: [collector], deletionGraceMs: GRACE_MS, pruneIntervalMs: 100 });
      await tagger.start();
      await tagger.ready();
      await until(() => collector.health().healthy, 10_000);
    });

    afterAll(async () => {
      await tagger?.stop();
      const ids = await cli('ps', '-aq', '--filter', `label=${label}`).catch(() => '');
      if (ids) await cli('rm', '-f', ...ids.split(/\s+/)).catch(() => '');
    });

    it('labels and env become tags', async () => {
      const name = `tt-${RUN_ID}-tags`;
      const id = await runContainer(name, ['--label', 'team=core', '--label', 'com.datadoghq.tags.service=web', '-e', 'DD_ENV=prod', '-e', 'DD_VERSION=1.0', '-e', 'APP_TIER=backend', '-e', 'SECRET=hunter2']);
      // The start event tags it at once; the inspect behind it adds the env-based tags.
      await until(() => tagger.tagSync(entity(id), 'high').includes(`container_name:${name}`) && tagger.tagSync(entity(id), 'low').includes('env:prod'));
      const ref = engine.reportedImage(image);
      const slash = ref.lastIndexOf('/');
      const tags = tagger.tagSync(entity(id), 'high');
      // image_id is the engine's own image ID (sha256:<64 hex>), checked by shape.
      expect(tags.filter((t) => /^image_id:sha256:[0-9a-f]{64}$/.test(t))).toHaveLength(1);
      expect(tags.filter((t) => !t.startsWith('image_id:')).sort()).toEqual(
        [
          `container_id:${id}`,
          `container_name:${name}`,
          `docker_image:${ref}`,
          'env:prod',
          `image_name:${ref.split(':')[0]}`,
          'image_tag:latest',
          'service:web',
          `short_image:${ref.slice(slash + 1).split(':')[0]}`,
          'team:core',
          `test_run:${engine.name}-${RUN_ID}`,
          'tier:backend',
          'version:1.0',
        ].sort(),
      );
      expect(tagger.standard(entity(id))).toEqual(['env:prod', 'service:web', 'version:1.0']);
    });

    it('rename updates container_name; restart keeps the tags', async () => {
      const id = await runContainer(`tt-${RUN_ID}-ren`);
      await until(() => tagger.tagSync(entity(id), 'high').includes(`container_name:tt-${RUN_ID}-ren`));
      await cli('rename', `tt-${RUN_ID}-ren`, `tt-${RUN_ID}-renamed`);
      await until(() => tagger.tagSync(entity(id), 'high').includes(`container_name:tt-${RUN_ID}-renamed`));
      expect(tagger.tagSync(entity(id), 'high')).not.toContain(`container_name:tt-${RUN_ID}-ren`);

      await cli('restart', '-t', '0', `tt-${RUN_ID}-renamed`);
      // The restart's start cancels its die's delete; let the events arrive, then check.
      await until(() => tagger.getEntity(entity(id))?.pendingDelete === undefined && collector.counters.events > 0);
      await sleep(GRACE_MS + 500);
      expect(tagger.getEntity(entity(id))?.pendingDelete).toBeUndefined();
      expect(tagger.tagSync(entity(id), 'high')).toContain(`container_name:tt-${RUN_ID}-renamed`);
      expect(tagger.tagSync(entity(id), 'low')).toContain(`test_run:${engine.name}-${RUN_ID}`);
    });

    it('after die the tags stay through the grace, then go', async () => {
      const id = await runContainer(`tt-${RUN_ID}-die`);
      await until(() => tagger.store.has(entity(id)));
      await cli('kill', `tt-${RUN_ID}-die`);
      await until(() => tagger.getEntity(entity(id))?.pendingDelete !== undefined);
      const dead = Date.now();
      expect(tagger.tagSync(entity(id), 'high')).toContain(`container_name:tt-${RUN_ID}-die`);
      await sleep(GRACE_MS / 2);
      expect(tagger.store.has(entity(id))).toBe(true);
      await until(() => !tagger.store.has(entity(id)), GRACE_MS + 3_000);
      expect(Date.now() - dead).toBeGreaterThanOrEqual(GRACE_MS * 0.6);
    });

    it('20 containers started at once are all tagged', async () => {
      const names = Array.from({ length: 20 }, (_, i) => `tt-${RUN_ID}-many-${i}`);
      const ids = await Promise.all(names.map((n) => runContainer(n, ['--label', 'team=many'])));
      await until(() => ids.every((id) => tagger.tagSync(entity(id), 'low').includes('team:many')), 20_000);
      ids.forEach((id, i) => expect(tagger.tagSync(entity(id), 'high')).toContain(`container_name:${names[i]}`));
    }, 40_000);

    // Only dockerd is killed and restarted here; Podman's service restarts are its own story.
    if (engine.name === 'docker') it.skipIf(!process.env.TAGGER_TEST_DOCKERD_RESTART && !REQUIRED)(
      'dockerd SIGKILLed and restarted while containers come and go: the store ends equal to the engine',
      async () => {
        const restartScript = process.env.TAGGER_TEST_DOCKERD_RESTART;
        if (!restartScript) throw new Error('TAGGER_TEST_DOCKERD_RESTART is unset: source /tmp/tagger-engines/env.sh');
        const always = await Promise.all([0, 1].map((i) => runContainer(`tt-${RUN_ID}-always-${i}`, ['--restart', 'always'])));
        const plain = await Promise.all([0, 1].map((i) => runContainer(`tt-${RUN_ID}-plain-${i}`)));
        await until(() => [...always, ...plain].every((id) => tagger.store.has(entity(id))));
        const sessionsBefore = collector.counters.sessions;
        // Kill and restart dockerd while trying to start and remove containers (some attempts fail: fine).
        const churn = (async () => {
          for (let i = 0; i < 6; i++) {
            await runContainer(`tt-${RUN_ID}-churn-${i}`).catch(() => undefined);
            if (i % 2 === 1) await cli('rm', '-f', `tt-${RUN_ID}-churn-${i - 1}`).catch(() => undefined);
            await sleep(150);
          }
        })();
        await run(restartScript, [], { timeout: 60_000 });
        await churn;
        // After recovery: one more comes, one goes.
        const late = await runContainer(`tt-${RUN_ID}-late`);
        await cli('rm', '-f', `tt-${RUN_ID}-always-0`);
        await until(() => collector.health().healthy && collector.counters.sessions > sessionsBefore, 30_000);
        const truth = async (): Promise<string[]> => (await cli('ps', '-q', '--no-trunc', '--filter', `label=${label}`)).split(/\s+/).filter(Boolean).sort();
        const ours = (): string[] =>
          tagger
            .list()
            .filter((e) => e.pendingDelete === undefined && e.tags.low.includes(`test_run:docker-${RUN_ID}`))
            .map((e) => e.id.slice('container_id://'.length))
            .sort();
        let expected: string[] = [];
        await until(async () => {
          expected = await truth();
          return JSON.stringify(ours()) === JSON.stringify(expected);
        }, 30_000);
        expect(ours()).toEqual(expected);
        expect(expected).toContain(late);
        expect(expected).toContain(always[1]);
        expect(expected).not.toContain(always[0]);
        for (const id of plain) expect(expected).not.toContain(id); // SIGKILL took them; no restart policy
      },
      60_000,
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const until = (check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> => waitUntil(check, timeoutMs, 'condition', 20);
