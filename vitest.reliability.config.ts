import { defineConfig } from 'vitest/config';

// The reliability suite (`npm run test:reliability`): fault injection and soaks against real
// engines and fake servers. Files share daemons (one restarts dockerd) and measure time and heap,
// so they run one at a time in a fork each; the fork gets --expose-gc so soaks can measure a
// settled heap. Timeouts are generous: a soak runs for minutes, and hooks wait out recoveries.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
