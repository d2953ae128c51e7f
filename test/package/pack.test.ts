/**
 * The package as a user installs it: `npm pack` of this checkout (built), then `npm install
 * ./tagger-<version>.tgz` into an empty folder (dependencies from the npm registry the machine
 * uses), then `npx tagger version` and `npx tagger demo` there. And the tarball holds what the
 * library, CLI and Python module need and nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface PackResult {
  readonly filename: string;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

describe('npm pack, installed into an empty folder', () => {
  let work = '';
  let packed: PackResult | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tagger-pack-'));
    // dist/ as `npm ci` (prepare) built it: --ignore-scripts, so packing does not rewrite dist/
    // under the other test files that run it.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    packed = (JSON.parse(stdout) as PackResult[])[0];
  }, 200_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the library, the CLI and the Python module, and no tests, test data or source maps', () => {
    const files = (packed?.files ?? []).map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'python/tagger.py']));
    expect(files.some((f) => f.startsWith('dist/demo/data/'))).toBe(true);
    expect(files.some((f) => f.endsWith('.proto'))).toBe(true);
    const unwanted = files.filter((f) => /\.map$|\.test\.|testdata|test-support|^src\/|^test\/|^bench\/|test_tagger\.py$/.test(f));
    expect(unwanted).toEqual([]);
  });

  it('installs with npm install ./tagger-*.tgz and runs npx tagger version and demo', async () => {
    expect(packed?.filename).toBe(`tagger-${VERSION}.tgz`);
    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    await run('npm', ['init', '-y'], { cwd: app, timeout: 60_000 });
    await run('npm', ['install', '--no-audit', '--no-fund', join(work, packed?.filename ?? '')], { cwd: app, timeout: 240_000 });
    const version = await run('npx', ['--no-install', 'tagger', 'version'], { cwd: app, timeout: 60_000 });
    expect(version.stdout).toBe(`tagger ${VERSION} (node ${process.version})\n`);
    const demo = await run('npx', ['--no-install', 'tagger', 'demo', '--json'], { cwd: app, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    expect(demo.stdout.length).toBeGreaterThan(0);
    expect(() => JSON.parse(demo.stdout) as unknown).not.toThrow();
    // The library resolves by its package name from the installed copy.
    const lib = await run(process.execPath, ['--input-type=module', '-e', "import('tagger').then((m) => console.log(typeof m.createTagger, typeof m.tagSync))"], { cwd: app, timeout: 60_000 });
    expect(lib.stdout.trim()).toBe('function function');
  }, 400_000);
});
