import { defineConfig } from 'vitest/config';

// Engine tests (real dockerd, Podman, containerd) are slow to set up and share daemons, so files
// run one at a time in a fork each; unit files are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The reliability suite runs on its own (npm run test:reliability, vitest.reliability.config.ts).
    exclude: ['**/node_modules/**', 'test/reliability/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
