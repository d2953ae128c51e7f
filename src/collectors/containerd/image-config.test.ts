import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostPlatform, manifestStep } from './image-config.js';

const MANIFEST = readFileSync(new URL('./testdata/oci-manifest-busybox.json', import.meta.url));
const CONFIG = 'sha256:d85eec6fc3934590b85916053508450ea9c9f0eb3470a411eeb3d25273c50bfb';
const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** An OCI index in the shape registries serve (made here: digests are placeholders of the right form). */
function index(entries: Array<{ digest: string; platform?: Record<string, string> }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: entries.map((e) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500, ...e })),
    }),
  );
}
const d = (c: string): string => `sha256:${c.repeat(64)}`;

describe('manifestStep', () => {
  it("gives a real manifest's config digest, with or without the descriptor's media type", () => {
    expect(manifestStep(MANIFEST, 'application/vnd.oci.image.manifest.v1+json', AMD64)).toEqual({ kind: 'config', digest: CONFIG });
    expect(manifestStep(MANIFEST, '', AMD64)).toEqual({ kind: 'config', digest: CONFIG });
  });

  it("orders an index's manifests by the platform: exact variant first, other platforms and attestations left out", () => {
    const blob = index([
      { digest: d('a'), platform: { os: 'linux', architecture: 'amd64' } },
      { digest: d('b'), platform: { os: 'linux', architecture: 'arm64' } },
      { digest: d('c'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: d('e'), platform: { os: 'unknown', architecture: 'unknown' } },
    ]);
    expect(manifestStep(blob, 'application/vnd.oci.image.index.v1+json', ARM64)).toEqual({
      kind: 'index',
      manifests: [
        { digest: d('c'), mediaType: 'application/vnd.oci.image.manifest.v1+json' },
        { digest: d('b'), mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      ],
    });
    expect(manifestStep(blob, '', AMD64)).toMatchObject({ kind: 'index', manifests: [{ digest: d('a') }] });
    expect(manifestStep(blob, '', { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });

  it('refuses what is neither: not JSON, no config digest, a malformed digest', () => {
    expect(manifestStep(Buffer.from('not json'), '', AMD64)).toBeUndefined();
    expect(manifestStep(Buffer.from('{"schemaVersion":2}'), '', AMD64)).toBeUndefined();
    expect(manifestStep(Buffer.from('{"config":{"digest":"../../etc"}}'), '', AMD64)).toBeUndefined();
    expect(manifestStep(Buffer.from('[1,2]'), '', AMD64)).toBeUndefined();
  });

  it("names Node's architectures as OCI does", () => {
    expect(hostPlatform('x64', 'linux')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64', 'linux')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });
});
