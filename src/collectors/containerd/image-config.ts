/**
 * Which blob names an image's config, read from the blobs containerd keeps. An image's target is
 * a manifest (its `config.digest` is the answer) or an index / manifest list whose entries name one
 * manifest per platform. The Agent's `image_id` on containerd is that config digest for the host's
 * platform (containerd's `Image.Config` with its default platform matcher), the same value Docker
 * calls the image ID. Pure: the client reads the blobs.
 */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

export type ManifestStep =
  /** A manifest: its config's digest. */
  | { readonly kind: 'config'; readonly digest: string }
  /** An index: the manifests to read next, best platform match first. */
  | { readonly kind: 'index'; readonly manifests: ReadonlyArray<{ readonly digest: string; readonly mediaType: string }> };

const INDEX_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MANIFEST_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Node's process.arch as the OCI architecture name. */
export function hostPlatform(arch: string = process.arch, os: string = process.platform): Platform {
  const architecture = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
  return { os: os === 'win32' ? 'windows' : os, architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

/**
 * One step through a manifest or index blob; undefined when the blob is neither (or names no
 * usable digest). `mediaType` is the descriptor's; the blob's own `mediaType` field or its shape
 * decides when the descriptor has none.
 */
export function manifestStep(blob: Uint8Array, mediaType: string, platform: Platform): ManifestStep | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(doc)) return undefined;
  const type = mediaType || (typeof doc.mediaType === 'string' ? doc.mediaType : '');
  const isIndex = INDEX_TYPES.has(type) || (!MANIFEST_TYPES.has(type) && Array.isArray(doc.manifests));
  if (isIndex) {
    const entries = Array.isArray(doc.manifests) ? doc.manifests.filter(isObject) : [];
    const matching = entries
      .map((entry) => ({ entry, rank: platformRank(entry.platform, platform) }))
      .filter((m) => m.rank >= 0 && typeof m.entry.digest === 'string' && DIGEST.test(m.entry.digest))
      .sort((a, b) => a.rank - b.rank)
      .map(({ entry }) => ({ digest: entry.digest as string, mediaType: typeof entry.mediaType === 'string' ? entry.mediaType : '' }));
    return matching.length > 0 ? { kind: 'index', manifests: matching } : undefined;
  }
  const config = doc.config;
  if (isObject(config) && typeof config.digest === 'string' && DIGEST.test(config.digest)) return { kind: 'config', digest: config.digest };
  return undefined;
}

/**
 * 0 for an exact match, 1 for the right OS and architecture with another or no variant; -1 for
 * none. An entry without a platform matches (single-platform indexes often omit it).
 */
function platformRank(value: unknown, want: Platform): number {
  if (!isObject(value)) return 1;
  if (value.os !== want.os || value.architecture !== want.architecture) return -1;
  const variant = typeof value.variant === 'string' ? value.variant : undefined;
  return variant === want.variant ? 0 : 1;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
