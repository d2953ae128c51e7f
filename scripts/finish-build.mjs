// After tsc: copy the non-TypeScript assets that src/ modules load at run time (.proto files),
// and make the CLI executable. tsc copies neither.
import { chmodSync, cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSET = /\.(proto|json)$/;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'testdata' || name === 'test-support') continue;
    if (statSync(path).isDirectory()) copyAssets(path);
    else if (ASSET.test(name)) cpSync(path, join('dist', relative('src', path)));
  }
}
copyAssets('src');
if (existsSync('dist/cli/main.js')) chmodSync('dist/cli/main.js', 0o755);
