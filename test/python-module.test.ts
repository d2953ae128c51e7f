/**
 * `npm test` covers the Python module: runs its unittest suite (fake daemons, dead daemons), then
 * its live tests against the real IPC server, then one lookup against that server once stopped.
 * Without python3 these tests are skipped, except in CI (CI=true), where that is a failure.
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { C1, info, startHarness, tempDir, type Harness } from '../src/ipc/test-support/harness.js';

const PYTHON_DIR = fileURLToPath(new URL('../python/', import.meta.url));
const ROOT = join(PYTHON_DIR, '..');
/** Tests in python/test_tagger.py, of which LIVE_TESTS need TAGGER_LIVE_SOCKET. Update with the file. */
const ALL_TESTS = 31;
const LIVE_TESTS = 4;

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) {
  if (process.env.CI === 'true') throw new Error('python3 is required in CI to test python/tagger.py');
  process.stderr.write('python-module.test.ts: python3 not found, skipping the Python module tests\n');
}

interface Run {
  code: number;
  output: string;
}

/** Async, not spawnSync: the server under test runs in this process and must keep answering. */
function python(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile('python3', args, { ...options, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The environment without any TAGGER_* variable of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PYTHONDONTWRITEBYTECODE: '1' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGGER_')) env[k] = v;
  return { ...env, ...extra };
}

let h: Harness | undefined;
let temp: { cleanup: () => void } | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  temp?.cleanup();
  temp = undefined;
});

describe.skipIf(!hasPython)('python/tagger.py', () => {
  it('passes its unittest suite, the live tests skipped without a daemon', async () => {
    const run = await python(['-m', 'unittest', 'discover', '-s', 'python', '-v'], { cwd: ROOT, env: cleanEnv() });
    expect(run.output).toMatch(new RegExp(`\\nRan ${ALL_TESTS} tests? in `));
    expect(run.output).toMatch(new RegExp(`\\nOK \\(skipped=${LIVE_TESTS}\\)`));
    expect(run.code, run.output).toBe(0);
  });

  it('gets tags from the real IPC server, and [] from it once stopped', async () => {
    const dir = tempDir();
    temp = dir;
    // The server creates the token file itself, as `tagger run` does.
    const tokenFile = join(dir.dir, 'auth_token');
    h = await startHarness({ dir: dir.dir, token: undefined, authTokenFile: tokenFile });
    h.tagger.store.processTagInfo([
      info(C1, 'docker', ['image_name:redis', 'short_image:redis'], ['pod_name:cache-0'], [`container_id:${'1'.repeat(64)}`], []),
    ]);
    const live = cleanEnv({
      TAGGER_LIVE_SOCKET: h.socket,
      TAGGER_LIVE_TOKEN_FILE: tokenFile,
      TAGGER_LIVE_ENTITY: C1,
      TAGGER_LIVE_EXPECT_TAG: 'image_name:redis',
    });
    const run = await python(['-m', 'unittest', '-v', 'test_tagger.LiveDaemonTest'], { cwd: PYTHON_DIR, env: live });
    expect(run.output).toMatch(new RegExp(`\\nRan ${LIVE_TESTS} tests? in `));
    expect(run.output).not.toContain('skipped');
    expect(run.code, run.output).toBe(0);

    // Each level, as the module returns it, written by hand from the TagInfo above.
    const script = 'import json, tagger; print(json.dumps([tagger.tag(e, c) for e in [E] for c in (tagger.LOW, tagger.ORCHESTRATOR, tagger.HIGH)]))'.replace(
      'E',
      JSON.stringify(C1),
    );
    const env = cleanEnv({ TAGGER_SOCKET: h.socket, TAGGER_AUTH_TOKEN_FILE: tokenFile, PYTHONPATH: PYTHON_DIR });
    const up = await python(['-c', script], { cwd: ROOT, env });
    expect(up.code, up.output).toBe(0);
    expect(JSON.parse(up.output)).toEqual([
      ['image_name:redis', 'short_image:redis'],
      ['image_name:redis', 'short_image:redis', 'pod_name:cache-0'],
      ['image_name:redis', 'short_image:redis', 'pod_name:cache-0', `container_id:${'1'.repeat(64)}`],
    ]);

    await h.close();
    h = undefined;
    const started = Date.now();
    const down = await python(['-c', script], { cwd: ROOT, env });
    expect(down.code, down.output).toBe(0);
    expect(JSON.parse(down.output)).toEqual([[], [], []]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
