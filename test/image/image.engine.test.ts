/**
 * The container image, built from the real Dockerfile (scripts/image/build.sh, as .ci/run does)
 * and run as the contract's "Install and run" says: the engine's socket mounted at
 * /var/run/docker.sock, the socket folder a host directory, `--pid host`. It must tag its sibling
 * containers, serve those tags to the host through the mounted folder, resolve a sibling's PID to
 * its container from inside, pass its own HEALTHCHECK, and stop cleanly on `docker stop`.
 *
 * The image comes from TAGGER_TEST_DOCKER_TAGGER_IMAGE / TAGGER_TEST_PODMAN_TAGGER_IMAGE; without
 * them the engine is skipped, except in CI (CI=true or TAGGER_REQUIRE_ENGINES=1), where that fails.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcClient } from '../../src/ipc/client.js';
import type { OriginBody } from '../../src/ipc/protocol.js';
import { REQUIRE_ALL, START_ENGINES_HINT } from '../../src/test-support/required.js';
import { until, waitForValue } from '../../src/test-support/wait.js';

const execFileAsync = promisify(execFile);
const RUN_ID = randomBytes(4).toString('hex');
const LABEL = `tagger.test=image-${RUN_ID}`;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const BUILD_HINT = 'build it with `bash scripts/image/build.sh docker` (or `podman`, with PODMAN_FLAGS) and export its name';

interface ImageEngine {
  readonly name: 'docker' | 'podman';
  readonly host: string | undefined;
  readonly taggerImage: string | undefined;
  readonly imageVariable: string;
  readonly siblingImage: string;
  /** Whether the engine runs HEALTHCHECKs itself (Podman needs systemd timers for that). */
  readonly runsHealthchecks: boolean;
  /** How the engine's own CLI prints the image's HEALTHCHECK as JSON ({Test: [...]}). */
  readonly healthcheckQuery: (image: string) => readonly [string, string[]];
}

const ENGINES: ImageEngine[] = [
  {
    name: 'docker',
    host: process.env.TAGGER_TEST_DOCKER_HOST,
    taggerImage: process.env.TAGGER_TEST_DOCKER_TAGGER_IMAGE,
    imageVariable: 'TAGGER_TEST_DOCKER_TAGGER_IMAGE',
    siblingImage: process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest',
    runsHealthchecks: true,
    healthcheckQuery: (image) => ['docker', ['image', 'inspect', '--format', '{{json .Config.Healthcheck}}', image]],
  },
  {
    name: 'podman',
    host: process.env.TAGGER_TEST_PODMAN_HOST,
    taggerImage: process.env.TAGGER_TEST_PODMAN_TAGGER_IMAGE,
    imageVariable: 'TAGGER_TEST_PODMAN_TAGGER_IMAGE',
    siblingImage: process.env.TAGGER_TEST_PODMAN_IMAGE ?? 'localhost/busybox:latest',
    runsHealthchecks: false,
    // Podman's Docker-compatible inspect leaves Healthcheck out of Config; its own CLI has it.
    healthcheckQuery: (image) => ['podman', ['--remote', '--url', process.env.TAGGER_TEST_PODMAN_HOST ?? '', 'image', 'inspect', '--format', '{{json .HealthCheck}}', image]],
  },
];

interface ImageConfig {
  readonly Entrypoint: string[] | null;
  readonly Cmd: string[] | null;
  readonly User: string;
}

interface Healthcheck {
  readonly Test?: string[];
}

/** A GET on the daemon's socket from inside its container, with the token it wrote there. */
const IN_CONTAINER_GET = `
const http = require('node:http');
const token = require('node:fs').readFileSync('/var/run/tagger/auth_token', 'utf8').trim();
http.get({ socketPath: '/var/run/tagger/tagger.sock', path: process.argv[1], headers: { authorization: 'Bearer ' + token } }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => { process.stdout.write(body); process.exit(res.statusCode === 200 ? 0 : 1); });
}).on('error', (e) => { console.error(e.message); process.exit(1); });
`;

