/**
 * The collector tests' harness: a fake daemon (fake-docker.ts) serving the recorded fixtures, a
 * DockerCollector on it feeding a LocalTagger with a manual clock, and a replay helper.
 */
import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { ManualClock } from '../../../clock.js';
import { LocalTagger } from '../../../tagger/local-tagger.js';
import { until as waitUntil } from '../../../test-support/wait.js';
import { DockerClient } from '../client.js';
import { DockerCollector, type DockerCollectorOptions } from '../collector.js';
import { FakeDocker } from './fake-docker.js';

const TESTDATA = new URL('../testdata/', import.meta.url);
export const text = (name: string): string => readFileSync(new URL(name, TESTDATA), 'utf8');
export const json = (name: string): Record<string, unknown> => JSON.parse(text(name)) as Record<string, unknown>;
export const lines = (name: string): string[] => text(name).split('\n').filter((l) => l.trim() !== '');

export const GRACE = 60_000;
export const T1 = '71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64';
export const E2E = '3709594bc00389ae5638b0851ea7e297c3fd6d9cc73a10518fceb5794510061f';
export const PODMAN_E2E = 'c1c31206b36e5f51d91ef15664f63de5b402ebbce4b1b969b4dc9a33c28ce752';
export const BUSYBOX_LOW = ['docker_image:local/busybox:latest', 'env:prod', 'image_id:sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c', 'image_name:local/busybox', 'image_tag:latest', 'short_image:busybox'];

export interface Harness {
  fake: FakeDocker;
  collector: DockerCollector;
  tagger: LocalTagger;
  clock: ManualClock;
  /** Applies each line to the fake's table, sends it, and waits until the collector has handled it. */
  replay(eventLines: readonly string[]): Promise<void>;
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

export async function harness(options: { template?: string; start?: boolean; collector?: Partial<DockerCollectorOptions>; setup?: (fake: FakeDocker) => void } = {}): Promise<Harness> {
  const fake = new FakeDocker(json(options.template ?? 'captures/dockerd-20.10/e2e_inspect.json'));
  options.setup?.(fake);
  if (options.start !== false) await fake.start();
  const collector = new DockerCollector({ client: new DockerClient(fake.host), backoff: { initialMs: 20, maxMs: 100 }, ...options.collector });
  const clock = new ManualClock(Date.now());
  const tagger = new LocalTagger({ collectors: [collector], clock, deletionGraceMs: GRACE, pruneIntervalMs: 3_600_000 });
  cleanups.push(async () => {
    await tagger.stop();
    await fake.close();
  });
  await tagger.start();
  const replay = async (eventLines: readonly string[]): Promise<void> => {
    for (const line of eventLines) {
      const before = collector.counters.events;
      fake.applyEvent(line);
      fake.write(`${line}\n`);
      await until(() => collector.counters.events > before);
      await collector.whenIdle();
    }
  };
  return { fake, collector, tagger, clock, replay };
}

export const until = (check: () => boolean, timeoutMs = 5_000): Promise<void> => waitUntil(check, timeoutMs);

/** One event line as dockerd writes it. */
export const eventLine = (id: string, action: string, attrs: Record<string, string> = {}): string =>
  JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id, Attributes: attrs }, scope: 'local', time: 1795843303, timeNano: 1795843303000000000 });
