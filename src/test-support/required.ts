/**
 * Whether a test that cannot run here must fail instead of skipping: in CI (CI=true) and with
 * TAGGER_REQUIRE_ENGINES=1 a missing engine, tool or build is a broken setup, not a pass.
 */
export const REQUIRE_ALL = process.env.CI === 'true' || process.env.TAGGER_REQUIRE_ENGINES === '1';

/** The commands that start the test engines and load their variables (scripts/engines/start.sh). */
export const START_ENGINES_HINT = 'start them with `sudo bash scripts/engines/start.sh` (or `... start.sh docker`) and `. /tmp/tagger-engines/env.sh`';