for (const engine of ENGINES) {
  const missing = !engine.host ? `the ${engine.name} engine (TAGGER_TEST_${engine.name.toUpperCase()}_HOST)` : !engine.taggerImage ? `the tagger image (${engine.imageVariable})` : undefined;
  if (missing) {
    if (REQUIRE_ALL) {
      describe(`tagger image on ${engine.name}`, () => {
        it('is required in CI', () => {
          throw new Error(`${missing} is unset: ${engine.host ? BUILD_HINT : START_ENGINES_HINT}`);
        });
      });
    }
    continue;
  }
  const host = engine.host ?? '';
  const image = engine.taggerImage ?? '';
  const engineSocket = host.replace(/^unix:\/\//, '');

  describe(`tagger image on real ${engine.name}`, () => {
    const cli = async (...args: string[]): Promise<string> => (await execFileAsync('docker', args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 60_000 })).stdout.trim();
    const healthcheck = async (): Promise<Healthcheck | null> => {
      const [command, args] = engine.healthcheckQuery(image);
      return JSON.parse((await execFileAsync(command, args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 60_000 })).stdout) as Healthcheck | null;
    };
    const name = (what: string): string => `image-${engine.name}-${RUN_ID}-${what}`;
    const sibling = (what: string): Promise<string> => cli('run', '-d', '--network', 'none', '--label', LABEL, '--label', 'team=shipping', '--name', name(what), engine.siblingImage, 'sleep', '600');
    let socketDir = '';
    let daemon = '';
    let client: IpcClient | undefined;

    beforeAll(() => {
      socketDir = mkdtempSync(join(tmpdir(), 'tagger-image-'));
    });

    afterAll(async () => {
      const ids = (await cli('ps', '-aq', '--filter', `label=${LABEL}`).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await cli('rm', '-f', ...ids).catch(() => '');
      rmSync(socketDir, { recursive: true, force: true });
    });

    it('ships what the contract says and nothing for development', async () => {
      const config = JSON.parse(await cli('image', 'inspect', '--format', '{{json .Config}}', image)) as ImageConfig;
      expect(config.Entrypoint).toEqual(['tagger']);
      expect(config.Cmd).toEqual(['run']);
      expect(['', 'root', '0']).toContain(config.User);
      expect((await healthcheck())?.Test?.[0]).toBe('CMD');
      // Listed by the image's own busybox: no dev packages, no source maps anywhere, none of our
      // tests, test data or TypeScript sources (third-party packages' own files are theirs).
      const listing = await cli('run', '--rm', '--network', 'none', '--label', LABEL, '--entrypoint', 'sh', image, '-c',
        'ls /opt/tagger/node_modules; find /opt/tagger -name "*.map"; find /opt/tagger/dist -name "*.test.*" -o -name testdata -o -name test-support -o -name "*.ts" ! -name "*.d.ts"');
      const entries = listing.split('\n');
      for (const devOnly of ['typescript', 'vitest', 'eslint', 'fast-check', 'kubernetes-models']) expect(entries).not.toContain(devOnly);
      expect(entries.filter((e) => e.startsWith('/'))).toEqual([]);
      expect(entries).toContain('pino');
      expect(await cli('run', '--rm', '--network', 'none', '--label', LABEL, image, 'version')).toContain(VERSION);
    });

    it('tags its siblings and serves the host through the mounted socket folder', async () => {
      const before = await sibling('before');
      daemon = await cli('run', '-d', '--label', LABEL, '--name', name('tagger'), '--network', 'none', '--pid', 'host',
        ...(engine.runsHealthchecks ? ['--health-interval', '1s', '--health-start-period', '0s'] : []),
        '-v', `${engineSocket}:/var/run/docker.sock:ro`, '-v', `${socketDir}:/var/run/tagger`, image);
      const socket = join(socketDir, 'tagger.sock');
      await until(() => existsSync(socket) && existsSync(join(socketDir, 'auth_token')), 30_000, 'the socket and token in the host folder');
      const ipc = new IpcClient({ socket, tokenFile: join(socketDir, 'auth_token') });
      client = ipc;
      await until(async () => (await ipc.health().catch(() => ({ healthy: false }))).healthy, 30_000, 'GET /healthz 200 through the host folder');
      const tagsOf = async (id: string): Promise<readonly string[]> => (await ipc.getTags(`container_id://${id}`, 'high')).tags;
      await until(async () => (await tagsOf(before)).includes(`container_name:${name('before')}`), 20_000, 'tags of a sibling started before the daemon');
      expect(await tagsOf(before)).toContain(`container_id:${before}`);
      // Started after: seen through the events stream.
      const after = await sibling('after');
      await until(async () => (await tagsOf(after)).includes(`container_name:${name('after')}`), 20_000, 'tags of a sibling started after the daemon');
    });

    it('resolves a sibling from its host PID, asked from inside the container', async () => {
      expect(daemon, 'the daemon container (previous test)').not.toBe('');
      const id = await cli('inspect', '--format', '{{.Id}}', name('before'));
      const pid = Number(await cli('inspect', '--format', '{{.State.Pid}}', name('before')));
      expect(pid).toBeGreaterThan(1);
      const origin = JSON.parse(await cli('exec', daemon, 'node', '-e', IN_CONTAINER_GET, `/v1/origin?pid=${pid}&cardinality=high`)) as OriginBody;
      expect(origin.container_id).toBe(id);
      expect(origin.entity).toBe(`container_id://${id}`);
      expect(origin.tags).toContain(`container_name:${name('before')}`);
    });

    it('passes its own HEALTHCHECK', async () => {
      expect(daemon, 'the daemon container').not.toBe('');
      const [, ...command] = (await healthcheck())?.Test ?? [];
      expect(command.length).toBeGreaterThan(0);
      // The command itself, in the running container: exit 0 (execFile rejects otherwise).
      await cli('exec', daemon, ...command);
      if (engine.runsHealthchecks) {
        await waitForValue(async () => (await cli('inspect', '--format', '{{.State.Health.Status}}', daemon)) === 'healthy', 'the engine to report healthy', 20_000, 200);
      }
    });

    it('run as a non-root user, it is unhealthy with the EACCES on the socket, not "not detected"', async () => {
      // What a `USER node` image would meet: the engine's socket is root's (0660 or 0600).
      const unprivileged = await cli('run', '-d', '--label', LABEL, '--name', name('nobody'), '--network', 'none', '--user', '65534:65534',
        '-e', 'TAGGER_IPC_SOCKET=/tmp/tagger.sock', '-e', 'TAGGER_IPC_AUTH_TOKEN_FILE=/tmp/auth_token',
        '-v', `${engineSocket}:/var/run/docker.sock:ro`, image);
      const healthz = async (): Promise<{ code: number; body: string }> => {
        const script = "require('node:http').get({ socketPath: '/tmp/tagger.sock', path: '/healthz' }, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { process.stdout.write(r.statusCode + ' ' + b); }); }).on('error', () => process.stdout.write('0 '))";
        const out = await cli('exec', unprivileged, 'node', '-e', script);
        const space = out.indexOf(' ');
        return { code: Number(out.slice(0, space)), body: out.slice(space + 1) };
      };
      const answer = await waitForValue(async () => {
        const h = await healthz();
        return h.code !== 0 && h.body.includes('access denied') ? h : undefined;
      }, 'a /healthz answer naming the refusal', 30_000, 200);
      expect(answer.code).toBe(503);
      const body = JSON.parse(answer.body) as { collectors: Record<string, { healthy: boolean; message: string }> };
      expect(body.collectors.docker?.healthy).toBe(false);
      expect(body.collectors.docker?.message).toMatch(/^access denied: .*EACCES/);
      await cli('rm', '-f', unprivileged);
    });

    it('stops cleanly on docker stop: exit 0 within 10 s', async () => {
      expect(daemon, 'the daemon container').not.toBe('');
      await client?.close();
      const started = Date.now();
      await cli('stop', '--time', '10', daemon);
      const stopMs = Date.now() - started;
      expect(Number(await cli('inspect', '--format', '{{.State.ExitCode}}', daemon))).toBe(0);
      expect(stopMs).toBeLessThan(10_000);
      expect(existsSync(join(socketDir, 'tagger.sock')), 'the socket is removed on a clean stop').toBe(false);
    });
  });
}
