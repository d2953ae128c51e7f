/**
 * The real engines the Docker collector's engine tests run against: dockerd
 * (TAGGER_TEST_DOCKER_HOST) and Podman's Docker-compatible service (TAGGER_TEST_PODMAN_HOST), as
 * started by scripts/engines/start.sh. A test file skips an engine whose variable is unset,
 * unless TAGGER_REQUIRE_ENGINES=1, in which case it fails saying how to start it.
 */
import { describe, it } from 'vitest';

export const REQUIRED = process.env.TAGGER_REQUIRE_ENGINES === '1';

export interface Engine {
  readonly name: 'docker' | 'podman';
  readonly host: string | undefined;
  readonly image: string | undefined;
  /** The image as the engine reports it in Config.Image. */
  readonly reportedImage: (image: string) => string;
}

export const ENGINES: Engine[] = [
  { name: 'docker', host: process.env.TAGGER_TEST_DOCKER_HOST, image: process.env.TAGGER_TEST_DOCKER_IMAGE ?? 'local/busybox:latest', reportedImage: (i) => i },
  { name: 'podman', host: process.env.TAGGER_TEST_PODMAN_HOST, image: process.env.TAGGER_TEST_PODMAN_IMAGE ?? 'localhost/busybox:latest', reportedImage: (i) => i },
];

/** False (and a failing test) when the engine is required but absent; true when it can run. */
export function engineAvailable(engine: Engine): boolean {
  if (engine.host) return true;
  if (REQUIRED) {
    describe(`${engine.name} engine`, () => {
      it('is required (TAGGER_REQUIRE_ENGINES=1)', () => {
        throw new Error(`TAGGER_REQUIRE_ENGINES=1 but the ${engine.name} host variable is unset: run scripts/engines/start.sh and source /tmp/tagger-engines/env.sh`);
      });
    });
  }
  return false;
}
