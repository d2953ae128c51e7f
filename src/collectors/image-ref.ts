/**
 * Image references as runtimes report them (`nginx`, `localhost:5000/team/app:1.2@sha256:…`,
 * Podman's `localhost/busybox:latest`), split into the parts the image tags need. Pure and
 * shared by every runtime collector (Docker, containerd, kubelet), so the four image tags are
 * computed one way everywhere.
 */
import { Runtime } from '../tags.js';
import type { TagList } from '../taglist.js';

export interface ImageRef {
  /** The reference as given. */
  readonly raw: string;
  /** Repository with its registry host, without tag or digest (`gcr.io/team/app`). */
  readonly name: string;
  /** The registry host (`gcr.io`, `localhost:5000`, `localhost`), when the reference names one. */
  readonly registry?: string;
  /** The last path component (`app`). */
  readonly shortName: string;
  readonly tag?: string;
  /** `sha256:…` after an `@`. */
  readonly digest?: string;
}

const IMAGE_ID = /^(sha256:)?[0-9a-f]{64}$/;

/**
 * True for an image ID rather than a name: `sha256:<64 hex>` or 64 bare hex. Docker reports one
 * in Config.Image when a container was created from an ID; it then has no name to tag with.
 */
export function isImageId(ref: string): boolean {
  return IMAGE_ID.test(ref.trim().toLowerCase());
}

/** Splits a reference; undefined for an empty string or an image ID. */
export function parseImageRef(input: string): ImageRef | undefined {
  const raw = input.trim();
  if (raw === '' || isImageId(raw)) return undefined;
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1) || undefined;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  // A colon is a tag separator only after the last slash; before it, it is a registry port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1) || undefined;
    rest = rest.slice(0, colon);
  }
  if (rest === '') return undefined;
  const slash = rest.indexOf('/');
  let registry: string | undefined;
  if (slash > 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
    if (first.includes('.') || first.includes(':') || first === 'localhost') registry = first;
  }
  const shortName = rest.slice(rest.lastIndexOf('/') + 1);
  if (shortName === '') return undefined;
  return { raw, name: rest, shortName, ...(registry ? { registry } : {}), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** How a runtime's image turns into tags (the Agent differs per runtime; see docs/fidelity.md). */
export interface ImageTagRules {
  /** Also `docker_image` (`name[:tag]`, no digest): the Agent adds it on the Docker runtime only. */
  readonly dockerImage: boolean;
  /**
   * The image_tag of a reference that names no tag. The Agent's Docker collector splits
   * Config.Image as it is and adds none; its containerd, kubelet and ECS collectors build the
   * image through workloadmeta's NewContainerImage, which says `latest`, digest-only included.
   */
  readonly untaggedTag: 'latest' | 'none';
}

export const DOCKER_IMAGE_RULES: ImageTagRules = { dockerImage: true, untaggedTag: 'none' };
export const WORKLOADMETA_IMAGE_RULES: ImageTagRules = { dockerImage: false, untaggedTag: 'latest' };

/**
 * Adds `image_name`, `short_image`, `image_tag` and (Docker) `docker_image`, all low, and
 * `image_id` (low) when one is given: the ID is tagged even when the reference cannot be split.
 * Returns false (adding no name tags) for an image ID or an empty reference.
 */
export function addImageTags(list: TagList, ref: string | undefined | null, rules: ImageTagRules, imageId?: string): boolean {
  list.addLow(Runtime.imageId, imageId);
  const parsed = ref ? parseImageRef(ref) : undefined;
  if (!parsed) return false;
  const tag = parsed.tag ?? (rules.untaggedTag === 'latest' ? 'latest' : undefined);
  if (rules.dockerImage) list.addLow(Runtime.dockerImage, parsed.tag ? `${parsed.name}:${parsed.tag}` : parsed.name);
  list.addLow(Runtime.imageName, parsed.name);
  list.addLow(Runtime.shortImage, parsed.shortName);
  list.addLow(Runtime.imageTag, tag);
  return true;
}
